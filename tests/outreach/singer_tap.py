#!/usr/bin/env python3
"""Stitch's open-source Outreach tap (PyPI `tap-outreach`, Singer) reads every stream it has
that stepgraph serves from a `serve --demo`: in full, then incrementally
(`filter[updatedAt]=<bookmark>..inf&sort=updatedAt`, following `links.next`) after a change.

Usage: singer_tap.py BASE_URL ADMIN_TOKEN

The tap runs unmodified: its own `sync` (requests, paging, bookmarks, the Singer transformer
that parses every date-time against its schemas) over its own `OutreachClient`, given two
things its command line cannot: the base URL (a class constant, `https://api.outreach.io/api/v2/`)
and an access token (its command line only refreshes one at Outreach's OAuth endpoint, and
first checks authentication on `/stages`, a resource stepgraph does not serve).
Outreach's wire formats are checked on the raw documents too: every date-time is UTC with
three fractional digits and `Z` (what `%Y-%m-%dT%H:%M:%S.%fZ` connectors need), and the
`X-RateLimit-*` headers are there.
"""

import contextlib
import io
import logging
import json
import sys
import urllib.request
from datetime import datetime, timedelta

import singer
from singer import metadata
from tap_outreach.client import OutreachClient
from tap_outreach.discover import discover
from tap_outreach.sync import sync

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
# The tap's streams that stepgraph serves, and their /api/v2 collections.
STREAMS = {
    "users": "users",
    "sequences": "sequences",
    "sequence_steps": "sequenceSteps",
    "sequence_templates": "sequenceTemplates",
    "tasks": "tasks",
    "calls": "calls",
    "call_purposes": "callPurposes",
    "mailings": "mailings",
}
OUTREACH_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def api(method, path, body=None):
    req = urllib.request.Request(
        f"{BASE}/api/v2{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/vnd.api+json"},
    )
    with urllib.request.urlopen(req) as res:
        return res.status, {k.lower(): v for k, v in res.headers.items()}, json.loads(res.read() or b"null")


def client(config):
    c = OutreachClient(config)
    c.BASE_URL = f"{BASE}/api/v2/"
    # The access token, valid for an hour, as the tap's refresh would have set it.
    c._OutreachClient__access_token = TOKEN
    c._OutreachClient__expires_at = datetime.utcnow() + timedelta(hours=1)
    return c


def run(state):
    catalog = discover()
    for entry in catalog.streams:
        if entry.tap_stream_id in STREAMS:
            mdata = metadata.to_map(entry.metadata)
            mdata = metadata.write(mdata, (), "selected", True)
            entry.metadata = metadata.to_list(mdata)
    config = {"start_date": "2020-01-01T00:00:00Z", "page_size": 5}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), client(config) as c:
        sync(c, config, catalog, state, config["start_date"])
    records, last_state = {}, None
    for line in out.getvalue().splitlines():
        msg = json.loads(line)
        if msg["type"] == "RECORD":
            records.setdefault(msg["stream"], []).append(msg["record"])
        elif msg["type"] == "STATE":
            last_state = msg["value"]
    return records, last_state


def check_wire_times():
    """Every date-time attribute /api/v2 sends is rendered as Outreach renders it."""
    n = 0
    for collection in STREAMS.values():
        _, _, doc = api("GET", f"/{collection}?page[size]=1000")
        for row in doc["data"]:
            for key, value in row["attributes"].items():
                if key.endswith("At") and value is not None:
                    datetime.strptime(value, OUTREACH_TIME)
                    if not (len(value) == 24 and value[19] == "." and value.endswith("Z")):
                        fail(f"{collection}.{key} = {value!r} is not rendered as Outreach does")
                    n += 1
    return n


def main():
    logging.disable(logging.INFO)
    times = check_wire_times()
    print(f"wire: {times} date-times, each parsed with {OUTREACH_TIME}, three fractional digits")

    records, state = run({})
    for stream, collection in STREAMS.items():
        _, _, doc = api("GET", f"/{collection}?count=true&page[size]=1")
        want = doc["meta"]["count"]
        got = records.get(stream, [])
        ids = {r["id"] for r in got}
        if len(got) != want or len(ids) != want:
            fail(f"{stream}: the tap read {len(got)} records ({len(ids)} ids), /api/v2 has {want}")
        print(f"full        {stream:<19} {len(got):>4} records")
    if not state or not state.get("bookmarks"):
        fail(f"the tap left no bookmarks: {state}")
    total_full = sum(len(v) for v in records.values())

    _, _, steps = api("GET", "/sequenceSteps?sort=-updatedAt&page[size]=1")
    step = steps["data"][0]
    status, _, _ = api("PATCH", f"/sequenceSteps/{step['id']}", {
        "data": {"type": "sequenceStep", "id": step["id"],
                 "attributes": {"taskNote": "changed for the incremental read"}}})
    if status != 200:
        fail(f"PATCH answered {status}")
    incremental, _ = run(state)
    changed = [r for r in incremental.get("sequence_steps", []) if str(r["id"]) == str(step["id"])]
    if not changed or changed[-1].get("taskNote") != "changed for the incremental read":
        fail(f"the incremental read missed the changed step {step['id']}")
    total_inc = sum(len(v) for v in incremental.values())
    # Sequence templates are a full-table stream in the tap; every other stream starts at its
    # bookmark, so it sees only rows updated at or after it.
    full_table = len(records.get("sequence_templates", []))
    if total_inc - len(incremental.get("sequence_templates", [])) >= total_full - full_table:
        fail(f"the incremental read took {total_inc} records, the full one {total_full}")
    print(f"full: {total_full} records; incremental: {total_inc} (the changed step among them)")

    _, headers, _ = api("GET", "/sequences?page[size]=1")
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-limit"):
        if name not in headers:
            fail(f"no {name} header")
    reset = int(headers["x-ratelimit-reset"])
    if abs(reset - datetime.now().timestamp()) > 7200:
        fail(f"x-ratelimit-reset {reset} is not an epoch second near now")
    print("rate-limit headers: " + ", ".join(f"{k}={v}" for k, v in sorted(headers.items()) if "ratelimit" in k))
    print("ok")


if __name__ == "__main__":
    main()
