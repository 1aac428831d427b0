#!/usr/bin/env bash
# Real GraphQL clients against stepgraph. Relay's own compiler (npm relay-compiler) compiles
# the documents in relay/ against schema.graphql (a schema Relay cannot use fails here), then
# relay.test.mjs sends the operations it generated to `serve --demo`; apollo.test.mjs runs
# Apollo Client's persisted-queries link (hash first) against it. Needs `npm ci` in this
# folder (.ci/run does it) and a built binary (default target/debug/stepgraph).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/stepgraph}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
source "$root/tests/blackbox/demo_server.sh"
start_demo "$bin"
cd "$here"
rm -rf relay/__generated__ && mkdir -p relay/__generated__
npx --no-install relay-compiler
STEPGRAPH_URL="http://127.0.0.1:$port" TOKEN="$token" node relay.test.mjs
STEPGRAPH_URL="http://127.0.0.1:$port" TOKEN="$token" node apollo.test.mjs
