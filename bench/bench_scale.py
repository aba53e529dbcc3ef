"""Scale benchmark: the database file against the same data in a raw sqlite3 layout.

At each size (N customers, 10 follow-ups each; the databases of bench/builddb.py, built once
into bench/data/ and reused), our file against the same data in a **raw layout**: plain tables
with the columns a user's data needs (customer, follow_up, stage_change, deal, tag), rowid
primary keys only: no secondary or unique indexes and none of our derived columns
(``name_key``, ``phone_key``, ``last_follow_at``, ``last_method``, ``next_date``,
``next_plan``, ``batch_id``). Our file is measured as built (bulk-loaded, WAL checkpointed, not
vacuumed); the raw file is filled by ``INSERT ... SELECT`` from ours in rowid order. Target:
under 2x. (What the size of the database costs each command is measured by bench_queries: the
same commands at 10k, 100k and 1M customers, each against its own floor.)

    python bench/bench_scale.py [--sizes 10k,100k]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Result, database, size_label  # noqa: E402

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


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


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


def bench_size(customers: int, tmp: Path) -> Result:
    big = database(customers)
    raw = raw_copy(big, tmp / "raw.db")
    ours_mb, raw_mb = file_size(big) / 1e6, file_size(raw) / 1e6
    tables, indexes = space(big)
    raw.unlink()
    return Result(
        operation="database file size",
        size=size_label(customers, customers * 10),
        ours=ours_mb,
        floor=raw_mb,
        target=SIZE_TARGET,
        unit="MB",
        n=customers,
        note=f"ours: {tables:,.0f} MB tables + {indexes:,.0f} MB indexes",
        floor_desc="the same data in the raw layout: plain tables, rowid keys only, no index, no derived column",
    )


def run(sizes: list[int] | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="crm-bench-scale-") as tmp:
        return [bench_size(n, Path(tmp)) for n in sorted(set(sizes or [100_000]))]


def main(argv: list[str] | None = None) -> int:
    from bench.run import standalone

    return standalone(run, __doc__, argv, sizes=[100_000])


if __name__ == "__main__":
    sys.exit(main())
