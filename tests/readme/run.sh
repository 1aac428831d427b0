#!/usr/bin/env bash
# Runs README.md's examples as written, in order, against a fresh `stepgraph serve --demo`, and
# checks every answer: a README example that breaks fails CI.
#
#   tests/readme/run.sh [--bin PATH]      (default: target/debug/stepgraph, or $STEPGRAPH_BIN)
#
# What runs: every ```sh and ```graphql block above the line `<!-- end of the examples -->`,
# except a block right after a `<!-- not run: REASON -->` line (building the project, starting
# the server: this script starts it). `sh` blocks run one after another in one bash session
# (`set -euo pipefail`), so a variable an earlier block sets (a token, an id read from an
# answer) is there for the next; `curl` fails on any HTTP status of 400 or more and on a
# GraphQL answer with `errors`. `graphql` blocks are sent to /graphql with $TOKEN as set by
# an earlier block, or before that with the token GraphiQL's page holds, as GraphiQL would
# (subscriptions are left to tests/it/live.rs: they need a WebSocket).
#
# The server runs in a temporary directory on port 8080 (the README's address), with
# `stepgraph` on PATH, as the README's quick start leaves a new user. Needs curl, jq, python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${STEPGRAPH_BIN:-$root/target/debug/stepgraph}
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
case $bin in /*) ;; *) bin=$root/$bin ;; esac
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --bin stepgraph)" >&2; exit 2; }
for tool in curl jq python3; do
  command -v $tool >/dev/null || { echo "$tool is needed" >&2; exit 2; }
done

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/bin"
ln -s "$bin" "$work/bin/stepgraph"
export PATH="$work/bin:$PATH"
cd "$work"

if curl -s -o /dev/null http://127.0.0.1:8080/healthz; then
  echo "port 8080 is taken: the README's examples need it" >&2
  exit 1
fi
stepgraph --log warn serve --demo > server.out 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  curl -sf http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf http://127.0.0.1:8080/readyz >/dev/null || { cat server.out >&2; exit 1; }

python3 "$root/tests/readme/extract.py" "$root/README.md" > examples.sh
bash examples.sh
