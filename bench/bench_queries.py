"""Benchmark: `crm list --due` and every `crm report KIND` on a large database, against a floor.

For each command:

* ours  = the installed `crm --db DB ... --format json`, as a user runs it (best of 5);
* floor = `python -c "import typer, rich, sqlmodel"` (the import cost of our stack, best of 5)
          + the same answer computed by raw SQL through sqlite3 in this process (best of 5).

The floor's SQL is the very query the command runs (captured by running the report
code over a plain sqlite3 connection), selecting plain columns instead of JSON text:
so the ratio measures what the program adds on top of unavoidable imports and the
query itself. The target is ours / floor <= 1.3.

    python bench/bench_queries.py [--customers 100000] [--repeat 5]     (follow-ups: 10 per customer)

The database is built once by bench/builddb.py into bench/data/ and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import DATA, Result, best_func, crm_cmd, python_cmd, run_cmd  # noqa: E402

TODAY = dt.date(2026, 11, 26)
TARGET = 1.3
FLOOR_IMPORT = "import typer, rich, sqlmodel"
REPORTS = ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts")
FOLLOW_UPS_PER_CUSTOMER = 10
MAX_CUSTOMERS = 100_000  # the database: 100,000 customers, 1,000,000 follow-ups


class _Recorder:
    """A stand-in for a SQLAlchemy connection: runs ``exec_driver_sql`` on sqlite3 and keeps the SQL."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def exec_driver_sql(self, sql: str, bind: dict[str, Any]) -> sqlite3.Cursor:
        self.calls.append((sql, bind))
        return self.con.execute(sql, bind)


def database(customers: int, follow_ups: int) -> Path:
    """bench/data/crm_<customers>_<follow_ups>.db at the current schema, built once (shared with bench_scale)."""
    from crmcli.store import HEAD
    from crmcli.store import sqlite as db

    path = DATA / f"crm_{customers}_{follow_ups}.db"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            counts = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customer", "follow_up")]
        finally:
            con.close()
        fresh = db.stored_revision(path) == HEAD and counts == [customers, follow_ups]
    except Exception:
        fresh = False
    if not fresh:
        from bench.builddb import build

        tmp = path.with_name(path.name + ".building")  # another benchmark may be reading the old file
        print(f"bench: building {path} ...", file=sys.stderr)
        build(tmp, customers, follow_ups)
        os.replace(tmp, path)
    return path


def floor_queries(path: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The SQL each command runs (plain columns), keyed by operation name."""
    from crmcli.services import reports
    from crmcli.settings import DEFAULT_CADENCE

    con = sqlite3.connect(path)
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    out["list --due"] = [reports.due_sql(today=TODAY, cadence=dict(DEFAULT_CADENCE), as_json=False)]
    for kind in REPORTS:
        rec = _Recorder(con)
        reports.build(rec, kind, reports.Params(today=TODAY))  # type: ignore[arg-type]
        out[f"report {kind}"] = rec.calls
    con.close()
    return out


def run(sizes: list[int] | None = None, repeat: int = 5) -> list[Result]:
    """One Result per command and database size (customers; follow-ups are 10 per customer).

    The floor's import time is measured again for each command, alternating with
    our runs, so that a busy machine slows both sides alike.
    """
    import compileall

    import crmcli

    # As `pip install` does: with PYTHONDONTWRITEBYTECODE set, a module edited since its .pyc
    # was written would be compiled again on every run and counted against us.
    compileall.compile_dir(Path(crmcli.__file__).parent, quiet=1)
    results: list[Result] = []
    for n in sorted({min(s, MAX_CUSTOMERS) for s in sizes or [MAX_CUSTOMERS]}):
        path = database(n, n * FOLLOW_UPS_PER_CUSTOMER)
        env = {"CRM_TODAY": TODAY.isoformat(), "CRM_LANG": "en", "CRM_CONFIG": str(DATA / "no-such-crm.toml")}
        queries = floor_queries(path)
        con = sqlite3.connect(path)
        size = f"{n:,} / {n * FOLLOW_UPS_PER_CUSTOMER:,}"
        for op, calls in queries.items():
            argv = crm_cmd("--db", str(path), *op.split(), "--format", "json")
            sql_time = best_func(lambda calls=calls, con=con: [con.execute(q, b).fetchall() for q, b in calls], repeat)
            imports = ours = float("inf")
            peak = 0.0
            for _ in range(repeat):
                imports = min(imports, run_cmd(python_cmd(FLOOR_IMPORT))[0])
                elapsed, rss, code = run_cmd(argv, env)
                if code != 0:
                    raise SystemExit(f"{' '.join(argv)} exited {code}")
                ours, peak = min(ours, elapsed), max(peak, rss)
            results.append(
                Result(
                    operation=f"crm {op}",
                    size=size,
                    ours=ours,
                    floor=imports + sql_time,
                    peak_mb=peak,
                    target=TARGET,
                    note=f"import {imports * 1000:.0f} ms + SQL {sql_time * 1000:.0f} ms",
                )
            )
        con.close()
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| command | customers / follow-ups | ours (s) | floor (s) | floor = | ratio | target | peak MB |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        ok = "ok" if r.ok else "MISSED"
        lines.append(
            f"| `{r.operation}` | {r.size} | {r.ours:.3f} | {r.floor:.3f} | {r.note} | {r.ratio:.2f} "
            f"| ≤ {r.target} {ok} | {r.peak_mb:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    results = run([args.customers], repeat=args.repeat)
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
