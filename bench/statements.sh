#!/usr/bin/env bash
# PostgreSQL CPU per execution of SQL scripts, without any gateway: what a query's statements
# cost the database by themselves.
#
#   bench/statements.sh [--steps N] [--clients C] [--seconds S] [--rounds R] SCRIPT.sql...
#
# Each SCRIPT is a pgbench script (bench/sql/: Q1, Q2 and Q4 as stepgraph sends them and as
# PostGraphile 5 sends them, and two ways of folding stepgraph's two statements for Q2 into
# one). The scripts run in turn, R rounds (3), each under `pgbench -M prepared` with C
# clients (4) for S seconds (6), against the database bench/compare.sh seeds (run it once at
# the same --steps). In a script, `:ids` is the ids of steps 1 to 50, comma separated (sent as
# one parameter, as the server sends it), `:step` the step Q1 reads (bench/probe.sh), `:seq`
# and `:step_type` its sequence and type (what Q4 filters on). Printed per script: PostgreSQL
# CPU ms per execution of the whole script (every PostgreSQL process, from /proc,
# bench/ticks.sh) in each round, then the median. Every script's SQL must keep `:name` out of
# its string literals (pgbench would read it as a variable).
#
# Why: bench/cpu.sh and bench/compare.sh measure the database under a gateway, where how the
# gateway's threads wake the backends moves the database's CPU too (docs/PERFORMANCE.md,
# eleventh session); this takes the gateway away, so two ways of writing a query's SQL can be
# compared by what the SQL alone costs.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=100000 clients=4 seconds=6 rounds=3 scripts=()
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -*) echo "unknown argument $1" >&2; exit 2 ;;
    *) scripts+=("$1"); shift ;;
  esac
done
[ ${#scripts[@]} -gt 0 ] || scripts=(bench/sql/*.sql)
command -v pgbench >/dev/null || { echo "pgbench is needed (PostgreSQL's client tools)" >&2; exit 2; }
backend=postgres
. bench/probe.sh
probe_data
ids=$(seq -s, 1 50)
. bench/ticks.sh

declare -A runs
for round in $(seq 1 "$rounds"); do
  for script in "${scripts[@]}"; do
    p0=$(pg_ticks)
    out=$(pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -D ids="$ids" -D step="$step_id" -D seq="$seq_id" -D step_type="${step_type,,}" -f "$script" "$pg_url" 2>&1) \
      || { echo "$script failed: $out" >&2; exit 1; }
    # The backends exit with pgbench; the postmaster has their times once it has reaped them.
    sleep 1
    p1=$(pg_ticks)
    n=$(awk '/number of transactions actually processed/ { split($NF, a, "/"); print a[1] }' <<<"$out")
    [ "${n:-0}" -gt 0 ] || { echo "$script: no transaction ran: $out" >&2; exit 1; }
    runs[$script]+=" $(awk -v t=$((p1 - p0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.3f", 1000 * t / hz / n }')"
  done
done
printf '%-40s %s\n' script "PostgreSQL ms per execution (each round; median)"
for script in "${scripts[@]}"; do
  # shellcheck disable=SC2086
  median=$(printf '%s\n' ${runs[$script]} | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '%-40s%s; %s\n' "$script" "${runs[$script]}" "$median"
done
