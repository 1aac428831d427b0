-- Q1 as PostGraphile 5 sends it (captured with log_min_duration_statement = 0).
select
	__sequence_steps__."id"::text as "0",
	__sequence_steps__."step_type" as "1",
	__sequence_steps__."order"::text as "2",
	__sequence_steps__."interval"::text as "3",
	__sequence_steps__."task_note" as "4",
	__sequences__."name" as "5",
	__users__."first_name" as "6",
	__users__."id"::text as "7",
	__call_purposes__."name" as "8",
	__task_priorities__."name" as "9"
	from "public"."sequence_steps" as __sequence_steps__
	left outer join "public"."sequences" as __sequences__
	on (
	/* WHERE becoming ON */ (__sequences__."id" = __sequence_steps__."sequence_id"))
	left outer join "public"."users" as __users__
	on (
	/* WHERE becoming ON */ (__users__."id" = __sequence_steps__."creator_id"))
	left outer join "public"."call_purposes" as __call_purposes__
	on (
	/* WHERE becoming ON */ (__call_purposes__."id" = __sequence_steps__."call_purpose_id"))
	left outer join "public"."task_priorities" as __task_priorities__
	on (
	/* WHERE becoming ON */ (__task_priorities__."id" = __sequence_steps__."task_priority_id"))
	where (__sequence_steps__."id" = :step::"int8");
