#!/usr/bin/env python3
"""The spread of several bench/compare.sh runs, and where it stands against issue 26's targets.

    bench/spread.py RUN.md RUN.md RUN.md

Each RUN.md is a `bench/compare.sh --out FILE` of the same queries. Prints two Markdown
tables: every server's figures as the lowest and highest of the runs (ratios are each run's
own, to that run's best peer), then each target of issue 26 per query, as the lowest and
highest ratio of the runs, with "met", "met in k runs of n" or "not met". stepgraph's rows on
PostgreSQL at its default threads are `stepgraph-postgres`, with `--worker-threads 1`
`stepgraph-postgres-1thread` (`bench/compare.sh --threads`).
"""

import sys
from collections import defaultdict

PEERS = ("postgraphile4", "postgraphile4-2workers", "postgraphile5")
COLUMNS = ("rps", "p50", "p99", "gw", "pg", "gw_best", "pg_best", "rps_best", "stmts", "rss")


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def read(path):
    """{(query, server): {column: value}} of one run's table."""
    rows = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 12 or not cells[0].startswith("q") or cells[0] == "query":
            continue
        rows[(cells[0], cells[1])] = dict(zip(COLUMNS, map(number, cells[2:])))
        rows[(cells[0], cells[1])]["stmts_text"] = cells[10]
    return rows


def span(values, digits=2):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    fmt = f"{{:.{digits}f}}"
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"


def verdict(values, ok):
    values = [v for v in values if v is not None]
    met = sum(1 for v in values if ok(v))
    if met == len(values):
        return "met"
    if met == 0:
        return "not met"
    return f"met in {met} run{'s' if met > 1 else ''} of {len(values)}"


def main(paths):
    runs = [read(p) for p in paths]
    keys = []
    for run in runs:
        for key in run:
            if key not in keys:
                keys.append(key)

    print("| query | server | req/s | p99 ms | gateway CPU ms/req | PostgreSQL CPU ms/req "
          "| gateway / best peer | PostgreSQL / best peer | statements | RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for q, server in keys:
        got = [run[(q, server)] for run in runs if (q, server) in run]
        col = lambda c: [g[c] for g in got]
        print(f"| {q} | {server} | {span(col('rps'), 0)} | {span(col('p99'), 1)} "
              f"| {span(col('gw'), 3)} | {span(col('pg'), 3)} | {span(col('gw_best'))} "
              f"| {span(col('pg_best'))} | {got[0]['stmts_text']} | {span(col('rss'), 0)} |")

    queries = sorted({q for q, _ in keys})
    print()
    print("| target | " + " | ".join(q.upper() for q in queries) + " |")
    print("|---|" + "---|" * len(queries))

    def peers(run, q):
        return [run[(q, p)] for p in PEERS if (q, p) in run]

    def ratios(q, server, measure):
        out = []
        for run in runs:
            ours, best = run.get((q, server)), peers(run, q)
            if ours is None or not best:
                continue
            out.append(measure(ours, best))
        return out

    gw = lambda o, b: o["gw"] / min(p["gw"] for p in b)
    pg = lambda o, b: o["pg"] / min(p["pg"] for p in b)
    both = lambda o, b: (o["gw"] + o["pg"]) / min(p["gw"] + p["pg"] for p in b)
    p99 = lambda o, b: o["p99"] / min(p["p99"] for p in b)
    gw_target = {"q1": 0.5, "q2": 1 / 3, "q3": 1 / 3}
    settings = (("1 thread", "stepgraph-postgres-1thread", "stepgraph-sqlite-1thread"),
                ("default", "stepgraph-postgres", "stepgraph-sqlite"))
    rows = [
        ("gateway CPU at most 1/2 (single row) or 1/3 (nested) of the best peer's", gw,
         lambda q: (lambda v: v <= gw_target[q]) if q in gw_target else None),
        ("PostgreSQL CPU at most the best peer's", pg, lambda q: lambda v: v <= 1),
        ("gateway + PostgreSQL at most 0.6 of the best peer's", both,
         lambda q: lambda v: v <= 0.6),
        ("p99 at most half the best peer's", p99, lambda q: lambda v: v <= 0.5),
    ]
    for title, measure, target in rows:
        for setting, pg_server, _ in settings:
            cells = []
            for q in queries:
                values = ratios(q, pg_server, measure)
                check = target(q)
                mark = verdict(values, check) if check else "no target"
                cells.append(f"{span(values)} ({mark})" if values else "")
            print(f"| {title}, {setting} | " + " | ".join(cells) + " |")
    cells = []
    for q in queries:
        # Every stepgraph row: each database, each thread setting.
        rss = [v["rss"] for run in runs for (rq, server), v in run.items()
               if rq == q and server.startswith("stepgraph")]
        cells.append(f"{span(rss, 0)} MB ({verdict(rss, lambda v: v <= 64)})" if rss else "")
    print("| RSS under load at most 64 MB (every stepgraph row, both databases) | " + " | ".join(cells) + " |")
    for setting, pg_server, sqlite_server in settings:
        cells = []
        for q in queries:
            values = [run[(q, sqlite_server)]["rps"] / run[(q, pg_server)]["rps"]
                      for run in runs if (q, sqlite_server) in run and (q, pg_server) in run]
            cells.append(f"{span(values)} ({verdict(values, lambda v: v >= 1)})" if values else "")
        print(f"| SQLite at least as fast as PostgreSQL (req/s, SQLite / PostgreSQL), {setting} | "
              + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
