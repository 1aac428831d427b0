#!/usr/bin/env bash
# The example app, built and served in one command:
#
#   examples/web/run.sh [STEPGRAPH_BINARY]
#
# Installs the app's npm packages (pinned by package-lock.json), generates its typed documents
# and their persisted-documents manifest, builds it, then starts
#   stepgraph serve --demo --only-trusted-documents --trusted-documents src/gql/persisted-documents.json
# on http://127.0.0.1:8080 over a fresh SQLite file (in a temporary folder), and the app on
# http://127.0.0.1:5173. Paste one of the tokens the server prints. Ctrl-C stops both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$(command -v stepgraph || echo "$root/target/debug/stepgraph")}
[ -x "$bin" ] || { echo "no stepgraph binary at $bin (cargo build --bin stepgraph, or pass its path)" >&2; exit 2; }
cd "$here"
npm ci --no-audit --no-fund --silent
npm run --silent build
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" --database-url "sqlite://$work/demo.db" serve --demo --listen 127.0.0.1:8080 \
  --only-trusted-documents --trusted-documents "$here/src/gql/persisted-documents.json" &
./node_modules/.bin/vite preview --host 127.0.0.1 --port 5173 --strictPort &
wait
