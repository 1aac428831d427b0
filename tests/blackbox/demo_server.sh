# Sourced by fuzz.sh and audit.sh: `start_demo BINARY` starts `serve --demo` on a fresh SQLite
# file in a temporary folder, without a rate limit (a tool drives it with one token; set
# DEMO_RATE_LIMIT to have one), waits
# until it is ready, and sets `port`, `token` (the member's) and `work`; the server and the
# folder go away when the script exits.
start_demo() {
  work=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  # `exec`: the PID killed on exit is the server itself, not a subshell that would leave it running.
  (cd "$work" && STEPGRAPH_RATE_LIMIT_PER_MINUTE=${DEMO_RATE_LIMIT:-0} exec "$1" --database-url "sqlite://$work/demo.db" --log error serve --demo --listen "127.0.0.1:$port" > "$work/server.out" 2>&1) &
  demo_pid=$!
  trap 'kill "$demo_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "serve --demo did not start:" >&2; cat "$work/server.out" >&2; return 1; }
  token=$(awk '/mia.member/ {print $NF}' "$work/server.out")
}
