#!/usr/bin/env bash
# PostgreSQL restarts under load: the server answers 503 (never 500) while the database is
# away and serves at full rate again within 2 seconds of it coming back, without a restart.
#
#   tests/faults/pg_restart.sh [BINARY]       (default target/debug/stepgraph)
#
# Runs a throwaway PostgreSQL cluster of its own (initdb as the postgres user, on a free
# port), so the machine's server and parallel test suites are not disturbed. Drives it with
# 8 concurrent clients for 12 s; at 4 s the cluster is stopped with `-m immediate` (a crash)
# and started again 2 s later. Prints the responses by status and the recovery time, and
# fails on any status other than 200 and 503, on a 503 without Retry-After, or when full
# rate takes longer than 2 s to come back.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/stepgraph}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
work=$(mktemp -d)
chown postgres "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
app_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
pg() { su postgres -s /bin/sh -c "$*"; }
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  pg "$pgbin/pg_ctl -D $work/data -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

pg "$pgbin/initdb -D $work/data -A trust -U postgres" >/dev/null
pg "$pgbin/pg_ctl -D $work/data -o '-p $port -c listen_addresses=127.0.0.1 -k $work' -l $work/pg.log -w start" >/dev/null
url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
"$bin" --database-url "$url" --log warn migrate up >/dev/null
"$bin" --database-url "$url" --log warn seed --demo >/dev/null
token=$("$bin" --database-url "$url" --log warn token create --user mia.member@example.com 2>/dev/null)
STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "$url" --log error serve --listen "127.0.0.1:$app_port" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$app_port/readyz" >/dev/null && break; sleep 0.1; done

# The restart, in the background: down at 4 s, up again at 6 s; its start time is recorded.
(
  sleep 4
  pg "$pgbin/pg_ctl -D $work/data -m immediate stop" >/dev/null
  sleep 2
  pg "$pgbin/pg_ctl -D $work/data -o '-p $port -c listen_addresses=127.0.0.1 -k $work' -l $work/pg.log -w start" >/dev/null
  date +%s.%N > "$work/up_at"
) &
restarter=$!

python3 - "$app_port" "$token" "$work" <<'EOF'
import json, sys, threading, time, urllib.request, urllib.error, collections
port, token, work = sys.argv[1], sys.argv[2], sys.argv[3]
body = json.dumps({"query": "{ sequenceSteps(first: 5) { nodes { id order sequence { name } } } }"}).encode()
results = []  # (time, status, retry_after)
lock = threading.Lock()
start = time.time()
def client():
    while time.time() - start < 12:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                payload = json.load(r)
                status = 200 if not payload.get("errors") else "200+" + payload["errors"][0]["extensions"]["code"]
                retry = r.headers.get("Retry-After")
        except urllib.error.HTTPError as e:
            status, retry = e.code, e.headers.get("Retry-After")
        except Exception as e:
            status, retry = type(e).__name__, None
        with lock:
            results.append((time.time(), status, retry))
threads = [threading.Thread(target=client) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
while True:
    try:
        up_at = float(open(f"{work}/up_at").read()); break
    except (FileNotFoundError, ValueError):
        time.sleep(0.1)
by_status = collections.Counter(str(s) for _, s, _ in results)
print("responses by status:", dict(by_status))
# Full rate: the median successes per second before the crash.
per_sec = collections.Counter(int(t - start) for t, s, _ in results if s == 200)
before = sorted(per_sec[i] for i in range(1, 4))
full = before[1]
# Recovery: from the database's start to the first 500 ms window at >= 80% of full rate.
ok_times = sorted(t for t, s, _ in results if s == 200 and t >= up_at)
recovered = None
for t0 in ok_times:
    n = sum(1 for t in ok_times if t0 <= t < t0 + 0.5)
    if n >= 0.8 * full / 2:
        recovered = t0 - up_at
        break
print(f"full rate before the crash: {full} req/s; back to full rate {recovered:.2f} s after PostgreSQL started" if recovered is not None else "never back to full rate")
bad = [s for _, s, _ in results if s not in (200, 503, "200+SERVICE_UNAVAILABLE")]
no_retry = [1 for _, s, r in results if s == 503 and not r]
failed = False
if bad:
    print("FAIL: unexpected answers:", collections.Counter(map(str, bad))); failed = True
if no_retry:
    print(f"FAIL: {len(no_retry)} 503 answers without Retry-After"); failed = True
if recovered is None or recovered > 2.0:
    print("FAIL: full rate did not come back within 2 s"); failed = True
if by_status.get("200", 0) == 0 or not any(s != 200 for _, s, _ in results):
    print("FAIL: the restart was not observed"); failed = True
sys.exit(1 if failed else 0)
EOF
wait "$restarter"
echo "pg_restart: ok"
