#!/usr/bin/env bash
# The live path under load, on PostgreSQL and on SQLite: mailing-event ingest throughput, and
# delivery latency with many open subscriptions (examples/live_load.rs does the measuring).
#
#   bench/live.sh [--steps N] [--subscribers S] [--watchers W] [--events E] [--batch B]
#
#   --steps N        steps to seed (10 per sequence, 3 mailings each); 20000
#   --subscribers S  connections holding sequenceChanged(id) for one sequence each; 1000
#   --watchers W     connections holding sequenceStepChanged for every step; 10
#   --events E       events in the burst, each moving a counter; 10000
#   --batch B        events per POST /events/mailings; 100
#
# For each database it first sends E events with no subscriber (ingest throughput), then
# opens S + W subscriptions and sends E more (delivery latency, server RSS). Databases are
# seeded once per size and reused; every run uses fresh idempotency keys and picks mailings
# whose next event still moves a counter, so a database serves a few runs before it runs out.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=20000 subscribers=1000 watchers=10 events=10000 batch=100
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --subscribers) subscribers=$2; shift 2 ;;
    --watchers) watchers=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# A thousand sockets on each side.
ulimit -n 16384 2>/dev/null || ulimit -n 4096
pg_admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
pg_url="$pg_admin/sglive_$steps?sslmode=disable"
sqlite_url=sqlite://${BENCH_SQLITE_DIR:-/tmp}/sglive_$steps.db
cargo build --release --bin stepgraph --example live_load
bin=target/release/stepgraph
load=target/release/examples/live_load
sg() { "$bin" --log warn "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

if ! psql "$pg_admin/postgres" -tAc "select 1 from pg_database where datname = 'sglive_$steps'" | grep -q 1; then
  psql "$pg_admin/postgres" -qc "create database sglive_$steps" >/dev/null
  sg --database-url "$pg_url" migrate up >/dev/null
  sg --database-url "$pg_url" seed --sequences $((steps / 10)) --steps-per-sequence 10 --mailings-per-step 3 >/dev/null
fi
if [ ! -f "${sqlite_url#sqlite://}" ]; then
  sg --database-url "$sqlite_url" migrate up >/dev/null
  sg --database-url "$sqlite_url" seed --sequences $((steps / 10)) --steps-per-sequence 10 --mailings-per-step 3 >/dev/null
fi
sg --database-url "$pg_url" migrate up >/dev/null
sg --database-url "$sqlite_url" migrate up >/dev/null

for url in "$pg_url" "$sqlite_url"; do
  case $url in sqlite*) name=SQLite ;; *) name=PostgreSQL ;; esac
  admin=$(case $url in sqlite*) python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select email from users where role = '"'admin'"' order by id limit 1").fetchone()[0])' "${url#sqlite://}" ;; *) psql "$url" -tAc "select email from users where role = 'admin' order by id limit 1" ;; esac)
  api=$(sg --database-url "$url" token create --user "$admin" --name live-bench 2>/dev/null | tail -n1)
  ingest=$(sg --database-url "$url" token create --user "$admin" --name live-bench --scopes ingest 2>/dev/null | tail -n1)
  port=$(free_port)
  STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "$url" --log warn serve --listen "127.0.0.1:$port" &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== $name: ingest alone"
  "$load" --url "http://127.0.0.1:$port" --token "$api" --ingest-token "$ingest" --subscribers 0 --watchers 0 \
    --events "$events" --batch "$batch" --server-pid "$pid"
  echo "== $name: $subscribers + $watchers subscriptions, $events events"
  "$load" --url "http://127.0.0.1:$port" --token "$api" --ingest-token "$ingest" --subscribers "$subscribers" \
    --watchers "$watchers" --events "$events" --batch "$batch" --server-pid "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
