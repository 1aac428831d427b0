#!/usr/bin/env bash
# A real Prometheus scrapes stepgraph's metrics under load, and PromQL through Prometheus's own
# HTTP API sees the request rate, the 99th percentile of the GraphQL route and the SQL
# statements per request.
#
#   tests/metrics/prometheus.sh [BINARY]       (default target/debug/stepgraph)
#
# Needs Debian's `prometheus` package (installed here when missing). Runs everything on free
# loopback ports with a SQLite database and Prometheus storage in a temporary directory:
# `serve --demo --metrics-listen`, Prometheus scraping it every second, 8 s of GraphQL and
# JSON:API requests from 4 clients, then the queries. Prints what Prometheus answered; fails
# when a series is missing or a value is not what the load implies.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/stepgraph}
if ! command -v prometheus >/dev/null 2>&1; then
  echo "installing Debian's prometheus"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
# The alerting rules: valid, and firing as their unit tests say.
promtool check rules docs/alerts.yml
promtool test rules tests/metrics/alerts.test.yml
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
app=$(free_port) metrics=$(free_port) prom=$(free_port)
url="sqlite://$work/stepgraph.db"

"$bin" --database-url "$url" --log warn seed --demo >/dev/null
token=$("$bin" --database-url "$url" --log warn token create --user mia.member@example.com 2>/dev/null | tail -n1)
STEPGRAPH_RATE_LIMIT_PER_MINUTE=0 "$bin" --database-url "$url" --log warn serve \
  --listen "127.0.0.1:$app" --metrics-listen "127.0.0.1:$metrics" >"$work/server.log" 2>&1 &
pids+=($!)

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/docs/alerts.yml
scrape_configs:
  - job_name: stepgraph
    static_configs:
      - targets: ["127.0.0.1:$metrics"]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom" >"$work/prometheus.log" 2>&1 &
pids+=($!)

python3 - "$app" "$metrics" "$prom" "$token" <<'EOF'
import json, sys, threading, time, urllib.parse, urllib.request
app, metrics, prom, token = sys.argv[1:5]

def wait(url, what):
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not come up at {url}")

wait(f"http://127.0.0.1:{app}/readyz", "stepgraph")
wait(f"http://127.0.0.1:{metrics}/metrics", "the metrics listener")
wait(f"http://127.0.0.1:{prom}/-/ready", "Prometheus")

# Prometheus must have scraped the target before the load starts (a rate needs two samples).
def query(q):
    u = f"http://127.0.0.1:{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(u, timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]

for _ in range(100):
    if query('up{job="stepgraph"} == 1'):
        break
    time.sleep(0.2)
else:
    sys.exit("Prometheus never scraped stepgraph (up != 1)")

sent = {"graphql": 0, "rest": 0}
errors = []
lock = threading.Lock()
body = json.dumps({"query": "query Steps { sequenceSteps(first: 10) { nodes { id sequence { name } tasks(first: 2) { nodes { id } } } } }"}).encode()
stop_at = time.time() + 8

def client(n):
    while time.time() < stop_at:
        try:
            if n % 4 == 3:
                req = urllib.request.Request(f"http://127.0.0.1:{app}/api/v2/sequenceSteps?page[size]=5",
                                             headers={"Authorization": f"Bearer {token}"})
                kind = "rest"
            else:
                req = urllib.request.Request(f"http://127.0.0.1:{app}/graphql", data=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                kind = "graphql"
            with urllib.request.urlopen(req, timeout=5) as r:
                r.read()
                ok = r.status == 200
            with lock:
                sent[kind] += 1
                if not ok:
                    errors.append(r.status)
        except Exception as e:
            with lock:
                errors.append(str(e))

threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    sys.exit(f"requests failed during the load: {errors[:5]}")
time.sleep(2.5)  # the last scrapes
print(f"load: {sent['graphql']} GraphQL and {sent['rest']} JSON:API requests in 8 s")

def scalar(q):
    result = query(q)
    if not result:
        sys.exit(f"Prometheus has nothing for: {q}")
    value = float(result[0]["value"][1])
    print(f"  {q}\n    = {value:.6g}")
    return value

rate = scalar('sum(rate(http_server_request_duration_seconds_count{http_route="/graphql"}[10s]))')
p99 = scalar('histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{http_route="/graphql"}[10s])))')
statements = scalar('histogram_quantile(0.5, sum by (le) (rate(db_client_statements_per_request_bucket[10s])))')
ops = scalar('sum(increase(graphql_server_operations_total{graphql_operation_name="Steps",outcome="ok"}[30s]))')
rest = scalar('sum(rate(http_server_request_duration_seconds_count{http_route="/api/v2/sequenceSteps"}[10s]))')

failures = []
if not rate > 1:
    failures.append(f"GraphQL request rate {rate} (sent {sent['graphql']} in 8 s)")
if not (0 < p99 < 10):
    failures.append(f"GraphQL p99 {p99} s")
if not (1 <= statements <= 13):
    failures.append(f"median statements per request {statements}")
if not ops > sent["graphql"] * 0.5:
    failures.append(f"operations counted {ops} of {sent['graphql']}")
if not rest > 0:
    failures.append(f"JSON:API request rate {rest}")

# The alerting rules, evaluated by this Prometheus against the live series: every rule
# loaded and evaluating without error, and none firing on a healthy server.
with urllib.request.urlopen(f"http://127.0.0.1:{prom}/api/v1/rules", timeout=5) as r:
    groups = json.load(r)["data"]["groups"]
rules = [rule for g in groups for rule in g["rules"]]
print(f"  alerting rules: {len(rules)} loaded: " + ", ".join(f"{x['name']} ({x['health']}, {x['state']})" for x in rules))
if len(rules) < 6:
    failures.append(f"only {len(rules)} alerting rules loaded")
for rule in rules:
    if rule["health"] != "ok":
        failures.append(f"rule {rule['name']} is {rule['health']}: {rule.get('lastError')}")
    if rule["state"] == "firing":
        failures.append(f"rule {rule['name']} fires on a healthy server")
if failures:
    sys.exit("wrong: " + "; ".join(failures))
print("Prometheus sees the request rate, the p99 of /graphql and the statements per request; the alerting rules evaluate")
EOF
