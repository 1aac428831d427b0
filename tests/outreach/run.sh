#!/usr/bin/env bash
# A real, unmodified Outreach client reads /api/v2 of `serve --demo`: Stitch's tap-outreach
# (Singer, from PyPI), full and incremental, plus Outreach's wire formats (see
# singer_tap.py). The admin's token is used, as an integration's would be.
#
#   tests/outreach/run.sh [BINARY]     (default target/debug/stepgraph)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=$root/${1:-target/debug/stepgraph}
venv=${OUTREACH_VENV:-$root/target/outreach-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tap_outreach' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'tap-outreach==1.2.2'
fi
. tests/blackbox/demo_server.sh
DEMO_RATE_LIMIT=3000 start_demo "$bin"
admin=$(awk '/ada.admin/ {print $NF}' "$work/server.out")
"$venv/bin/python" tests/outreach/singer_tap.py "http://127.0.0.1:$port" "$admin"
