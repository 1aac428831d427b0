# Shared by bench/cpu.sh and bench/instructions.sh (sourced, not run): the seeded data they
# measure against, and their queries. Expects $steps, $backend, $bin and $work to be set.
#
#   probe_data          sets pg_url, url (of $backend), admin_email, member_email, step_id
#   probe_body Q FILE   writes query Q's request body (q1 q2 q3 q4 flat toone tasks update) to FILE
#   probe_tokens        sets admin_token and member_token (needs $bin and $url)
#   probe_token Q       the token query Q runs with (q3 as a member, as in compare.sh)

probe_data() {
  pg_url="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}/sgbench_$steps?sslmode=disable"
  url=$pg_url
  [ "$backend" = sqlite ] && url=sqlite://${BENCH_SQLITE_DIR:-/tmp}/sgbench_$steps.db
  admin_email=$(psql "$pg_url" -tAc "select email from users where role = 'admin' order by id limit 1") \
    || { echo "no seeded database at $pg_url: run bench/compare.sh --steps $steps first" >&2; exit 2; }
  member_email=$(psql "$pg_url" -tAc "select email from users where role = 'member' order by id limit 1")
  step_id=$(psql "$pg_url" -tAc "select id from sequence_steps order by id limit 1 offset $((steps / 2))")
  seq_id=$(psql "$pg_url" -tAc "select sequence_id from sequence_steps where id = $step_id")
  step_type=$(psql "$pg_url" -tAc "select upper(step_type) from sequence_steps where id = $step_id")
  write_id=$(psql "$pg_url" -tAc "select s.id from sequence_steps s join sequences q on q.id = s.sequence_id where not q.locked order by s.id limit 1 offset $((steps / 3))")
}

probe_body() { # query file
  local doc
  case $1 in
    q1) doc="{ sequenceStep(id: \"$step_id\") { id stepType order interval taskNote sequence { name } creator { name } callPurpose { name } taskPriority { name } } }" ;;
    q2) doc="{ sequenceSteps(first: 50) { nodes { id sequence { name } creator { name } updater { name } tasks(first: 5) { nodes { id state } } } } }" ;;
    q3) doc="{ sequenceSteps(first: 50) { nodes { id displayName stepType order sequence { name } creator { name } callPurpose { name } taskPriority { name } sequenceTemplates(first: 5) { nodes { template { name } } } canWrite canDelete } } }" ;;
    q4) doc="{ sequenceSteps(filter: { sequence: { id: [\"$seq_id\"] }, stepType: [$step_type] }, orderBy: [{ field: UPDATED_AT, direction: DESC }], first: 20) { nodes { id order stepType updatedAt } } }" ;;
    flat) doc="{ sequenceSteps(first: 50) { nodes { id stepType order } } }" ;;
    toone) doc="{ sequenceSteps(first: 50) { nodes { id sequence { name } creator { name } updater { name } } } }" ;;
    tasks) doc="{ sequenceSteps(first: 50) { nodes { id tasks(first: 5) { nodes { id state } } } } }" ;;
    update) doc="mutation { updateSequenceStep(id: \"$write_id\", input: { taskNote: \"bench\" }) { id updatedAt } }" ;;
    *) echo "unknown query $1" >&2; exit 2 ;;
  esac
  python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$doc" > "$2"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

probe_tokens() {
  admin_token=$("$bin" --database-url "$url" --log warn token create --user "$admin_email" --name probe 2>/dev/null | tail -n1)
  member_token=$("$bin" --database-url "$url" --log warn token create --user "$member_email" --name probe 2>/dev/null | tail -n1)
}

probe_token() { if [ "$1" = q3 ]; then echo "$member_token"; else echo "$admin_token"; fi; }
