#!/usr/bin/env bash
# The GraphQL-over-HTTP audit (npm graphql-http) against `serve --demo` on a fresh SQLite
# file: fails on any MUST that does not pass (SHOULD warnings are printed).
#
#   tests/blackbox/audit.sh [BINARY]     (run `npm ci` in tests/blackbox first)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=$root/${1:-target/debug/stepgraph}
. tests/blackbox/demo_server.sh
start_demo "$bin"
node tests/blackbox/audit.mjs "http://127.0.0.1:$port/graphql" "$token"
