-- Q2 as PostGraphile 5 sends it (captured with log_min_duration_statement = 0): one statement,
-- each step's first 5 tasks as a correlated array of text arrays, cast to text.
select
	__sequence_steps__."id"::text as "0",
	array(select array[
	__tasks__."id"::text,
	__tasks__."state"
	]::text[]
	from "public"."tasks" as __tasks__
	where (__tasks__."sequence_step_id" = __sequence_steps__."id")
	order by __tasks__."id" asc
	limit 5)::text as "1",
	__sequences__."name" as "2",
	__users__."first_name" as "3",
	__users__."id"::text as "4",
	__users_2."first_name" as "5",
	__users_2."id"::text as "6"
	from "public"."sequence_steps" as __sequence_steps__
	left outer join "public"."sequences" as __sequences__
	on (
	/* WHERE becoming ON */ (__sequences__."id" = __sequence_steps__."sequence_id"))
	left outer join "public"."users" as __users__
	on (
	/* WHERE becoming ON */ (__users__."id" = __sequence_steps__."creator_id"))
	left outer join "public"."users" as __users_2
	on (
	/* WHERE becoming ON */ (__users_2."id" = __sequence_steps__."updater_id"))
	order by __sequence_steps__."id" asc
	limit 50;
