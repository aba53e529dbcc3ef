"""Import benchmark: ``crm import`` of a seed-000 workbook against a floor measured in the same run.

The floor is what no importer can beat: python-calamine reading the same file (the same calls
the importer makes: open, first sheet, ``iter_rows``) plus raw ``sqlite3.executemany`` of the
same number of rows (one row per customer, 19 columns, as read) into a fresh file in one
transaction. Ours is the installed command as a user runs it, in a subprocess, on a fresh
database: ``crm --db <tmp> import FILE --format json`` (interpreter start-up, migrations and
all). The issue allows ours <= 2x the floor and a peak RSS below 400 MB.

    python bench/bench_import.py --rows 100000 [--repeat 3] [--write-docs]

``run(sizes)`` is what ``bench/run.py`` calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, ROOT, Result, crm_cmd, run_cmd

TARGET_RATIO = 2.0
TARGET_MB = 400.0
COMMAND = "python bench/bench_import.py --rows 100000"


def _label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def workbook(n: int) -> Path:
    """bench/data/customers_<n>.xlsx (seed-000 template, seed 1), generated once."""
    for name in (f"customers_{_label(n)}.xlsx", f"customers_{n}.xlsx"):
        path = DATA / name
        if path.exists():
            return path
    from bench.generate import write_xlsx

    path = DATA / f"customers_{_label(n)}.xlsx"
    sys.stderr.write(f"bench: generating {path} ({n} rows)...\n")
    write_xlsx(path, n, seed=1)
    return path


def floor_once(path: Path, db_path: Path) -> int:
    """calamine read + raw executemany of the rows into a fresh 19-column table; returns rows."""
    import python_calamine as pc

    sqlite3.register_adapter(dt.date, dt.date.isoformat)
    sqlite3.register_adapter(dt.datetime, lambda d: d.isoformat(sep=" "))

    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    wb = pc.CalamineWorkbook.from_path(str(path))
    sheet = wb.get_sheet_by_name(wb.sheet_names[0])
    rows = sheet.iter_rows()
    header = next(rows)
    width = len(header)
    con = sqlite3.connect(db_path, isolation_level=None)
    try:
        con.execute(f"CREATE TABLE customer ({', '.join(f'c{i}' for i in range(width))})")
        con.execute("BEGIN")
        cur = con.executemany(f"INSERT INTO customer VALUES ({', '.join('?' * width)})", rows)
        n = cur.rowcount
        con.execute("COMMIT")
    finally:
        con.close()
        wb.close()
    return n


def bench_size(n: int, repeat: int = 3) -> Result:
    """Best of ``repeat`` runs of each side, run alternately so that load on the machine falls
    on both alike; the floor runs in a subprocess too (same interpreter start-up as ours)."""
    path = workbook(n)
    with tempfile.TemporaryDirectory(prefix="crm-bench-import-") as tmp:
        tmpdir = Path(tmp)
        db = tmpdir / "crm.db"

        def fresh() -> None:
            for p in tmpdir.glob("crm.db*"):
                p.unlink()

        env = {"CRM_CONFIG": str(tmpdir / "none.toml"), "CRM_USER": "bench", "CRM_LANG": "en"}
        ours_argv = crm_cmd("--db", str(db), "import", str(path), "--format", "json")
        floor_argv = [sys.executable, str(Path(__file__).resolve()), "--floor-once", str(path), str(tmpdir / "floor.db")]
        fresh()
        _, _, code = run_cmd(ours_argv, env)  # warms the OS file cache, and checks it works
        if code != 0:
            raise SystemExit(f"bench: crm import exited {code}")
        best_ours = best_floor = float("inf")
        peak = 0.0
        for _ in range(repeat):
            fresh()
            elapsed, rss, _ = run_cmd(ours_argv, env)
            best_ours, peak = min(best_ours, elapsed), max(peak, rss)
            elapsed, _, code = run_cmd(floor_argv)
            if code != 0:
                raise SystemExit("bench: the floor run failed")
            best_floor = min(best_floor, elapsed)
    return Result(
        operation="import xlsx (seed-000, 19 cols, 1 follow-up/row), fresh db",
        size=f"{n:,} rows",
        ours=best_ours,
        floor=best_floor,
        peak_mb=peak,
        # the target is for the 100k-row workbook; smaller ones are start-up dominated
        target=TARGET_RATIO if n >= 100_000 else None,
        note=f"peak RSS target < {TARGET_MB:.0f} MB: {'ok' if peak < TARGET_MB else 'OVER'}"
        + ("" if n >= 100_000 else "; ratio target applies at 100k rows"),
    )


def run(sizes: list[int] | None = None, repeat: int = 3) -> list[Result]:
    return [bench_size(n, repeat) for n in (sizes or [100_000])]


def table(results: list[Result]) -> str:
    lines = [
        "| operation | size | ours (s) | floor (s) | ratio | target | peak RSS (MB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ok = "" if r.ok is None else (" ✓" if r.ok else " ✗")
        peak = "" if r.peak_mb is None else f"{r.peak_mb:.0f}"
        target = "" if r.target is None else f"≤ {r.target:g}×"
        lines.append(f"| {r.operation} | {r.size} | {r.ours:.2f} | {r.floor:.2f} | {r.ratio:.2f}{ok} | {target} | {peak} |")
    return "\n".join(lines)


def write_docs(results: list[Result], command: str) -> Path:
    """Replace the "## Import" section of docs/benchmarks.md (other sections are left alone)."""
    doc = ROOT / "docs" / "benchmarks.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    when = dt.date.today().isoformat()
    cpus = os.cpu_count()
    section = (
        "## Import\n\n"
        f"Command: `{command}` (measured {when}, {cpus} CPUs, Python {sys.version.split()[0]}).\n\n"
        + table(results)
        + "\n\n"
        "*Ours* is `crm --db <fresh tmp db> import bench/data/customers_100k.xlsx --format json` as a subprocess "
        "(interpreter start-up and the migration of the new database included), best of the repeats. "
        "*Floor* is python-calamine opening the same workbook and iterating its rows plus raw "
        "`sqlite3.executemany` of the same rows (19 columns) into a fresh file in one transaction, "
        "also as a subprocess, measured in the same run, the two sides alternating. The workbook comes from `bench/generate.py` (seed-000 template, "
        "one follow-up per row, seed 1). Peak RSS is the child's `ru_maxrss`.\n\n"
        "Where the time goes (in-process timers and py-spy, quiet machine, 2026-11-26): interpreter and CLI 0.14 s "
        "(typer builds pydantic adapters for the options); calamine opening the sheet 1.35 s, in a thread, while the "
        "database is opened and migrated (0.25 s); parsing and writing 1.7 s, the main thread parsing chunk *n+1* of "
        "1,000 rows column by column (1.3 s CPU) while a writer thread inserts chunk *n* with multi-row INSERTs "
        "(1.1 s in SQLite without the GIL, 0.3 s binding values with it). That phase is bound by the GIL, not by "
        "SQLite: dropping every secondary index made it 0.06 s shorter (and rebuilding them cost 0.22 s), so the "
        "work went into Python time -- cross-column checks done per column instead of per row, INSERTs that leave "
        "out the columns NULL in a whole chunk (fewer values to bind), a 1 ms GIL switch interval so the writer "
        "gets the GIL back as soon as an INSERT ends. Then commit and WAL checkpoint 0.2 s. The floor's table has "
        "no index and a rollback journal; ours writes 100k customers into a table with 7 indexes (2 unique), 100k "
        "follow-ups, and goes through the WAL with `synchronous=FULL` (each page written twice). The cyclic GC is "
        "off during an import (10% otherwise). For information, not a target: the 1,000,000-row "
        "`bench/data/customers_1m.csv` imported in 28.9 s with a peak RSS of 363 MB (one run, "
        "`/usr/bin/time -v crm --db /tmp/m.db import bench/data/customers_1m.csv --format json`).\n"
    )
    start = text.find("## Import\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text, encoding="utf-8")
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rows", type=int, action="append", help="rows in the workbook (default 100000; repeatable)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md (## Import)")
    ap.add_argument("--floor-once", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.floor_once:
        floor_once(Path(args.floor_once[0]), Path(args.floor_once[1]))
        return 0
    sizes = args.rows or [100_000]
    results = run(sizes, args.repeat)
    print(table(results))
    if args.write_docs:
        cmd = "python bench/bench_import.py " + " ".join(f"--rows {n}" for n in sizes) + f" --repeat {args.repeat}"
        print(f"written to {write_docs(results, cmd)}", file=sys.stderr)
    return 0 if all(r.ok is not False and (r.peak_mb or 0) < TARGET_MB for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
