-- Q4 as stepgraph sends it: the steps of one sequence and one step type, newest update first,
-- 20 (+1) of them. :seq and :step_type are the sequence and type of the step Q1 reads.
SELECT "sequence_steps"."id", "sequence_steps"."step_type", "sequence_steps"."order", "sequence_steps"."updated_at" FROM "sequence_steps" WHERE "sequence_steps"."step_type" IN (:step_type) AND "sequence_steps"."sequence_id" IN (:seq) ORDER BY "sequence_steps"."updated_at" DESC, "sequence_steps"."id" ASC LIMIT 21;
