#!/usr/bin/env bash
# The example app's browser test: builds examples/web against a server on a free port, starts
# `stepgraph serve --demo --only-trusted-documents --trusted-documents <the app's manifest>`
# on a fresh SQLite file, serves the built app with `vite preview`, and runs app.test.mjs in
# headless Chromium. Needs /usr/bin/chromium, `npm ci` in tests/browser and examples/web
# (.ci/run does both), and a built binary (default target/debug/stepgraph).
#   tests/browser/app.sh [BINARY] [SCREENSHOT.png]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/stepgraph}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
shot=${2:-}
case $shot in /*|'') ;; *) shot=$PWD/$shot ;; esac
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port)
app_port=$(free_port)
api="http://127.0.0.1:$port"
app="http://127.0.0.1:$app_port"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$root/examples/web" && VITE_STEPGRAPH_URL=$api npm run --silent build >"$work/build.log" 2>&1) \
  || { cat "$work/build.log" >&2; exit 1; }
manifest=$root/examples/web/src/gql/persisted-documents.json
db="sqlite://$work/app.db"
STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "$db" --log warn serve --demo \
  --listen "127.0.0.1:$port" --cors-origins "$app" \
  --only-trusted-documents --trusted-documents "$manifest" >"$work/server.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "$api/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$api/readyz" >/dev/null || { cat "$work/server.out" >&2; exit 1; }
token=$(awk '/mia.member/ {print $NF}' "$work/server.out")
ingest=$("$bin" --database-url "$db" --log warn token create --user ada.admin@example.com --scopes ingest --name browser-test)
# `exec`, so the PID killed on exit is Vite's own (an npx wrapper would leave it running).
(cd "$root/examples/web" && exec ./node_modules/.bin/vite preview --host 127.0.0.1 --port "$app_port" --strictPort >"$work/preview.log" 2>&1) &
pids+=($!)
for _ in $(seq 1 300); do curl -sf "$app" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$app" >/dev/null || { cat "$work/preview.log" >&2; exit 1; }
cd "$here"
STEPGRAPH_URL=$api APP_URL=$app TOKEN=$token INGEST=$ingest SCREENSHOT=${shot:-$work/app.png} \
  node app.test.mjs || { echo "--- server log"; tail -n 30 "$work/server.out"; exit 1; }
