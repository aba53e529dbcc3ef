"""Benchmark: the reading commands on big databases against floors that do the least work.

For each size (N customers, 10 follow-ups each; databases from bench/builddb.py, built once
into bench/data/ and reused):

* ``crm list --due`` (the default table), ``list --due --format json``, ``list --format json``,
  ``list --format csv`` and every ``crm report KIND`` (its default table) but products and
  service (see REPORTS): target 1.3x;
* ``crm show CODE`` (the customer with the longest timeline) and ``crm show PART`` (a unique
  part of its name: the one form of REF that scans): target 2x, the floor counting
  ``import typer`` as the issue does for show;
* ``crm list --where sales_zone=华东 --format json`` on a copy of the 100k database with a custom
  choice field ``sales_zone`` (销售大区) set for 60% of the customers (30% 华东): target 1.3x (issue
  14: filtering by a custom field; ``region`` is a built-in field since migration 0007);
* the peak RSS of ``list --format json`` at each size against the smallest: target 1.5x.

Every floor is a fresh ``python -c`` process that imports sqlite3 (nothing of ours), replays the
SQL our command ran (captured from the command itself, ``bench/floors.py``) and writes the same
bytes -- checked -- except for the tables, where it writes a plain join of the columns shown.

    python bench/bench_queries.py [--sizes 10k,100k] [--repeat 5]
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import floors  # noqa: E402
from bench.common import (  # noqa: E402
    ENV,
    Result,
    building,
    compile_sources,
    crm_cmd,
    database,
    interleave,
    label,
    python_cmd,
    repeat,
    result,
    size_label,
)

from crmcli.cli.customer_views import DUE_TABLE_KEYS  # noqa: E402  (the columns the due table shows)

REPEAT = 5
TARGET = 1.3
SHOW_TARGET = 2.0
MEMORY_TARGET = 1.5
# Every report the benchmark databases hold data for: they have won deals (pipeline) but no deal
# lines (products) and no tickets (service: bench_dupes times it on 100k tickets, in-process).
REPORTS = ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts", "pipeline")
WHERE_SIZE = 100_000
TARGET_FROM = 100_000  # the issue sets the 1.3x targets at 100k and 1M customers; smaller sizes are for the growth
ZONES = ("华东", "华东", "华东", "华南", "华南", "华北")  # by id % 10: 30%, 20%, 10%, 40% without a value


@dataclass
class Op:
    name: str
    args: list[str]  # after --db DB
    kind: str  # table | json | due_json | csv | verbatim
    target: float
    typer: bool = False  # the floor imports typer too (the show floor)


def busiest(path: Path) -> tuple[str, str | None, int]:
    """The code of the customer with the most follow-ups, a unique part of its name, its follow-ups."""
    from crmcli import normalize

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cid, n = con.execute(
            "SELECT customer_id, count(*) AS n FROM follow_up GROUP BY customer_id ORDER BY n DESC, customer_id LIMIT 1"
        ).fetchone()
        code, name = con.execute("SELECT code, name FROM customer WHERE id = ?", (cid,)).fetchone()
        for cut in range(2, max(3, len(name) - 3)):
            key = normalize.name_key(name[:-cut])
            pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            if con.execute("SELECT count(*) FROM customer WHERE name_key LIKE ? ESCAPE '\\'", (pattern,)).fetchone()[0] == 1:
                return code, name[:-cut], n
        return code, None, n
    finally:
        con.close()


def sales_zone_database(base: Path) -> Path:
    """A copy of ``base`` with the custom field sales_zone (销售大区, choice 华东/华南/华北) made by
    ``crm field add`` and values set for 60% of the customers with SQL; built once."""
    path = base.with_name(base.stem + "_sales_zone.db")
    with building(path):
        if not (path.exists() and path.stat().st_mtime >= base.stat().st_mtime):
            _sales_zone_database(base, path)
    return path


def _sales_zone_database(base: Path, path: Path) -> None:
    tmp = path.with_name(path.name + ".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    shutil.copyfile(base, tmp)
    tmp.chmod(0o600)
    subprocess.run(
        crm_cmd("--db", str(tmp), "field", "add", "sales_zone", "--label", "销售大区", "--type", "choice", "--choices", "华东,华南,华北"),
        check=True, capture_output=True, env={**os.environ, **ENV},
    )  # fmt: skip
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("BEGIN")
        cases = " ".join(f"WHEN {i} THEN '{r}'" for i, r in enumerate(ZONES))
        con.execute(
            f"INSERT INTO custom_value (customer_id, field_key, value) SELECT id, 'sales_zone', CASE id % 10 {cases} END "
            f"FROM customer WHERE id % 10 < {len(ZONES)}"
        )
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    tmp.replace(path)


def operations(code: str, part: str | None) -> list[Op]:
    ops = [
        Op("crm list --due", ["list", "--due"], "table", TARGET),
        Op("crm list --due --format json", ["list", "--due", "--format", "json"], "due_json", TARGET),
        Op("crm list --format json", ["list", "--format", "json"], "json", TARGET),
        Op("crm list --format csv", ["list", "--format", "csv"], "csv", TARGET),
        *(Op(f"crm report {k}", ["report", k], "verbatim", TARGET) for k in REPORTS),
        Op("crm show CODE", ["show", code], "verbatim", SHOW_TARGET, typer=True),
    ]
    if part:
        ops.append(Op("crm show PART-OF-NAME", ["show", part], "verbatim", SHOW_TARGET, typer=True))
    return ops


def floor_for(op: Op, db: Path, calls: list[floors.Call], out: Path) -> tuple[str, str, bool]:
    """(floor program, its description, whether it claims our bytes)."""
    n = f"the same {len(calls)} SQL statement{'s' if len(calls) != 1 else ''}"
    head = "import typer, sqlite3" if op.typer else "import sqlite3"
    if op.kind == "table":
        return (
            floors.plain_join(db, calls, DUE_TABLE_KEYS, typer=op.typer),
            f"{head}; {n}; the {len(DUE_TABLE_KEYS)} shown columns joined with spaces, a line a row "
            "(a plain join: not our bytes, no labels or padding)",
            False,
        )
    if op.kind in ("json", "due_json"):
        empty = b"" if op.kind == "due_json" else b"[]\n"
        return floors.json_array(db, calls, empty=empty), f"{head}; {n}; the JSON objects the database built, joined as ours", True
    if op.kind == "csv":
        return (
            floors.csv_rows(db, calls),
            f"{head}, csv; {n}; csv.writer with our three value conversions (tags, archived, whole amounts)",
            True,
        )
    data = out.read_bytes()
    return floors.const(db, calls, data, typer=op.typer), f"{head}; {n}, rows fetched; our output ({len(data):,} B) written", True


def measure(ops: list[Op], db: Path, size: str, n: int, pairs: int) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-queries-") as tmp:
        outs = [Path(tmp) / f"out{i}.txt" for i in range(len(ops))]
        captured = floors.capture([(["--db", str(db), *op.args], out) for op, out in zip(ops, outs, strict=True)])
        for op, calls, out in zip(ops, captured, outs, strict=True):
            code, desc, same = floor_for(op, db, calls, out)
            sys.stderr.write(f"bench: {op.name} ({size}) ...\n")
            ours, floor = interleave([crm_cmd("--db", str(db), *op.args), python_cmd(code)], pairs)
            target = op.target if op.typer or n >= TARGET_FROM else None  # show's target holds at every size
            note = "" if target is not None else "no target below 100k customers (the issue's 1.3x is at 100k and 1M)"
            results.append(
                result(op.name, size, ours, floor, target=target, floor_desc=desc, n=n, same_bytes=same, note=note)
            )
            if op.name == TYPER_AGAINST:
                results.append(typer_alone(code, size, n, pairs))
    return results


TYPER_AGAINST = "crm report pipeline"  # the report with the shortest query: the smallest floor


def typer_alone(floor_code: str, size: str, n: int, pairs: int) -> Result:
    """``python -c 'import typer'`` -- a command that does nothing but load its CLI library --
    against the floor of the report with the shortest query. Above the reports' 1.3, no command
    built on typer (a dependency the project chose) can meet that report's target, however
    little else it does. Information, no target."""
    ours, floor = interleave([python_cmd("import typer"), python_cmd(floor_code)], pairs, check_stdout=False)
    return result(
        "import typer alone vs the report's floor", size, ours, floor, target=None, n=n, same_bytes=None,
        floor_desc=f"the floor of {TYPER_AGAINST} (above)",
        note=f"python -c 'import typer', nothing else, against {TYPER_AGAINST}'s floor: the start-up every crm command pays",
    )


def memory_rows(results: list[Result]) -> list[Result]:
    """Peak RSS of ``list --format json`` at each size against the smallest size's."""
    rows = sorted((r for r in results if r.operation == "crm list --format json" and r.n), key=lambda r: r.n or 0)
    if len(rows) < 2:
        return []
    base = rows[0]
    return [
        Result(
            operation="peak RSS of crm list --format json",
            size=f"{label(r.n or 0)} vs {label(base.n or 0)}",
            ours=r.peak_mb or 0.0,
            floor=base.peak_mb or 0.0,
            unit="MB",
            target=MEMORY_TARGET,
            floor_desc=f"the same command's peak RSS at {label(base.n or 0)} customers",
            note="memory stays flat: rows are streamed",
        )
        for r in rows[1:]
    ]


def run(sizes: list[int] | None = None) -> list[Result]:
    compile_sources()
    sizes = sorted(set(sizes or [100_000]))
    pairs = repeat(REPEAT)
    results: list[Result] = []
    for n in sizes:
        db = database(n)
        code, part, _ = busiest(db)
        results += measure(operations(code, part), db, size_label(n, n * 10), n, pairs)
    where_n = WHERE_SIZE if WHERE_SIZE in sizes else min(sizes)
    where_db = sales_zone_database(database(where_n))
    op = Op("crm list --where sales_zone=华东 --format json", ["list", "--where", "sales_zone=华东", "--format", "json"], "json", TARGET)
    results += measure([op], where_db, size_label(where_n, where_n * 10) + ", 60% with a sales zone", where_n, pairs)
    return results + memory_rows(results)


def main(argv: list[str] | None = None) -> int:
    from bench.run import standalone

    return standalone(run, __doc__, argv, sizes=[100_000], repeat=REPEAT)


if __name__ == "__main__":
    sys.exit(main())

