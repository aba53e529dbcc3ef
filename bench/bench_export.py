"""Export benchmark: ``crm export`` to xlsx and csv against the floors the issue names.

* xlsx -- ours: the installed ``crm --db DB export out.xlsx`` (customers sheet and
  follow-ups sheet, widths, drop-downs, date and text cells, temp file + fsync +
  rename). Floor: a Python subprocess that reads the same rows with one sqlite3
  query per sheet (raw values: canonical keys, ISO date strings) and writes them,
  a header row first, to two sheets with openpyxl's write-only mode, nothing else.
* csv -- ours: ``crm --db DB export out.csv``. Floor: a Python subprocess that
  reads the same customer rows with one sqlite3 query and hands them to a bare
  ``csv.writer`` (UTF-8 with BOM, like ours).

Both sides are subprocesses, so both pay interpreter start-up; ours also pays for
importing typer / SQLAlchemy / sqlmodel and opening the database the way every
``crm`` command does. Both read the same SQL (the same columns, the same
next-follow-up expression and tag subquery, archived customers left out, the same
order). Times are the best of the repeats; wall-clock is what the issue's targets
are about, CPU (user + sys of the child) is printed beside it because this
machine is shared and wall-clock is noisy.

The database is built by ``bench/builddb.py`` (N customers, N follow-ups) and kept
in ``bench/data`` between runs.

    python bench/bench_export.py [--sizes 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import DATA, Result, crm_cmd, python_cmd  # noqa: E402

TARGETS = {"xlsx": 1.3, "csv": 2.0}

# The rows our export reads, as raw values (what "plain values" means for the floors).
CUSTOMER_SQL = """
SELECT code, name, contact, title, phone, email, industry, source, level, stage, owner, need,
  (SELECT group_concat(name, ';') FROM
     (SELECT tag.name AS name FROM tag WHERE tag.customer_id = customer.id ORDER BY tag.name)),
  notes, amount, created_at, last_follow_at,
  COALESCE(customer.next_date,
           date(customer.last_follow_at, '+' || (CASE customer.level WHEN 'key' THEN 7
                WHEN 'potential' THEN 30 ELSE 14 END) || ' days'),
           customer.created_at)
FROM customer WHERE customer.archived = 0 ORDER BY customer.created_at, customer.id
"""
FOLLOW_UP_SQL = """
SELECT customer.code, customer.name, follow_up.date, follow_up.method, follow_up.content, follow_up.feedback,
  follow_up."by", follow_up.next_date, follow_up.next_plan
FROM follow_up JOIN customer ON follow_up.customer_id = customer.id
WHERE customer.archived = 0 ORDER BY customer.created_at, customer.id, follow_up.date, follow_up.id
"""

FLOOR_XLSX = f"""
import sqlite3, sys
from openpyxl import Workbook
con = sqlite3.connect(sys.argv[1])
wb = Workbook(write_only=True)
ws = wb.create_sheet("customers")
ws.append(["h%d" % i for i in range(18)])
for row in con.execute({CUSTOMER_SQL!r}):
    ws.append(row)
ws = wb.create_sheet("follow_ups")
ws.append(["h%d" % i for i in range(9)])
for row in con.execute({FOLLOW_UP_SQL!r}):
    ws.append(row)
wb.save(sys.argv[2])
"""

FLOOR_CSV = f"""
import csv, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w", newline="", encoding="utf-8-sig") as fh:
    writer = csv.writer(fh)
    writer.writerow(["h%d" % i for i in range(18)])
    writer.writerows(con.execute({CUSTOMER_SQL!r}))
"""


def database(customers: int) -> Path:
    """The benchmark database of ``customers`` customers and as many follow-ups (built once)."""
    path = DATA / f"export_{customers}.db"
    if not path.exists():
        from bench.builddb import build

        build(path, customers, customers)
    return path


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one run of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv[:3])} ... failed: {err[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def run(sizes: list[int] | None = None, repeat: int = 3, formats: tuple[str, ...] = ("xlsx", "csv")) -> list[Result]:
    results: list[Result] = []
    env = {"CRM_LANG": "zh", "CRM_CONFIG": os.devnull}
    for n in sizes or [100_000]:
        db = database(n)
        with tempfile.TemporaryDirectory(prefix="crm-bench-export-") as tmp:
            for fmt in formats:
                out_ours, out_floor = Path(tmp) / f"ours.{fmt}", Path(tmp) / f"floor.{fmt}"
                floor_code = FLOOR_XLSX if fmt == "xlsx" else FLOOR_CSV
                # Interleave ours and the floor so that load on the machine hits both alike.
                o_wall, o_cpu, f_wall, f_cpu, peak = [], [], [], [], 0.0
                for _ in range(repeat):
                    w, c, rss = _run(crm_cmd("--db", str(db), "export", str(out_ours)), env)
                    o_wall.append(w)
                    o_cpu.append(c)
                    peak = max(peak, rss)
                    w, c, _ = _run([*python_cmd(floor_code), str(db), str(out_floor)])
                    f_wall.append(w)
                    f_cpu.append(c)
                cpu_ratio = min(o_cpu) / min(f_cpu)
                results.append(
                    Result(
                        operation=f"export {fmt}",
                        size=f"{n:,} customers" + (f" + {n:,} follow-ups" if fmt == "xlsx" else ""),
                        ours=min(o_wall),
                        floor=min(f_wall),
                        peak_mb=peak,
                        target=TARGETS[fmt],
                        note=f"CPU {min(o_cpu):.2f} s vs {min(f_cpu):.2f} s = {cpu_ratio:.2f}x",
                    )
                )
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| operation | size | ours (s) | floor (s) | ratio | target | peak MB | CPU (user+sys) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ok = "" if r.ok is None else (" ✓" if r.ok else " ✗")
        lines.append(
            f"| {r.operation} | {r.size} | {r.ours:.2f} | {r.floor:.2f} | {r.ratio:.2f}x{ok} | "
            f"≤ {r.target}x | {r.peak_mb:.0f} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", nargs="+", choices=("xlsx", "csv"), default=["xlsx", "csv"])
    args = ap.parse_args(argv)
    results = run(args.sizes, args.repeat, tuple(args.formats))
    print(table(results))
    return 0 if all(r.ok is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
