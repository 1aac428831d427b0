#!/usr/bin/env bash
# The GraphQL-over-HTTP audit (npm graphql-http) against `serve --demo` on a fresh SQLite
# file: fails on any MUST that does not pass (SHOULD warnings are printed).
#
#   tests/blackbox/audit.sh [BINARY]     (run `npm ci` in tests/blackbox first)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=$root/${1:-target/debug/stepgraph}
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
(cd "$work" && STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "sqlite://$work/audit.db" --log error serve --demo --listen "127.0.0.1:$port" > "$work/server.out" 2>&1) &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
token=$(awk '/mia.member/ {print $NF}' "$work/server.out")
node tests/blackbox/audit.mjs "http://127.0.0.1:$port/graphql" "$token"
