"""Round-trip benchmark (issue 18): ``crm export`` to xlsx and ``crm import`` of that workbook into
an empty database, as one operation, against the sum of the bare libraries' floors.

On the benchmark database of N customers with 3 follow-ups each (bench/builddb.py; its stage
changes and opportunities too):

* ours: ``crm --db DB export out.xlsx && crm --db COPY import out.xlsx --format json`` (every
  sheet written with widths, drop-downs, date and text cells, temp file + fsync + rename; then
  read back, every cell checked and normalised, duplicates looked for, one batch with its undo
  log), COPY a copy of an empty database at the current schema (made outside the timing).
* floor: one Python process: openpyxl's write-only mode writes a header row and the rows of the
  very SQL statements our export ran (captured from the command), a sheet each; python-calamine
  reads every sheet back; the rows go into the same empty schema with one ``executemany`` per
  table, in one transaction (``floors.roundtrip_xlsx``). Target: 1.5x (issue 18).

    python bench/bench_roundtrip.py [--sizes 10k,100k] [--repeat 3]
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import floors  # noqa: E402
from bench.bench_export import _sheets  # noqa: E402
from bench.common import (  # noqa: E402
    Result,
    crm_cmd,
    database,
    each_size,
    empty_database,
    interleave,
    python_cmd,
    result,
    size_label,
    without_log_triggers,
)

REPEAT = 3
TARGET = 1.5
FOLLOW_UPS_PER_CUSTOMER = 3  # the 100k customers with 300k follow-ups
TARGET_FROM = 100_000
XLSX_MAX_ROWS = 1_048_575


def _fresh(path: Path, template: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    path.chmod(0o600)


def _counts(db: Path, *, exported: bool = False) -> tuple[int, ...]:
    """Customers, follow-ups, stage changes, opportunities (``exported``: of the customers an export
    without filters writes, the ones not archived)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    live = " WHERE NOT archived" if exported else ""
    of = " WHERE customer_id IN (SELECT id FROM customer WHERE NOT archived)" if exported else ""
    try:
        return (con.execute(f"SELECT count(*) FROM customer{live}").fetchone()[0],
                *(con.execute(f"SELECT count(*) FROM {t}{of}").fetchone()[0] for t in ("follow_up", "stage_change", "deal")))  # fmt: skip
    finally:
        con.close()


def bench_size(n: int, pairs: int, tmp: Path) -> list[Result]:
    db = database(n, n * FOLLOW_UPS_PER_CUSTOMER)
    size = size_label(n, n * FOLLOW_UPS_PER_CUSTOMER)
    if n * FOLLOW_UPS_PER_CUSTOMER > XLSX_MAX_ROWS:
        return [Result(operation="crm export + import (xlsx)", size=size, ours=0.0, floor=0.0, floor_desc="",
                       note="not run: the follow-ups do not fit in a sheet; ours refuses (exit 1)")]  # fmt: skip
    empty = empty_database()
    book, floor_book = tmp / "ours.xlsx", tmp / "floor.xlsx"
    ours_db, floor_db = tmp / "ours.db", tmp / "floor.db"
    sheets = _sheets()
    calls = floors.capture([(["--db", str(db), "export", str(book)], None)])[0]
    row_calls = [c for c in calls if not c[0].startswith("SELECT count(*)") and "FROM custom_field" not in c[0]]
    row_calls.append(next(c for c in calls if "FROM custom_field" in c[0]))
    tables = ("FROM customer", "FROM follow_up", "FROM stage_change", "FROM deal", "FROM ticket", "FROM custom_field")
    if len(row_calls) != len(sheets) or not all(t in c[0] for t, c in zip(tables, row_calls, strict=True)):
        raise RuntimeError("bench: round trip: the captured row queries are not one per sheet, in order")
    floor = floors.roundtrip_xlsx(db, [(t, h, c) for (t, h), c in zip(sheets, row_calls, strict=True)])
    ours_cmd = ["sh", "-c", '"$0" --db "$1" export "$2" >/dev/null && "$0" --db "$3" import "$2" --format json',
                crm_cmd()[0], str(db), str(book), str(ours_db)]  # fmt: skip

    def setup(i: int) -> None:
        for p in (book, floor_book):
            p.unlink(missing_ok=True)
        _fresh(ours_db if i == 0 else floor_db, empty if i == 0 else without_log_triggers(empty))

    sys.stderr.write(f"bench: export + import xlsx ({size}) ...\n")
    ours, base = interleave([ours_cmd, [*python_cmd(floor), str(floor_book), str(floor_db)]], pairs, setup=setup, check_stdout=False)
    want, got, floor_got = _counts(db, exported=True), _counts(ours_db), _counts(floor_db)
    what = "customers, follow-ups, stage changes, opportunities"
    note = f"{want[0]:,} / {want[1]:,} / {want[2]:,} / {want[3]:,} {what} back in both" if got == want == floor_got else (
        f"COUNTS DIFFER: source {want}, ours {got}, floor {floor_got} ({what})"
    )  # fmt: skip
    return [
        result("crm export + import (xlsx)", size, ours, base, target=TARGET if n >= TARGET_FROM else None, n=n, note=note,
               same_bytes=None, floor_desc="openpyxl write-only writes the rows of the same SQL statements, a sheet each; "
               "python-calamine reads every sheet back; one executemany per table into the same empty schema (without the change log's triggers), one transaction "
               "(no widths, styles, drop-downs, fsync; no checking, normalising, duplicate search or undo log)")
    ]  # fmt: skip


def run(sizes: list[int] | None = None) -> list[Result]:
    return each_size("roundtrip", bench_size, sizes, REPEAT)


def main(argv: list[str] | None = None) -> int:
    from bench.run import standalone

    return standalone(run, __doc__, argv, sizes=[100_000], repeat=REPEAT)


if __name__ == "__main__":
    sys.exit(main())
