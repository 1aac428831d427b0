#!/usr/bin/env bash
# Side-by-side benchmark: stepgraph (release) on PostgreSQL and on SQLite, and PostGraphile 4
# (one process, then two cluster workers) and PostGraphile 5 over the same PostgreSQL data,
# driven by wrk at
# fixed concurrency (and, with --rate, by oha at a fixed arrival rate).
#
#   bench/compare.sh [--steps N] [--duration S] [--connections C] [--out FILE] [--quick]
#                    [--queries q1,q6] [--rate R] [--threads LIST]
#
#   --steps N        steps to seed (10 per sequence, 3 mailings, 1 task, 1 call each); 100000
#   --duration S     seconds of load per query and server, after a 2 s warm-up; 8
#   --connections C  wrk connections (2 threads); 16
#   --out FILE       where the Markdown table goes; docs/PERFORMANCE.md (a section is replaced)
#   --quick          tiny data, 1 s per query, no peers: the CI smoke run. Fails when a query
#                    errors or answers non-200, or when a statement count exceeds bench/budget.
#   --queries LIST   only these queries (default: all)
#   --rate R         also drive each query at a fixed arrival rate of R req/s with oha
#                    (`cargo install oha`), whose latencies are corrected for coordinated
#                    omission: a server that falls behind shows it in p99, not in a lower rate.
#                    The run is rejected unless every request answers 200.
#   --threads LIST   stepgraph's worker threads, one pass per entry (`default`: as many as
#                    the cores, the server's default; a number: `--worker-threads N`); default
#                    `default,1`. PostGraphile 5 and 4 run JavaScript on one thread per process,
#                    so the one-thread rows are the like-for-like ones; the default rows show
#                    what the hand-offs between two threads cost on a machine whose two cores
#                    also run wrk and PostgreSQL (docs/PERFORMANCE.md).
#
# Every query is first sent once and checked: HTTP 200, no `errors`, and (for stepgraph) its
# SQL statement count from the `x-sql-statements` header. A wrk run with any non-2xx response
# is rejected. Databases are reused between runs when already seeded at that size.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

steps=100000 duration=8 conns=16 out=docs/PERFORMANCE.md quick=0 only= rate=0 threads=default,1
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) quick=1; steps=200; duration=1; conns=4; shift ;;
    --queries) only=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
sequences=$((steps / 10))
pg_admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
pg_db=sgbench_$steps
# No TLS to a database on the same machine, for every server alike (sqlx would otherwise
# negotiate TLS with a server that offers it, which node-postgres does not by default).
pg_url="$pg_admin/$pg_db?sslmode=disable"
work=$(mktemp -d)
sqlite_url=sqlite://${BENCH_SQLITE_DIR:-/tmp}/sgbench_$steps.db
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
# STEPGRAPH_BIN: a binary built already (for example a copy kept to compare two builds).
if [ -n "${STEPGRAPH_BIN:-}" ]; then
  bin=$STEPGRAPH_BIN
elif [ "$quick" = 1 ]; then
  bin=target/debug/stepgraph
else
  cargo build --release --bin stepgraph
  bin=target/release/stepgraph
fi
sg() { "$bin" --log warn "$@"; }

. bench/ticks.sh
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_up() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

# --- data -----------------------------------------------------------------------------------
count_steps() { # url
  case $1 in
    sqlite://*) python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from sequence_steps").fetchone()[0])' "${1#sqlite://}" 2>/dev/null || echo 0 ;;
    *) psql "$1" -tAc "select count(*) from sequence_steps" 2>/dev/null || echo 0 ;;
  esac
}
seed() { # url: reseeds unless it already holds exactly this size
  if [ "$(count_steps "$1")" = "$steps" ]; then return; fi
  echo "seeding $steps steps into $1"
  sg --database-url "$1" migrate fresh >/dev/null
  sg --database-url "$1" seed --sequences "$sequences" --steps-per-sequence 10 \
    --mailings-per-step 3 --tasks-per-step 1 --calls-per-step 1 >/dev/null
}
if ! psql "$pg_admin/postgres" -tAc "select 1 from pg_database where datname = '$pg_db'" | grep -q 1; then
  psql "$pg_admin/postgres" -qc "create database $pg_db" >/dev/null
fi
seed "$pg_url"
seed "$sqlite_url"

# Tokens: the sized seed's first user is an admin; its second a member.
admin_email=$(psql "$pg_url" -tAc "select email from users where role = 'admin' order by id limit 1")
member_email=$(psql "$pg_url" -tAc "select email from users where role = 'member' order by id limit 1")
token_for() { sg --database-url "$1" token create --user "$2" --name bench 2>/dev/null | tail -n1; }

step_id=$(psql "$pg_url" -tAc "select id from sequence_steps order by id limit 1 offset $((steps / 2))")
seq_id=$(psql "$pg_url" -tAc "select sequence_id from sequence_steps where id = $step_id")

# --- queries --------------------------------------------------------------------------------
# Each: name, stepgraph document, PostGraphile 4 document (empty: it cannot express it).
q1_sg="{ sequenceStep(id: \"$step_id\") { id stepType order interval taskNote sequence { name } creator { name } callPurpose { name } taskPriority { name } } }"
q1_pgl="{ sequenceStepById(id: \"$step_id\") { id stepType order interval taskNote sequenceBySequenceId { name } userByCreatorId { firstName } callPurposeByCallPurposeId { name } taskPriorityByTaskPriorityId { name } } }"
q2_sg="{ sequenceSteps(first: 50) { nodes { id sequence { name } creator { name } updater { name } tasks(first: 5) { nodes { id state } } } } }"
q2_pgl="{ allSequenceSteps(first: 50) { nodes { id sequenceBySequenceId { name } userByCreatorId { firstName } userByUpdaterId { firstName } tasksBySequenceStepId(first: 5) { nodes { id state } } } } }"
q3_sg="{ sequenceSteps(first: 50) { nodes { id displayName stepType order sequence { name } creator { name } callPurpose { name } taskPriority { name } sequenceTemplates(first: 5) { nodes { template { name } } } canWrite canDelete } } }"
q3_pgl=""
step_type=$(psql "$pg_url" -tAc "select step_type from sequence_steps where id = $step_id")
step_type_enum=$(echo "$step_type" | tr '[:lower:]' '[:upper:]')
q4_sg="{ sequenceSteps(filter: { sequence: { id: [\"$seq_id\"] }, stepType: [$step_type_enum] }, orderBy: [{ field: UPDATED_AT, direction: DESC }], first: 20) { nodes { id order stepType updatedAt } } }"
q4_pgl="{ allSequenceSteps(condition: { sequenceId: \"$seq_id\", stepType: \"$step_type\" }, orderBy: UPDATED_AT_DESC, first: 20) { nodes { id order stepType updatedAt } } }"
# Q6, an update mix: 9 reads of a random step for each update of one (its taskNote), over
# 1,000 steps of unlocked sequences, each request different (bench/mix.lua). The document
# here is the update, for the check and the statement count.
mix_ids=$(psql "$pg_url" -tAc "select string_agg(id::text, ',') from (select s.id from sequence_steps s join sequences q on q.id = s.sequence_id where not q.locked order by s.id limit 1000) t")
q6_sg="mutation { updateSequenceStep(id: \"${mix_ids%%,*}\", input: { taskNote: \"bench\" }) { id updatedAt } }"
q6_pgl=""
# Q5, a page deep in the list through cursors: the 50 steps after the one at 90% of the id
# order. Each server's cursor for that step comes from its own answer to a by-id query
# (`*_cur`; cursors carry only the sort keys, so a filtered list gives the same cursor), and
# replaces __CURSOR__ in the page document once the server is up.
deep_id=$(psql "$pg_url" -tAc "select id from sequence_steps order by id limit 1 offset $((steps * 9 / 10))")
q5_sg='{ sequenceSteps(first: 50, after: "__CURSOR__") { nodes { id order stepType } pageInfo { hasNextPage endCursor } } }'
q5_sg_cur="{ sequenceSteps(filter: { id: [\"$deep_id\"] }, first: 1) { edges { cursor } } }"
q5_pgl='{ allSequenceSteps(first: 50, after: "__CURSOR__") { nodes { id order stepType } pageInfo { hasNextPage endCursor } } }'
q5_pgl_cur="{ allSequenceSteps(condition: { id: \"$deep_id\" }, first: 1) { edges { cursor } } }"
# PostGraphile 5 (the amber preset) names primary keys rowId.
q1_pg5="{ sequenceStepByRowId(rowId: \"$step_id\") { rowId stepType order interval taskNote sequenceBySequenceId { name } userByCreatorId { firstName } callPurposeByCallPurposeId { name } taskPriorityByTaskPriorityId { name } } }"
q2_pg5="{ allSequenceSteps(first: 50) { nodes { rowId sequenceBySequenceId { name } userByCreatorId { firstName } userByUpdaterId { firstName } tasksBySequenceStepId(first: 5) { nodes { rowId state } } } } }"
q3_pg5=""
q4_pg5="{ allSequenceSteps(condition: { sequenceId: \"$seq_id\", stepType: \"$step_type\" }, orderBy: UPDATED_AT_DESC, first: 20) { nodes { rowId order stepType updatedAt } } }"
q5_pg5='{ allSequenceSteps(first: 50, after: "__CURSOR__") { nodes { rowId order stepType } pageInfo { hasNextPage endCursor } } }'
q5_pg5_cur="{ allSequenceSteps(condition: { rowId: \"$deep_id\" }, first: 1) { edges { cursor } } }"
q6_pg5=""
queries=(q1 q2 q3 q4 q5 q6)
if [ -n "$only" ]; then IFS=, read -r -a queries <<< "$only"; fi
describe() {
  case $1 in
    q1) echo "Q1 one step by id, with sequence, creator, callPurpose, taskPriority" ;;
    q2) echo "Q2 50 steps with sequence, creator, updater, tasks(first: 5)" ;;
    q3) echo "Q3 a member's step list: 50 steps, 4 to-one, sequenceTemplates { template }, canWrite/canDelete" ;;
    q4) echo "Q4 steps of one sequence and one step type, newest update first" ;;
    q5) echo "Q5 the 50 steps after a cursor at 90% of the list (keyset, however deep)" ;;
    q6) echo "Q6 a mix of 90% reads of one step (with its sequence) and 10% updates of one, random steps" ;;
  esac
}

# --- load -----------------------------------------------------------------------------------
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "r")
wrk.body = f:read("*a")
f:close()
local auth = os.getenv("AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
LUA

body_file() { # name document
  python3 -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$2" > "$work/$1.json"
  echo "$work/$1.json"
}

check() { # url auth body-file -> prints statements (or -)
  local res
  res=$(curl -s -D "$work/headers" -o "$work/answer" -w '%{http_code}' -X POST "$1/graphql" \
    -H 'Content-Type: application/json' ${2:+-H "Authorization: $2"} --data @"$3")
  if [ "$res" != 200 ] || grep -q '"errors"' "$work/answer"; then
    echo "query failed ($res): $(head -c 400 "$work/answer")" >&2
    return 1
  fi
  grep -i '^x-sql-statements:' "$work/headers" | tr -d '\r' | awk '{print $2}' || echo "-"
}

run_wrk() { # url auth body-file pid [script] -> "rps p50 p90 p99 gateway-ms postgres-ms"
  local script=${5:-$work/post.lua} g0 g1 p0 p1
  BODY_FILE=$3 AUTH=$2 MIX_IDS=$mix_ids wrk -t2 -c"$conns" -d2s -s "$script" "$1/graphql" >/dev/null
  # CPU per request: the gateway's process tree and every PostgreSQL process, over the run.
  g0=$(tree_ticks "$4") p0=$(pg_ticks)
  BODY_FILE=$3 AUTH=$2 MIX_IDS=$mix_ids wrk -t2 -c"$conns" -d"${duration}s" --latency -s "$script" "$1/graphql" > "$work/wrk.txt"
  g1=$(tree_ticks "$4") p1=$(pg_ticks)
  echo "$((g1 - g0)) $((p1 - p0)) $hz" > "$work/ticks.txt"
  if grep -Eq "^graphql errors: [1-9]" "$work/wrk.txt"; then
    echo "rejected: GraphQL errors under load" >&2; cat "$work/wrk.txt" >&2; return 1
  fi
  if grep -q "Non-2xx" "$work/wrk.txt"; then
    echo "rejected: non-2xx responses under load" >&2; cat "$work/wrk.txt" >&2; return 1
  fi
  if grep -Eq "Socket errors:.*timeout [1-9]" "$work/wrk.txt" || grep -Eq "^\s*0 requests in" "$work/wrk.txt"; then
    echo "rejected: requests timed out under load (wrk gives up after 2 s)" >&2; cat "$work/wrk.txt" >&2; return 1
  fi
  python3 - "$work/wrk.txt" "$work/ticks.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
gw, pg, hz = map(int, open(sys.argv[2]).read().split())
def ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
n = int(re.search(r"(\d+) requests in", t).group(1))
p = {k: ms(v) for k, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", t, re.M)}
print(f"{rps:.0f} {p['50']:.1f} {p['90']:.1f} {p['99']:.1f} {1000 * gw / hz / n:.3f} {1000 * pg / hz / n:.3f}")
PY
}

run_oha() { # url auth body-file -> "rps p50 p90 p99" at the fixed rate, latency-corrected
  oha -z "${duration}s" -q "$rate" --latency-correction -c "$conns" -m POST \
    -H 'Content-Type: application/json' ${2:+-H "Authorization: $2"} -D "$3" \
    --no-tui --output-format json "$1/graphql" > "$work/oha.json"
  python3 - "$work/oha.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution") or {}
bad = {k: v for k, v in codes.items() if k != "200"}
errors = {k: v for k, v in (d.get("errorDistribution") or {}).items() if k != "aborted due to deadline"}
if bad or errors or not codes:
    sys.stderr.write(f"rejected at the fixed rate: statuses {codes}, errors {errors}\n")
    sys.exit(1)
p = d["latencyPercentiles"]
print(f"{d['summary']['requestsPerSec']:.0f} {p['p50'] * 1000:.1f} {p['p90'] * 1000:.1f} {p['p99'] * 1000:.1f}")
PY
}

rss_mb() { # the process and its children (PostGraphile's cluster workers)
  ps -o rss= -p "$1" --ppid "$1" | awk '{ kb += $1 } END { print int(kb / 1024) }'
}

start_stepgraph() { # url threads -> sets sg_pid sg_base
  local port; port=$(free_port)
  local threads_arg=(); [ "$2" = default ] || threads_arg=(--worker-threads "$2")
  # One token drives the whole load: no per-token rate limit in a benchmark.
  STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "$1" --log warn "${threads_arg[@]}" serve --listen "127.0.0.1:$port" > "$work/sg-$port.log" 2>&1 &
  sg_pid=$!; pids+=("$sg_pid"); sg_base=http://127.0.0.1:$port
  wait_up "$sg_base/readyz"
}

results="$work/results.tsv"
: > "$results"
deep_cursor() { # base auth cursor-document -> the one cursor in its answer
  local file; file=$(body_file cursor "$3")
  curl -s -X POST "$1/graphql" -H 'Content-Type: application/json' ${2:+-H "Authorization: $2"} \
    --data @"$file" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(next(iter(d.values()))["edges"][0]["cursor"])'
}
measure() { # server-label base auth pid query doc [cursor-doc]
  local label=$1 base=$2 auth=$3 pid=$4 q=$5 doc=$6 cur_doc=${7:-} file stmts numbers cursor
  [ -n "$doc" ] || return 0
  if [ -n "$cur_doc" ]; then
    cursor=$(deep_cursor "$base" "$auth" "$cur_doc") || { echo "FAIL $label $q: no cursor" >&2; return 1; }
    doc=${doc/__CURSOR__/$cursor}
  fi
  file=$(body_file "$label-$q" "$doc")
  stmts=$(check "$base" "$auth" "$file") || { echo "FAIL $label $q" >&2; return 1; }
  if [ "$quick" = 1 ] && [ -f bench/budget ] && [ "$stmts" != "-" ]; then
    local budget; budget=$(awk -v q="$q" '!/^#/ && $1 == q {print $2}' bench/budget)
    if [ -n "$budget" ] && [ "$stmts" -gt "$budget" ]; then
      echo "FAIL $label $q: $stmts SQL statements, budget $budget (bench/budget)" >&2; return 1
    fi
  fi
  local script=""; [ "$q" = q6 ] && script=bench/mix.lua
  numbers=$(run_wrk "$base" "$auth" "$file" "$pid" $script) || { echo "FAIL $label $q" >&2; return 1; }
  printf '%s\t%s\t%s\t%s\t%s\n' "$q" "$label" "$numbers" "${stmts:--}" "$(rss_mb "$pid")" >> "$results"
  echo "$q $label: $numbers (rps, p50 p90 p99 ms, CPU ms per request: gateway, PostgreSQL), statements ${stmts:--}, rss $(rss_mb "$pid") MB"
  if [ "$rate" != 0 ] && [ "$q" != q6 ]; then
    command -v oha >/dev/null || { echo "--rate needs oha (cargo install oha)" >&2; return 1; }
    numbers=$(run_oha "$base" "$auth" "$file") || { echo "FAIL $label $q at $rate req/s" >&2; return 1; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$q@$rate/s" "$label" "$numbers" "${stmts:--}" "$(rss_mb "$pid")" >> "$results"
    echo "$q $label at $rate req/s: $numbers (rps p50 p90 p99 ms, latency-corrected)"
  fi
}

# stepgraph on PostgreSQL, then on SQLite, with each number of worker threads.
[ "$quick" = 1 ] && threads=default
for backend in postgres sqlite; do
  url=$pg_url; [ "$backend" = sqlite ] && url=$sqlite_url
  for t in ${threads//,/ }; do
    label=stepgraph-$backend; [ "$t" = default ] || label=$label-${t}thread
    start_stepgraph "$url" "$t"
    admin="Bearer $(token_for "$url" "$admin_email")"
    member="Bearer $(token_for "$url" "$member_email")"
    for q in "${queries[@]}"; do
      doc_var=${q}_sg; cur_var=${q}_sg_cur; auth=$admin; [ "$q" = q3 ] && auth=$member
      measure "$label" "$sg_base" "$auth" "$sg_pid" "$q" "${!doc_var}" "${!cur_var:-}"
    done
    kill "$sg_pid"; wait "$sg_pid" 2>/dev/null || true
  done
done

# PostGraphile 4, one process, over the same PostgreSQL database.
if [ "$quick" = 0 ]; then
  peers=bench/peers
  if [ ! -x "$peers/node_modules/.bin/postgraphile" ]; then
    (cd "$peers" && npm ci --no-audit --no-fund --silent)
  fi
  port=$(free_port)
  "$peers/node_modules/.bin/postgraphile" -c "$pg_url" --schema public --host 127.0.0.1 --port "$port" \
    --max-pool-size 16 --disable-query-log > "$work/pgl.log" 2>&1 &
  pgl_pid=$!; pids+=("$pgl_pid")
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/graphql" && break; sleep 0.2; done
  for q in "${queries[@]}"; do
    doc_var=${q}_pgl; cur_var=${q}_pgl_cur
    measure "postgraphile4" "http://127.0.0.1:$port" "" "$pgl_pid" "$q" "${!doc_var}" "${!cur_var:-}"
  done
  kill "$pgl_pid"; wait "$pgl_pid" 2>/dev/null || true
  # The same with two worker processes (one per core), as PostGraphile suggests for production.
  port=$(free_port)
  "$peers/node_modules/.bin/postgraphile" -c "$pg_url" --schema public --host 127.0.0.1 --port "$port" \
    --max-pool-size 8 --cluster-workers 2 --disable-query-log > "$work/pgl2.log" 2>&1 &
  pgl_pid=$!; pids+=("$pgl_pid")
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/graphql" && break; sleep 0.2; done
  for q in "${queries[@]}"; do
    doc_var=${q}_pgl; cur_var=${q}_pgl_cur
    measure "postgraphile4-2workers" "http://127.0.0.1:$port" "" "$pgl_pid" "$q" "${!doc_var}" "${!cur_var:-}"
  done
  kill "$pgl_pid"; wait "$pgl_pid" 2>/dev/null || true
  # PostGraphile 5, one process, on the Node 22 it needs (npm's node@22, in bench/peers5).
  peers5=bench/peers5
  if [ ! -x "$peers5/node_modules/.bin/node" ]; then
    (cd "$peers5" && npm ci --no-audit --no-fund --silent)
  fi
  port=$(free_port)
  GRAPHILE_ENV=production "$peers5/node_modules/.bin/node" "$peers5/node_modules/.bin/postgraphile" \
    -P postgraphile/presets/amber -c "$pg_url" -s public -n 127.0.0.1 -p "$port" > "$work/pg5.log" 2>&1 &
  pgl_pid=$!; pids+=("$pgl_pid")
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/graphql" && break; sleep 0.2; done
  for q in "${queries[@]}"; do
    doc_var=${q}_pg5; cur_var=${q}_pg5_cur
    measure "postgraphile5" "http://127.0.0.1:$port" "" "$pgl_pid" "$q" "${!doc_var}" "${!cur_var:-}"
  done
fi

# --- report ---------------------------------------------------------------------------------
table=$(python3 - "$results" <<'PY'
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(dict)
for q, label, nums, stmts, rss in rows:
    n = nums.split()
    gw, pg = (float(n[4]), float(n[5])) if len(n) >= 6 else (None, None)
    by[q][label] = dict(rps=float(n[0]), p50=n[1], p99=n[3], gw=gw, pg=pg, stmts=stmts, rss=rss)
# The measure that decides is CPU per request (docs/PERFORMANCE.md): each stepgraph row is
# compared with the best peer of the same query on each column (the lowest CPU, the highest
# req/s), so "0.50" is half the best peer's CPU.
out = ["| query | server | req/s | p50 ms | p99 ms | gateway CPU ms/req | PostgreSQL CPU ms/req | gateway / best peer | PostgreSQL / best peer | req/s / best peer | SQL statements | RSS MB |",
       "|---|---|---|---|---|---|---|---|---|---|---|---|"]
def fmt(v):
    return "" if v is None else f"{v:.3f}"
for q in sorted(by):
    peers = [r for label, r in by[q].items() if not label.startswith("stepgraph")]
    def best(key, pick):
        vals = [r[key] for r in peers if r[key] is not None]
        return pick(vals) if vals else None
    best_gw, best_pg, best_rps = best("gw", min), best("pg", min), best("rps", max)
    for label, r in by[q].items():
        ours = label.startswith("stepgraph")
        def ratio(v, b):
            return f"{v / b:.2f}" if ours and v is not None and b else ""
        pg = r["pg"] if not label.startswith("stepgraph-sqlite") else None
        out.append(f"| {q} | {label} | {r['rps']:.0f} | {r['p50']} | {r['p99']} | {fmt(r['gw'])} | {fmt(pg)} | {ratio(r['gw'], best_gw)} | {ratio(pg, best_pg)} | {ratio(r['rps'], best_rps)} | {r['stmts']} | {r['rss']} |")
print("\n".join(out))
PY
)
echo
echo "$table"
if [ "$quick" = 0 ]; then
  mkdir -p "$(dirname "$out")"
  machine="$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL $(psql "$pg_admin/postgres" -tAc 'show server_version' | head -c 10 | sed 's/ .*//'); wrk -t2 -c$conns, ${duration} s after a 2 s warm-up, server and wrk sharing the machine; stepgraph's worker threads: $threads (\`-1thread\` rows: \`--worker-threads 1\`)"
  legend=$(for q in "${queries[@]}"; do echo "- $(describe "$q")"; done)
  python3 - "$out" "$steps" "$machine" "$table" "$legend" <<'PY'
import sys, os, re, datetime
path, steps, machine, table, legend = sys.argv[1:]
start, end = f"<!-- bench:{steps} -->", f"<!-- /bench:{steps} -->"
section = f"""{start}
### {int(steps):,} steps ({datetime.date.today()})

{machine}. Command: `bench/compare.sh --steps {steps}`.

{legend}

{table}
{end}"""
text = open(path).read() if os.path.exists(path) else "# Performance\n\nFigures from `bench/compare.sh`; each section is one run.\n"
if start in text:
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
  echo "written to $out"
fi
