#!/usr/bin/env python3
"""Instructions of a callgrind profile by the crate that owns the code (self cost).

    bench/by_crate.py PROFILE [--requests R] [--top N]

PROFILE is a callgrind file, for example one kept by `bench/instructions.sh --keep DIR`
(which sends 30 requests: pass --requests 30 for per-request figures). Each function's self
cost goes to a crate named by its symbol: `<T as Trait>::f` and `drop_in_place<T>` to T's
crate, C symbols to sqlite, the allocator or libc. Release builds inline across crates, so a
share is where the instructions ended up after inlining, not a bound: an async-graphql
generic inlined into one of our resolvers counts as ours, and the other way round.
"""
import argparse
import collections
import re
import subprocess
import sys

GROUPS = {
    "stepgraph": "stepgraph (ours)", "entity": "stepgraph (ours)", "migration": "stepgraph (ours)",
    "stepgraph_domain": "stepgraph (ours)", "stepgraph_graphql": "stepgraph (ours)",
    "stepgraph_rest": "stepgraph (ours)", "stepgraph_web": "stepgraph (ours)",
    "stepgraph_server": "stepgraph (ours)",
    "async_graphql": "async-graphql", "async_graphql_parser": "async-graphql",
    "async_graphql_value": "async-graphql", "pest": "async-graphql",
    "sea_orm": "sea-orm / sea-query", "sea_query": "sea-orm / sea-query",
    "sqlx_core": "sqlx", "sqlx_postgres": "sqlx", "sqlx_sqlite": "sqlx", "sqlx_mysql": "sqlx",
    "serde_json": "serde / serde_json", "serde": "serde / serde_json",
    "tokio": "tokio", "futures_util": "futures", "futures_core": "futures",
    "futures_channel": "futures", "futures_timer": "futures",
    "hyper": "http stack", "hyper_util": "http stack", "axum": "http stack",
    "axum_core": "http stack", "tower": "http stack", "tower_http": "http stack",
    "http": "http stack", "http_body": "http stack", "http_body_util": "http stack",
    "bytes": "http stack", "httparse": "http stack",
    "core": "std (core, alloc)", "alloc": "std (core, alloc)", "std": "std (core, alloc)",
    "hashbrown": "hashing", "indexmap": "hashing", "fnv": "hashing", "ahash": "hashing",
    "chrono": "chrono", "tracing": "tracing", "tracing_core": "tracing",
}


def crate_of(symbol: str) -> str:
    s = symbol.strip()
    m = re.match(r"^core::ptr::drop_in_place<(.*)>$", s)
    if m:
        return crate_of(m.group(1))
    s = s.lstrip("<&*").removeprefix("mut ").removeprefix("dyn ").removeprefix("const ")
    s = s.lstrip("<&*(")
    if "::" not in s:
        if s.startswith("sqlite3") or s.startswith("btree") or s.startswith("pcache"):
            return "sqlite (C)"
        if s.startswith("mi_") or s.startswith("_mi_") or "malloc" in s or s.startswith("free"):
            return "allocator"
        return "libc and other C"
    head = re.split(r"::|<|\s", s, maxsplit=1)[0]
    return GROUPS.get(head, head)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--requests", type=int, default=1)
    ap.add_argument("--top", type=int, default=14)
    args = ap.parse_args()
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", args.profile],
        check=True, capture_output=True, text=True).stdout
    by = collections.Counter()
    total = 0
    line_re = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+(?:\S*?:)?(.*?)(?: \[[^\]]*\])?$")
    for line in out.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = line_re.match(line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        by[crate_of(m.group(2))] += n
    if not total:
        sys.exit("no totals in the profile")
    print(f"| crate | instructions per request | share |")
    print("|---|---|---|")
    shown = 0
    for crate, n in by.most_common(args.top):
        shown += n
        print(f"| {crate} | {n // args.requests:,} | {100 * n / total:.1f}% |")
    rest = total - shown
    print(f"| everything else | {rest // args.requests:,} | {100 * rest / total:.1f}% |")
    print(f"| total | {total // args.requests:,} | 100% |")


if __name__ == "__main__":
    main()
