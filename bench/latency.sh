#!/usr/bin/env bash
# Latency of the two-level list query (bench/two_levels.graphql) on a seeded database.
#
#   bench/latency.sh [DATABASE_URL]        (default: a fresh SQLite file)
#
# Seeds 10,000 sequences x 10 steps (100,000 steps, 3 mailings, 1 task and 1 call per step)
# into an empty database, starts a release build of the server, and runs the query 50 times
# with first: 50 as the admin (who sees every step), printing the median.
# For PostgreSQL, pass an empty database: postgres://postgres@127.0.0.1:5432/sgbench
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
url=${1:-sqlite://$work/bench.db}
cargo build --release --bin stepgraph --example bench_query
bin=target/release/stepgraph
echo "seeding $url"
"$bin" --database-url "$url" --log warn seed --sequences 10000 --steps-per-sequence 10 --mailings-per-step 3 --tasks-per-step 1 --calls-per-step 1
# The sized seed's first user (an admin) on an empty database.
admin=$("$bin" --database-url "$url" --log warn token create --user user0.run1@bench.example.com 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "$url" --log warn serve --listen "127.0.0.1:$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
target/release/examples/bench_query "http://127.0.0.1:$port" "$admin" 50 50
