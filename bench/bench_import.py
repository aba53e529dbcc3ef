"""Import benchmark: ``crm import`` of a seed-000 file against the bare libraries, judged on CPU.

At each size N (rows of the generated file; bench/generate.py, seed-000 template, 19 columns,
one customer and one follow-up per row), every run starting from a copy of an empty database
at the current schema (``crm init``, copied before each run, outside the timing):

* xlsx (N <= 100k): ours ``crm --db COPY import FILE.xlsx --format json``; floor: python-calamine
  reads the first sheet and the rows go into ``customer`` and ``follow_up`` of the same schema
  with one ``executemany`` each, in one transaction. Target: CPU within 2x.
* csv: the same with the csv module reading the file. Target: CPU within 3x.
* csv against pandas (when installed): ``pandas.read_csv`` + ``DataFrame.to_sql`` of the same
  file into a new table; at 1M rows ours must be faster (wall time: the issue's "faster than
  pandas"), below that a comparison with no target. pandas is not a dependency of crmcli:
  ``pip install pandas`` into the environment to get this row.
* SQLite alone against pandas (with it): the rows our import stored, copied by SQLite itself
  into an empty database of our schema (``floors.sqlite_transfer``), against the same pandas
  runs: the least any import into our schema pays. Information, no target.

The three csv commands run in turn (ours, csv floor, pandas, ours, ...). The issue's target is
on CPU (user + sys): ours reads the workbook in one thread while another writes. Wall time is
printed beside it.

    python bench/bench_import.py [--sizes 10k,100k] [--repeat 3]
"""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import floors  # noqa: E402
from bench.common import (  # noqa: E402
    DATA,
    Result,
    Side,
    building,
    crm_cmd,
    each_size,
    empty_database,
    interleave,
    label,
    python_cmd,
    result,
    without_log_triggers,
)

REPEAT = 3
XLSX_TARGET = 2.0
CSV_TARGET = 3.0
XLSX_MAX = 100_000  # a 1M-row workbook takes minutes to write and calamine holds the sheet in memory
PEAK_LIMIT_MB = 400
TARGET_FROM = 100_000  # the targets are for the 100k-row file; smaller files are start-up dominated
PANDAS_TARGET, PANDAS_FROM = 1.0, 1_000_000  # "a 1M-row CSV import faster than pandas read_csv + to_sql"


def data_file(n: int, ext: str) -> Path:
    """DATA/customers_<n>.<ext> (seed-000 template, seed 1), generated once."""
    path = DATA / f"customers_{label(n).lower()}.{ext}"
    with building(path):
        if not path.exists():
            from bench.generate import write_csv, write_xlsx

            sys.stderr.write(f"bench: generating {path} ({n:,} rows) ...\n")
            tmp = path.with_name(f"{path.stem}.building.{ext}")
            (write_xlsx if ext == "xlsx" else write_csv)(tmp, n, seed=1)
            tmp.replace(path)
    return path


def _count(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customer", "follow_up"))  # type: ignore[return-value]
    finally:
        con.close()


def _fresh(path: Path, template: Path | None) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if template is not None:
        shutil.copyfile(template, path)
        path.chmod(0o600)


def _note(ours: Side, counts: dict[str, tuple[int, int]], n: int) -> str:
    wrong = [f"{who} holds {c[0]:,} customers / {c[1]:,} follow-ups" for who, c in counts.items() if c != (n, n)]
    peak = f"peak RSS {'<' if ours.rss < PEAK_LIMIT_MB else 'OVER'} {PEAK_LIMIT_MB} MB"
    return "; ".join([*wrong, peak]) if wrong else f"{n:,} customers + {n:,} follow-ups written by both; {peak}"


def bench_size(n: int, pairs: int, tmp: Path) -> list[Result]:
    empty = empty_database()
    plain = without_log_triggers(empty)  # the floors' empty schema
    ours_db, floor_db, pandas_db = tmp / "ours.db", tmp / "floor.db", tmp / "pandas.db"
    results: list[Result] = []
    size = f"{n:,} rows"
    if n <= XLSX_MAX:
        path = data_file(n, "xlsx")
        dbs = (ours_db, floor_db)
        sides = interleave(
            [crm_cmd("--db", str(ours_db), "import", str(path), "--format", "json"),
             [*python_cmd(floors.import_xlsx()), str(path), str(floor_db)]],
            pairs, setup=lambda i: _fresh(dbs[i], plain if i else empty), check_stdout=False,
        )  # fmt: skip
        results.append(
            result(
                "crm import FILE.xlsx", size, *sides, target=XLSX_TARGET if n >= TARGET_FROM else None, n=n,
                basis="cpu", same_bytes=None,
                note=_note(sides[0], {"ours": _count(ours_db), "floor": _count(floor_db)}, n),
                floor_desc="python-calamine reads the sheet (to_python); the rows go into customer and follow_up "
                "of the same empty schema (without the change log's triggers), one executemany each, one transaction (no normalising, checking, "
                "duplicate detection or undo log)",
            )
        )  # fmt: skip
    else:
        results.append(
            Result(operation="crm import FILE.xlsx", size=size, ours=0.0, floor=0.0, floor_desc="",
                   note=f"not run above {XLSX_MAX:,} rows: writing the workbook takes bench/generate.py many "
                   "minutes, and calamine holds a whole sheet in memory")
        )  # fmt: skip
    path = data_file(n, "csv")
    with_pandas = importlib.util.find_spec("pandas") is not None
    commands = [
        crm_cmd("--db", str(ours_db), "import", str(path), "--format", "json"),
        [*python_cmd(floors.import_csv()), str(path), str(floor_db)],
    ]
    if with_pandas:
        commands.append([*python_cmd(floors.import_pandas()), str(path), str(pandas_db)])
    dbs = (ours_db, floor_db, pandas_db)
    sides = interleave(commands, pairs, setup=lambda i: _fresh(dbs[i], (empty, plain, None)[i]), check_stdout=False)
    results.append(
        result(
            "crm import FILE.csv", size, sides[0], sides[1], target=CSV_TARGET if n >= TARGET_FROM else None, n=n,
            basis="cpu", same_bytes=None,
            note=_note(sides[0], {"ours": _count(ours_db), "floor": _count(floor_db)}, n),
            floor_desc="the csv module reads the file; the rows go into customer and follow_up of the same empty "
            "schema (without the change log's triggers), one executemany each, one transaction",
        )
    )  # fmt: skip
    pandas_op = "crm import FILE.csv vs pandas"
    pandas_desc = "pandas.read_csv of the same file + DataFrame.to_sql into a new table of a new file (its own schema, no index)"
    if with_pandas:
        results.append(
            result(pandas_op, size, sides[0], sides[2], target=PANDAS_TARGET if n >= PANDAS_FROM else None, n=n,
                   basis="wall", same_bytes=None, floor_desc=pandas_desc,
                   note="faster than pandas (wall)" if n >= PANDAS_FROM else "comparison; the issue's target is at 1M rows")
        )  # fmt: skip
        results.append(_sqlite_alone(ours_db, sides[2], size, n, pairs, tmp, empty))
    else:
        results.append(
            Result(operation=pandas_op, size=size, ours=sides[0].cpu, floor=0.0, n=n, floor_desc=pandas_desc,
                   note="pandas not installed (pip install pandas to compare; not a dependency of crmcli)")
        )  # fmt: skip
    return results


def _sqlite_alone(imported: Path, pandas: Side, size: str, n: int, pairs: int, tmp: Path, empty: Path) -> Result:
    """How near pandas any import into our schema can come: SQLite alone storing the rows our
    import stored (``floors.sqlite_transfer``: no Python per row, no file read), against pandas.
    Above 1, no reader, however fast, makes an import into this schema beat pandas."""
    source, dest = tmp / "imported.db", tmp / "transfer.db"
    _fresh(source, None)
    shutil.copyfile(imported, source)  # the last run of ours: every row of the file, as stored
    (side,) = interleave([[*python_cmd(floors.sqlite_transfer()), str(source), str(dest)]], pairs,
                         setup=lambda _i: _fresh(dest, empty), check_stdout=False)  # fmt: skip
    if _count(dest) != _count(source):
        raise RuntimeError(f"bench: the SQLite transfer stored {_count(dest)} rows of {_count(source)}")
    return result(
        "SQLite alone vs pandas", size, side, pandas, target=None, n=n, basis="wall", same_bytes=None,
        floor_desc="pandas.read_csv + DataFrame.to_sql, as the row above",
        note="the rows our import stored, copied by INSERT ... SELECT into an empty file of our schema (no Python "
        "per row; triggers and unread indexes dropped, built at the end): the least any import into it pays",
    )


def run(sizes: list[int] | None = None) -> list[Result]:
    return each_size("import", bench_size, sizes, REPEAT)


def main(argv: list[str] | None = None) -> int:
    from bench.run import standalone

    return standalone(run, __doc__, argv, sizes=[100_000], repeat=REPEAT, what="rows")


if __name__ == "__main__":
    sys.exit(main())
