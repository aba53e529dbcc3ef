"""Scale benchmark: a big database must not make `crm show` slower, nor the file much bigger.

At the largest size asked for (N customers with 10 follow-ups each, capped at the issue's
100,000 customers and 1,000,000 follow-ups) a database is built once by ``bench/builddb.py`` into
bench/data/ and reused.

* ``crm show REF`` on that database against the same command on a database that holds only
  that customer (its row, follow-ups, stage changes, deals and tags, copied as they are): the
  same card and timeline is printed, so the ratio is what the size of the database costs.
  Target: under 1.3x. The customer is the one with the most follow-ups (the longest
  timeline); REF is given as its code, its exact name, its phone and a unique part of its
  name (the one form that has to scan names). One more row compares ``crm show CODE`` with
  the same command on an empty database (which only answers "no customer matches"), for
  information.
* The database file against the same data in a raw sqlite3 layout: plain tables with the
  columns a user's data needs (customer, follow_up, stage_change, deal, tag), rowid primary
  keys only: no secondary or unique indexes and none of our derived columns (``name_key``,
  ``phone_key``, ``last_follow_at``, ``last_method``, ``next_date``, ``next_plan``,
  ``batch_id``). Our file is measured as built (bulk-loaded, WAL checkpointed, not vacuumed);
  the raw file is filled by ``INSERT ... SELECT`` from ours in rowid order. Target: under 2x.

    python bench/bench_scale.py [--sizes 100000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, Result, best_pair, crm_cmd  # noqa: E402

REPEAT = 10
MAX_CUSTOMERS = 100_000
FOLLOW_UPS_PER_CUSTOMER = 10
SHOW_TARGET = 1.3
SIZE_TARGET = 2.0

RAW_SCHEMA = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, code TEXT, name TEXT, phone TEXT, contact TEXT, title TEXT,
    email TEXT, industry TEXT, source TEXT, level TEXT, stage TEXT, owner TEXT, need TEXT, notes TEXT,
    amount REAL, expected_close TEXT, lost_reason TEXT, created_at TEXT, archived INTEGER);
CREATE TABLE follow_up (id INTEGER PRIMARY KEY, customer_id INTEGER, date TEXT, method TEXT, content TEXT,
    feedback TEXT, "by" TEXT, next_date TEXT, next_plan TEXT);
CREATE TABLE stage_change (id INTEGER PRIMARY KEY, customer_id INTEGER, from_stage TEXT, to_stage TEXT,
    date TEXT, "by" TEXT, reason TEXT);
CREATE TABLE deal (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, date TEXT, "by" TEXT);
CREATE TABLE tag (customer_id INTEGER, name TEXT);
"""
RAW_COPY = {
    "customer": "id, code, name, phone, contact, title, email, industry, source, level, stage, owner, need, notes,"
    " amount, expected_close, lost_reason, created_at, archived",
    "follow_up": 'id, customer_id, date, method, content, feedback, "by", next_date, next_plan',
    "stage_change": 'id, customer_id, from_stage, to_stage, date, "by", reason',
    "deal": 'id, customer_id, amount, date, "by"',
    "tag": "customer_id, name",
}


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def _count(path: Path, table: str) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


def database(customers: int, follow_ups: int) -> Path:
    """bench/data/crm_<customers>_<follow_ups>.db at the current schema, built once (shared with bench_queries)."""
    from crmcli.store import HEAD
    from crmcli.store import sqlite as db

    path = DATA / f"crm_{customers}_{follow_ups}.db"
    try:
        fresh = (
            path.exists()
            and db.stored_revision(path) == HEAD
            and _count(path, "customer") == customers
            and _count(path, "follow_up") == follow_ups
        )
    except Exception:
        fresh = False
    if not fresh:
        from bench.builddb import build

        # Built aside and renamed: another benchmark may be reading the old file.
        tmp = path.with_name(path.name + ".building")
        sys.stderr.write(f"bench: building {path} ({customers:,} customers, {follow_ups:,} follow-ups) ...\n")
        start = time.perf_counter()
        build(tmp, customers, follow_ups)
        os.replace(tmp, path)
        sys.stderr.write(f"bench: built {path} in {time.perf_counter() - start:.0f} s\n")
    return path


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def busiest_customer(path: Path) -> dict[str, object]:
    """The customer with the most follow-ups, and a unique part of its name."""
    from crmcli import normalize

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cid, n = con.execute(
            "SELECT customer_id, count(*) AS n FROM follow_up GROUP BY customer_id ORDER BY n DESC, customer_id LIMIT 1"
        ).fetchone()
        code, name, phone = con.execute("SELECT code, name, phone FROM customer WHERE id = ?", (cid,)).fetchone()
        part = None
        for cut in range(2, max(3, len(name) - 3)):
            candidate = name[:-cut]
            key = normalize.name_key(candidate)
            hits = con.execute(
                "SELECT count(*) FROM customer WHERE name_key LIKE ? ESCAPE '\\'",
                ("%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
            ).fetchone()[0]
            if hits == 1:
                part = candidate
                break
    finally:
        con.close()
    return {"id": cid, "follow_ups": n, "code": code, "name": name, "phone": phone, "part": part}


def alone(big: Path, customer_id: object, path: Path) -> Path:
    """A database at the current schema holding only one customer of ``big``, rows copied as they are."""
    from crmcli.store import sqlite as db

    db.get_engine(path)
    db.dispose_all()
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("ATTACH DATABASE ? AS big", (f"file:{big}?mode=ro",))
        con.execute("BEGIN")
        con.execute("INSERT INTO main.customer SELECT * FROM big.customer WHERE id = ?", (customer_id,))
        for table in ("follow_up", "stage_change", "deal", "tag"):
            con.execute(f"INSERT INTO main.{table} SELECT * FROM big.{table} WHERE customer_id = ?", (customer_id,))
        con.execute("COMMIT")
        con.execute("DETACH DATABASE big")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return path


def raw_copy(big: Path, path: Path) -> Path:
    """The same data in the raw layout (see the module docstring)."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.executescript(RAW_SCHEMA)
        con.execute("ATTACH DATABASE ? AS big", (f"file:{big}?mode=ro",))
        con.execute("BEGIN")
        for table, cols in RAW_COPY.items():
            order = " ORDER BY id" if table != "tag" else " ORDER BY customer_id, name"
            con.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM big.{table}{order}")
        con.execute("COMMIT")
        con.execute("DETACH DATABASE big")
    finally:
        con.close()
    return path


def space(path: Path) -> tuple[float, float]:
    """(MB in tables, MB in indexes) of a database file, from SQLite's dbstat."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kinds = dict(con.execute("SELECT name, type FROM sqlite_master"))
        tables = indexes = 0
        for name, size in con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            if kinds.get(name) == "index" or str(name).startswith("sqlite_autoindex"):
                indexes += size
            else:
                tables += size
        return tables / 1e6, indexes / 1e6
    except sqlite3.Error:
        return float("nan"), float("nan")
    finally:
        con.close()


def _quiet_run(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def bench_size(customers: int, repeat: int = REPEAT) -> list[Result]:
    follow_ups = customers * FOLLOW_UPS_PER_CUSTOMER
    big = database(customers, follow_ups)
    size = f"{_label(customers)} customers, {_label(follow_ups)} follow-ups"
    who = busiest_customer(big)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-scale-") as tmp:
        small = alone(big, who["id"], Path(tmp) / "alone.db")
        refs = [("code", who["code"]), ("exact name", who["name"]), ("phone", who["phone"])]
        if who["part"]:
            refs.append(("part of the name", who["part"]))
        for kind, ref in refs:
            ours, floor, peak = best_pair(
                crm_cmd("--db", str(big), "show", str(ref)), crm_cmd("--db", str(small), "show", str(ref)), repeat
            )
            results.append(
                Result(
                    operation=f"crm show REF ({kind})",
                    size=size,
                    ours=ours,
                    floor=floor,
                    peak_mb=peak,
                    target=SHOW_TARGET,
                    note=f"floor: same command, db holding only that customer ({who['follow_ups']} follow-ups)",
                )
            )

        empty = Path(tmp) / "empty.db"
        subprocess.run(crm_cmd("--db", str(empty), "list"), capture_output=True, check=True)
        best_big = best_empty = float("inf")
        for _ in range(repeat):
            best_big = min(best_big, _quiet_run(crm_cmd("--db", str(big), "show", str(who["code"]))))
            best_empty = min(best_empty, _quiet_run(crm_cmd("--db", str(empty), "show", str(who["code"]))))
        results.append(
            Result(
                operation="crm show CODE vs empty db",
                size=size,
                ours=best_big,
                floor=best_empty,
                note="for information: on the empty db the command only answers 'no customer matches' (exit 1)",
            )
        )

        raw = raw_copy(big, Path(tmp) / "raw.db")
        ours_mb, raw_mb = file_size(big) / 1e6, file_size(raw) / 1e6
        tables, indexes = space(big)
        results.append(
            Result(
                operation="database file size",
                size=size,
                ours=ours_mb,
                floor=raw_mb,
                target=SIZE_TARGET,
                unit="MB",
                note=f"ours: {tables:,.0f} MB tables + {indexes:,.0f} MB indexes; floor: raw layout, rowid keys only",
            )
        )
    return results


def run(sizes: list[int] | None = None, repeat: int = REPEAT) -> list[Result]:
    """At the largest size asked for (customers, 10 follow-ups each), capped at 100,000.

    One database is enough to show whether size matters, and each costs a minute or two to measure.
    """
    return bench_size(min(max(sizes or [MAX_CUSTOMERS]), MAX_CUSTOMERS), repeat)


def main(argv: list[str] | None = None) -> int:
    from bench.run import format_table, parse_sizes

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=parse_sizes, default=[MAX_CUSTOMERS], help="customers, e.g. 10k,100k")
    ap.add_argument("--repeat", type=int, default=REPEAT, help=f"runs of each command, best kept (default {REPEAT})")
    args = ap.parse_args(argv)
    results = run(args.sizes, args.repeat)
    print(format_table(results))
    return 0 if all(r.ok is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
