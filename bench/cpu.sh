#!/usr/bin/env bash
# CPU time per request, of stepgraph and of the PostgreSQL backends serving it, under load.
#
#   bench/cpu.sh [--steps N] [--backend postgres|sqlite] [--duration S] [--perf] QUERY...
#
# QUERY is q1, q2, q3, q4 (as in bench/compare.sh), flat (50 steps, 3 attributes), toone (50 steps
# with sequence, creator, updater), tasks (50 steps with tasks(first: 5)) or update (one step's
# taskNote, the same step every time). The server inherits the environment (STEPGRAPH_*), and
# BENCH_RATE_LIMIT sets its rate limit (0, off, by default). Needs the data
# bench/compare.sh seeds (run it once at the same --steps) and a release build
# (target/release/stepgraph, or the binary STEPGRAPH_BIN names).
#
# Why CPU per request: on a 2-core machine that also runs wrk and PostgreSQL, req/s moves
# with whatever else the machine does; the CPU milliseconds each process spends per request
# (from /proc/<pid>/stat, summed over the run) move much less, and they say which process
# bounds the throughput. The last column is the server's resident memory after each query's
# run. With --perf, `perf record --call-graph dwarf` samples the server
# for the run (into /tmp/stepgraph-perf.data).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=100000 backend=postgres duration=8 perf=0 queries=()
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --perf) perf=1; shift ;;
    -*) echo "unknown argument $1" >&2; exit 2 ;;
    *) queries+=("$1"); shift ;;
  esac
done
[ ${#queries[@]} -gt 0 ] || queries=(q1 q2 q3 q4 flat toone tasks)
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 2; }
bin=${STEPGRAPH_BIN:-target/release/stepgraph}
[ -x "$bin" ] || { echo "build it first: cargo build --release --bin stepgraph" >&2; exit 2; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

. bench/probe.sh
probe_data
port=$(free_port)
STEPGRAPH_RATE_LIMIT_PER_MINUTE=${BENCH_RATE_LIMIT:-0} "$bin" --database-url "$url" --log warn serve --listen "127.0.0.1:$port" \
  > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
probe_tokens

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "r"); wrk.body = f:read("*a"); f:close()
wrk.headers["Authorization"] = os.getenv("AUTH")
LUA
. bench/ticks.sh
printf '%-6s %8s %8s %10s %12s %14s %8s\n' query req/s "p99 ms" statements "server ms" "postgres ms" "rss MB"
for q in "${queries[@]}"; do
  probe_body "$q" "$work/$q.json"
  token=$(probe_token "$q")
  stmts=$(curl -s -D - -o "$work/answer" -X POST "http://127.0.0.1:$port/graphql" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $token" --data @"$work/$q.json" \
    | tr -d '\r' | awk 'tolower($1) == "x-sql-statements:" { print $2 }')
  if grep -q '"errors"' "$work/answer"; then echo "$q failed: $(head -c 300 "$work/answer")" >&2; exit 1; fi
  export BODY_FILE=$work/$q.json AUTH="Bearer $token"
  wrk -t2 -c16 -d2s -s "$work/post.lua" "http://127.0.0.1:$port/graphql" >/dev/null
  s0=$(ticks $pid) p0=$(pg_ticks)
  perf_pid=
  if [ "$perf" = 1 ]; then
    perf record -F 499 --call-graph dwarf -o /tmp/stepgraph-perf.data -p $pid -- sleep "$duration" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  wrk -t2 -c16 -d"${duration}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/graphql" > "$work/wrk.txt"
  s1=$(ticks $pid) p1=$(pg_ticks)
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  if grep -q 'Non-2xx' "$work/wrk.txt"; then echo "$q: non-2xx answers under load" >&2; exit 1; fi
  rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
  python3 - "$work/wrk.txt" "$q" "$stmts" $((s1 - s0)) $((p1 - p0)) "$hz" "$rss_kb" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
q, stmts, s, p, hz, rss = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
n = int(re.search(r"(\d+) requests in", t).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
v, unit = re.search(r"^\s+99%\s+([\d.]+)(\w+)", t, re.M).groups()
p99 = float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print(f"{q:<6} {rps:8.0f} {p99:8.1f} {stmts:>10} {1000 * s / hz / n:12.3f} {1000 * p / hz / n:14.3f} {rss / 1024:8.0f}")
PY
done
