#!/usr/bin/env python3
"""Airbyte's open-source Outreach connector (PyPI `airbyte-source-outreach`), unmodified but
for its base URL and the OAuth endpoint it takes its token from, reads every stream it has that
stepgraph serves from a `serve --demo`: in full, then incrementally
(`filter[updatedAt]=<t>..inf`) after a change.

Usage: airbyte.py BASE_URL ADMIN_TOKEN WORKDIR

The connector's package is copied to WORKDIR with two lines of its manifest changed
(`url_base` and `token_refresh_endpoint`) and run from there; a stub OAuth endpoint on
loopback answers its refresh with ADMIN_TOKEN, as Outreach's would with an access token.
Everything else (its requests, its parsing of every date-time with `%Y-%m-%dT%H:%M:%S.%fZ`,
its paging by `links.next`, its state) is the connector's own.
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from datetime import datetime

import source_outreach

BASE, TOKEN, WORK = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
# The streams of the connector that stepgraph serves, and their /api/v2 collections.
STREAMS = {
    "users": "users",
    "sequences": "sequences",
    "sequence_steps": "sequenceSteps",
    "templates": "templates",
    "tasks": "tasks",
    "calls": "calls",
    "call_purposes": "callPurposes",
    "mailings": "mailings",
}
OUTREACH_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


class TokenEndpoint(http.server.BaseHTTPRequestHandler):
    """Outreach's OAuth token endpoint, as the connector's refresh sees it."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"access_token": TOKEN, "token_type": "bearer", "expires_in": 7200})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def api(method, path, body=None):
    req = urllib.request.Request(
        f"{BASE}/api/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/vnd.api+json"},
    )
    with urllib.request.urlopen(req) as res:
        return res.status, dict(res.headers), json.loads(res.read() or b"null")


def connector(token_port):
    src = os.path.dirname(source_outreach.__file__)
    pkg = os.path.join(WORK, "source_outreach")
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(src, pkg)
    manifest = os.path.join(pkg, "manifest.yaml")
    text = open(manifest).read()
    changed = text.replace("url_base: https://api.outreach.io/api/v2/", f"url_base: {BASE}/api/v2/")
    changed = changed.replace(
        "token_refresh_endpoint: https://api.outreach.io/oauth/token",
        f"token_refresh_endpoint: http://127.0.0.1:{token_port}/oauth/token",
    )
    # Exactly those two lines, or the connector has changed under us.
    diff = [(a, b) for a, b in zip(text.splitlines(), changed.splitlines()) if a != b]
    if len(diff) != 2:
        fail(f"expected to change 2 lines of the manifest, changed {len(diff)}")
    open(manifest, "w").write(changed)


def read(state=None):
    config = os.path.join(WORK, "config.json")
    catalog = os.path.join(WORK, "catalog.json")
    args = [sys.executable, "-c", "from source_outreach.run import run; run()", "read",
            "--config", config, "--catalog", catalog]
    if state is not None:
        path = os.path.join(WORK, "state.json")
        json.dump(state, open(path, "w"))
        args += ["--state", path]
    env = dict(os.environ, PYTHONPATH=WORK)
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    records, states, errors = {}, [], []
    for line in out.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        kind = msg.get("type")
        if kind == "RECORD":
            records.setdefault(msg["record"]["stream"], []).append(msg["record"]["data"])
        elif kind == "STATE":
            states.append(msg["state"])
        elif kind == "TRACE" and msg["trace"].get("type") == "ERROR":
            errors.append(msg["trace"]["error"].get("message"))
        elif kind == "LOG" and msg["log"]["level"] in ("ERROR", "FATAL"):
            errors.append(msg["log"]["message"])
    if out.returncode != 0 or errors:
        fail(f"the connector failed (exit {out.returncode}): {errors or out.stderr[-2000:]}")
    return records, states


def check_times(stream, records):
    """Every date-time the connector passed on parses with Outreach's own pattern."""
    n = 0
    for r in records:
        for key, value in r.items():
            if key.endswith("At") and value is not None:
                datetime.strptime(value, OUTREACH_TIME)
                if not (len(value) == 24 and value[19] == "." and value.endswith("Z")):
                    fail(f"{stream}.{key} = {value!r} is not rendered as Outreach does")
                n += 1
    return n


def main():
    os.makedirs(WORK, exist_ok=True)
    server = http.server.HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connector(server.server_address[1])
    json.dump({"client_id": "stepgraph", "client_secret": "unused", "refresh_token": "unused",
               "start_date": "2020-01-01T00:00:00Z"}, open(os.path.join(WORK, "config.json"), "w"))
    catalog = {"streams": [{
        "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
                   "source_defined_cursor": True, "default_cursor_field": ["updatedAt"]},
        "sync_mode": "incremental", "cursor_field": ["updatedAt"], "destination_sync_mode": "append",
    } for name in STREAMS]}
    json.dump(catalog, open(os.path.join(WORK, "catalog.json"), "w"))

    # Full: every row of every stream, row for row with what /api/v2 lists.
    records, states = read()
    times = 0
    for stream, collection in STREAMS.items():
        _, _, doc = api("GET", f"/{collection}?count=true&page[size]=1")
        want = doc["meta"]["count"]
        got = records.get(stream, [])
        ids = {r["id"] for r in got}
        if len(got) != want or len(ids) != want:
            fail(f"{stream}: read {len(got)} records ({len(ids)} ids), /api/v2 has {want}")
        times += check_times(stream, got)
        print(f"full        {stream:<15} {len(got):>4} records")
    if not states:
        fail("the connector emitted no state")
    print(f"full: {sum(len(v) for v in records.values())} records, {times} date-times parsed with {OUTREACH_TIME}")

    # A change, then an incremental read from the state the full read left.
    _, _, steps = api("GET", "/sequenceSteps?sort=-updatedAt&page[size]=1")
    step = steps["data"][0]
    status, _, _ = api("PATCH", f"/sequenceSteps/{step['id']}", {
        "data": {"type": "sequenceStep", "id": step["id"], "attributes": {"taskNote": "changed for the incremental read"}}})
    if status != 200:
        fail(f"PATCH answered {status}")
    state = states[-1]
    incremental, _ = read(state)
    changed = [r for r in incremental.get("sequence_steps", []) if str(r["id"]) == str(step["id"])]
    if not changed or changed[-1].get("taskNote") != "changed for the incremental read":
        fail(f"the incremental read missed the changed step {step['id']}: {incremental.get('sequence_steps')}")
    total_full = sum(len(v) for v in records.values())
    total_inc = sum(len(v) for v in incremental.values())
    if total_inc >= total_full:
        fail(f"the incremental read took {total_inc} records, the full one {total_full}")
    for stream, got in incremental.items():
        check_times(stream, got)
    print(f"incremental: {total_inc} records (the changed step among them), against {total_full} in full")

    # Outreach's rate-limit headers, beside the IETF ones.
    _, headers, _ = api("GET", "/sequences?page[size]=1")
    lower = {k.lower(): v for k, v in headers.items()}
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-limit"):
        if name not in lower:
            fail(f"no {name} header")
    reset = int(lower["x-ratelimit-reset"])
    if abs(reset - datetime.now().timestamp()) > 3600 * 2:
        fail(f"x-ratelimit-reset {reset} is not an epoch second near now")
    print("rate-limit headers: " + ", ".join(f"{k}={lower[k]}" for k in sorted(lower) if "ratelimit" in k))
    print("ok")


if __name__ == "__main__":
    main()
