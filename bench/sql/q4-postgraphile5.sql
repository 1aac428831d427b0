-- Q4 as PostGraphile 5 sends it (captured with log_min_duration_statement = 0); the colons of
-- to_char's format are written \x3a, the same string, since pgbench reads `:MI` as a variable.
select
	__sequence_steps__."id"::text as "0",
	__sequence_steps__."order"::text as "1",
	__sequence_steps__."step_type" as "2",
	to_char(__sequence_steps__."updated_at", E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.USTZH\x3aTZM'::text) as "3"
	from "public"."sequence_steps" as __sequence_steps__
	where
	(__sequence_steps__."sequence_id" = :seq::"int8") and (__sequence_steps__."step_type" = :step_type::"varchar")
	order by __sequence_steps__."updated_at" desc, __sequence_steps__."id" desc
	limit 20;
