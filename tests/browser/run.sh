#!/usr/bin/env bash
# The browser test: starts `stepgraph serve --demo` on a fresh SQLite file and a free port,
# runs graphiql.test.mjs against it, and stops the server. Needs /usr/bin/chromium and
# `npm ci` in this folder (.ci/run does both), and a built target/debug/stepgraph.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${STEPGRAPH_BIN:-$root/target/debug/stepgraph}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$bin" --database-url "sqlite://$work/browser.db" --log warn serve --demo --listen "127.0.0.1:$port" > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
cd "$here"
STEPGRAPH_URL="http://127.0.0.1:$port" SCREENSHOT="${SCREENSHOT:-$work/graphiql.png}" node graphiql.test.mjs
