#!/usr/bin/env bash
# The deployment test: a PostgreSQL primary and a streaming replica (made with pg_basebackup),
# three stepgraph instances reading from the replica with a shared rate limit, and HAProxy in
# front with health checks on /readyz (tests/deploy/haproxy.cfg). Under a steady mixed load
# (tests/it/deploy.rs: writes read back, lists, a subscription) it kills one instance and
# starts it again, drains another with SIGTERM, stops and restarts the replica and pauses its
# replay (so it lags while it answers); the load
# then checks for failed requests, lost writes, stale reads, subscription gaps and the rate
# limit's count across instances, and prints them (the line starting with DEPLOY).
#
#   tests/deploy/run.sh [BINARY]       (default target/debug/stepgraph)
#
# Needs Debian's haproxy and PostgreSQL's server binaries; runs throwaway clusters of its own
# (initdb as the postgres user, on free ports), so the machine's server is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/stepgraph}
secs=${DEPLOY_SECS:-24}
command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install haproxy)" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
work=$(mktemp -d)
chown postgres "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
primary_port=$(free_port); replica_port=$(free_port); lb_port=$(free_port)
ports=($(free_port) $(free_port) $(free_port))
pg() { su postgres -s /bin/sh -c "$*"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # Instances started by the timeline (a subshell) are known only by this file.
  if [ -f "$work/pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done < "$work/pids"
  fi
  [ -f "$work/haproxy.pid" ] && kill "$(cat "$work/haproxy.pid")" 2>/dev/null || true
  for d in replica primary; do pg "$pgbin/pg_ctl -D $work/$d -m immediate stop" >/dev/null 2>&1 || true; done
  if [ "${keep:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
start_pg() { # dir port
  pg "$pgbin/pg_ctl -D $work/$1 -o '-p $2 -c listen_addresses=127.0.0.1 -k $work' -l $work/$1.log -w start" >/dev/null
}

echo "primary on $primary_port, replica on $replica_port, instances on ${ports[*]}, HAProxy on $lb_port"
pg "$pgbin/initdb -D $work/primary -A trust -U postgres" >/dev/null
start_pg primary "$primary_port"
primary="postgres://postgres@127.0.0.1:$primary_port/postgres?sslmode=disable"
replica="postgres://postgres@127.0.0.1:$replica_port/postgres?sslmode=disable"
"$bin" --database-url "$primary" --log warn migrate up >/dev/null
"$bin" --database-url "$primary" --log warn seed --sequences 20 --steps-per-sequence 10 >/dev/null
pg "$pgbin/pg_basebackup -h 127.0.0.1 -p $primary_port -U postgres -D $work/replica -R -X stream" >/dev/null
start_pg replica "$replica_port"
psql -h 127.0.0.1 -p "$replica_port" -U postgres -tAc "select pg_is_in_recovery()" | grep -qx t

psql_p() { psql -h 127.0.0.1 -p "$primary_port" -U postgres -tAc "$1"; }
admins=$(psql_p "select email from users where role = 'admin' order by id limit 1")
writers=4
steps=$(psql_p "select string_agg(id::text, ',') from (select s.id from sequence_steps s join sequences q on q.id = s.sequence_id where not q.locked order by s.id limit $writers) t")
tokens=()
for _ in $(seq 1 $((writers + 3))); do
  tokens+=("$("$bin" --database-url "$primary" --log warn token create --user "$admins" --name deploy 2>/dev/null | tail -n1)")
done
limit_token=$("$bin" --database-url "$primary" --log warn token create --user "$admins" --name limit 2>/dev/null | tail -n1)
limit=3000

instance() { # i
  STEPGRAPH_RATE_LIMIT_PER_MINUTE=$limit STEPGRAPH_SHARED_RATE_LIMIT=1 STEPGRAPH_DRAIN_SECS=2 \
    STEPGRAPH_READ_DATABASE_URLS="$replica" STEPGRAPH_MAX_REPLICA_LAG=5 \
    "$bin" --database-url "$primary" --log warn serve --listen "127.0.0.1:${ports[$1]}" \
    >> "$work/instance$1.log" 2>&1 &
  pids[$1]=$!
  echo "$!" >> "$work/pids"
}
for i in 0 1 2; do instance $i; done
for i in 0 1 2; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:${ports[$i]}/readyz" >/dev/null && break; sleep 0.1; done
done

sed -e "s/@LB_PORT@/$lb_port/" -e "s/@PORT0@/${ports[0]}/" -e "s/@PORT1@/${ports[1]}/" \
  -e "s/@PORT2@/${ports[2]}/" tests/deploy/haproxy.cfg > "$work/haproxy.cfg"
haproxy -c -q -f "$work/haproxy.cfg"
haproxy -D -p "$work/haproxy.pid" -f "$work/haproxy.cfg"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$lb_port/healthz" >/dev/null && break; sleep 0.1; done

# The disturbances, on a timeline from the load's start.
(
  sleep 4;  echo "t=4: instance 0 killed (SIGKILL)"; kill -9 "${pids[0]}"
  sleep 3;  echo "t=7: instance 0 started again"; instance 0
  sleep 3;  echo "t=10: instance 1 drained (SIGTERM, 2 s grace)"; kill -TERM "${pids[1]}"
  sleep 4;  echo "t=14: replica stopped"; pg "$pgbin/pg_ctl -D $work/replica -m fast stop" >/dev/null
  sleep 3;  echo "t=17: replica started again"; start_pg replica "$replica_port"
  # Replay paused: the replica falls behind while it still answers, so reads of one's own
  # writes must wait for it or go to the primary.
  sleep 2;  echo "t=19: replica's replay paused"
  psql -h 127.0.0.1 -p "$replica_port" -U postgres -tAc "select pg_wal_replay_pause()" >/dev/null
  sleep 3;  echo "t=22: replica's replay resumed"
  psql -h 127.0.0.1 -p "$replica_port" -U postgres -tAc "select pg_wal_replay_resume()" >/dev/null
) &
timeline=$!

live="http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[2]}"
status=0
DEPLOY_URL="http://127.0.0.1:$lb_port" DEPLOY_INSTANCES="$live" \
  DEPLOY_TOKENS="$(IFS=,; echo "${tokens[*]}")" DEPLOY_STEP_IDS="$steps" \
  DEPLOY_LIMIT_TOKEN="$limit_token" DEPLOY_RATE_LIMIT=$limit DEPLOY_SECS=$secs \
  cargo test -q --test it -- --ignored --exact deploy::under_load --nocapture 2>&1 | tee "$work/load.log" || status=$?
wait "$timeline" || true
if [ "$status" != 0 ]; then
  echo "--- the deployment test failed; the instances' logs:" >&2
  tail -n 20 "$work"/instance*.log >&2 || true
  exit "$status"
fi
grep -q '^DEPLOY ' "$work/load.log"
echo "deployment test passed"
