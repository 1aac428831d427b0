#!/usr/bin/env bash
# Instructions the server executes per request, counted by valgrind's callgrind: the same
# figure run after run for one binary and one database, whatever else the machine is doing
# (req/s on a shared 2-core machine moves by a third within the hour). Compare two builds
# with it; compare servers with bench/compare.sh.
#
#   bench/instructions.sh [--steps N] [--backend postgres|sqlite] [--requests R] [--bin PATH]
#                         [--keep DIR] QUERY...
#
# QUERY as in bench/cpu.sh (q1 q2 q3 q4 flat toone tasks). The server runs under callgrind with
# instrumentation off; for each query it warms up with 10 requests (loader caches, prepared
# statements, the authentication cache), zeroes the counters, sends R requests one after
# another (default 30), and reads the total. Needs the data bench/compare.sh seeds.
# --keep DIR keeps each query's callgrind profile as DIR/QUERY.callgrind, for
# callgrind_annotate or bench/by_crate.py (instructions by the crate that owns the code).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=100000 backend=postgres requests=30 bin=target/release/stepgraph keep= queries=()
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -*) echo "unknown argument $1" >&2; exit 2 ;;
    *) queries+=("$1"); shift ;;
  esac
done
[ ${#queries[@]} -gt 0 ] || queries=(q1 q2 q3 q4 flat toone tasks)
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
[ -x "$bin" ] || { echo "build it first: cargo build --release --bin stepgraph" >&2; exit 2; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

. bench/probe.sh
probe_data
port=$(free_port)
STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/cg.out" "$bin" --database-url "$url" --log warn serve \
  --listen "127.0.0.1:$port" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
probe_tokens
# The requests go over one kept-alive connection, as wrk's do: a new connection costs the
# server about 40,000 instructions of its own (axum clones its router for each), which would
# otherwise be counted in every request. Every answer is checked for errors.
send() { # count body-file
  local urls=()
  for _ in $(seq 1 "$1"); do urls+=("http://127.0.0.1:$port/graphql"); done
  curl -sf -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    --data @"$2" "${urls[@]}" > "$work/answer" || { echo "request failed" >&2; exit 1; }
  if grep -q '"errors"' "$work/answer"; then echo "query failed: $(head -c 300 "$work/answer")" >&2; exit 1; fi
}
callgrind_control -i on "$pid" >/dev/null 2>&1
printf '%-6s %14s\n' query instructions/request
for q in "${queries[@]}"; do
  probe_body "$q" "$work/$q.json"
  token=$(probe_token "$q")
  send 10 "$work/$q.json"
  callgrind_control -z "$pid" >/dev/null 2>&1
  send "$requests" "$work/$q.json"
  rm -f "$work"/cg.out.*
  callgrind_control -d "$pid" >/dev/null 2>&1
  for _ in $(seq 1 50); do ls "$work"/cg.out.* >/dev/null 2>&1 && break; sleep 0.2; done
  sleep 0.5
  total=$(awk '/^summary:/ { print $2 }' "$work"/cg.out.* | tail -n1)
  if [ -n "$keep" ]; then mkdir -p "$keep"; cp "$(ls "$work"/cg.out.* | tail -n1)" "$keep/$q.callgrind"; fi
  printf '%-6s %14d\n' "$q" $((total / requests))
done
