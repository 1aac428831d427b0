#!/usr/bin/env bash
# What metrics and traces cost per request, in instructions (bench/instructions.sh, callgrind:
# deterministic for one build, whatever else the machine does), for Q1 and Q2 in four runs:
#
#   off          no --metrics-listen, no OTEL_* endpoint
#   metrics      --metrics-listen (every series recorded; nobody scrapes)
#   traces 100%  OTLP/HTTP to a local sink, OTEL_TRACES_SAMPLER=always_on
#   traces 1%    the same, OTEL_TRACES_SAMPLER=traceidratio, OTEL_TRACES_SAMPLER_ARG=0.01
#
#   bench/telemetry.sh [--bin PATH] [--backend postgres|sqlite] [--requests R] [QUERY...]
#
# The spans are exported every 100 ms (OTEL_BSP_SCHEDULE_DELAY) to a sink that answers 200 to
# every POST, so the export thread's encoding and sending are counted with the requests
# (callgrind counts every thread of the process). Needs the data bench/compare.sh seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/stepgraph backend=postgres requests=200 queries=()
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    -*) echo "unknown argument $1" >&2; exit 2 ;;
    *) queries+=("$1"); shift ;;
  esac
done
[ ${#queries[@]} -gt 0 ] || queries=(q1 q2)
work=$(mktemp -d)
sink=
trap '[ -n "$sink" ] && kill $sink 2>/dev/null; rm -rf "$work"' EXIT

# The OTLP sink: reads each export and answers an empty ExportTraceServiceResponse.
cat > "$work/sink.py" <<'EOF'
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
python3 "$work/sink.py" > "$work/sink.port" &
sink=$!
for _ in $(seq 1 50); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
otlp="http://127.0.0.1:$(cat "$work/sink.port")"

run() { # label, then env assignments
  local label=$1; shift
  echo "== $label"
  env "$@" bench/instructions.sh --bin "$bin" --backend "$backend" --requests "$requests" \
    "${queries[@]}" | tail -n +2 > "$work/run"
  cat "$work/run" >> "$work/results"
  sed 's/^/  /' "$work/run"
}
run off OTEL_SDK_DISABLED=true
run metrics STEPGRAPH_METRICS_LISTEN=127.0.0.1:0
run traces-100 OTEL_EXPORTER_OTLP_ENDPOINT="$otlp" OTEL_BSP_SCHEDULE_DELAY=100 \
  OTEL_TRACES_SAMPLER=always_on
run traces-1 OTEL_EXPORTER_OTLP_ENDPOINT="$otlp" OTEL_BSP_SCHEDULE_DELAY=100 \
  OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01

# The table: each run against `off`.
awk -v n=${#queries[@]} '
  { q[NR] = $1; v[NR] = $2 }
  END {
    split("off metrics traces-100 traces-1", label, " ")
    printf "%-6s %12s %12s %8s %12s %8s %12s %8s\n", "query", "off", "metrics", "", "traces 100%", "", "traces 1%", ""
    for (i = 1; i <= n; i++) {
      base = v[i]
      printf "%-6s %12d", q[i], base
      for (r = 1; r < 4; r++) { x = v[r * n + i]; printf " %12d %+7.1f%%", x, (x - base) * 100 / base }
      printf "\n"
    }
  }' "$work/results"
