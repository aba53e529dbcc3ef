"""Benchmark: what the change log (spec §18) costs, and ``crm history`` on a million change sets.

* ``crm add`` / ``follow`` / ``stage`` with the change log against the same command with it
  switched off (``changelog.begin`` / ``end`` replaced by no-ops in the launcher, and the file
  without the log's triggers, which its schema holds since 0008; nothing else changed): each run
  starts from a fresh copy of a database of the smallest size (10k in a full run); target 1.1x.
* an xlsx import of the largest size (100k rows) with the log against the same import without
  it; target 1.1x. (An import logs what undo needs: its batch, and the before-image of a row it
  updates; a row it creates is not copied.)
* ``crm history --format json`` and ``crm history CODE --format json`` on a database of ten
  change sets per customer of the largest size (1,000,000 at 100k; three changes each) against
  python + sqlite3 (and ``import typer``, as for show) running the same two SELECTs and writing
  the same rows as JSON lines; 1.2x.

Both sides of every row are fresh processes started the same way, run in pairs (A B A B ...);
medians of CPU and wall, peak RSS.

    python bench/bench_history.py [--sizes 10k,100k]
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import DATA, Result, database, interleave, label, python_cmd, repeat, result  # noqa: E402

LOG_TARGET = 1.1
HISTORY_TARGET = 1.2

# The launcher of both sides: `crm ARGS` in-process; with OFF=1 the change log does nothing.
_LAUNCH = """
import sys
off = sys.argv[1] == "off"
sys.argv = ["crm", *sys.argv[2:]]
if off:
    from crmcli.store import changelog
    changelog.begin = lambda *a, **k: 0
    changelog.end = lambda *a, **k: 0
    changelog.install_sql = lambda: []  # a database this run creates gets no triggers
from crmcli.cli import main
sys.exit(main())
"""


def _launch(log: bool, *args: str) -> list[str]:
    return [*python_cmd(_LAUNCH), "on" if log else "off", *args]


def _commands(work: Path, customers: int) -> list[Result]:
    base = database(customers)
    con = sqlite3.connect(base)
    code, name = con.execute("SELECT code, name FROM customer WHERE stage = 'potential' ORDER BY id LIMIT 1").fetchone()
    con.close()

    def fresh(i: int) -> None:
        for suffix in ("-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(base, work)
        if i:  # the side without the log: without its triggers too
            from crmcli.store import changelog

            con = sqlite3.connect(work)
            for sql in changelog.drop_sql():
                con.execute(sql)
            con.commit()
            con.close()

    db = ["--db", str(work)]
    size = f"{label(customers)} customers"
    cases = [
        ("add", ["add", "变更日志测试有限公司", "--phone", "13912345678"]),
        ("follow", ["follow", code, "--content", "电话沟通报价", "--next-date", "+3d"]),
        ("stage", ["stage", code, "intent"]),
    ]
    out = []
    for what, args in cases:
        sides = interleave([_launch(True, *db, *args), _launch(False, *db, *args)], repeat(9), setup=fresh, check_stdout=False)
        out.append(result(
            f"crm {what} (change log on/off)", size, *sides, target=LOG_TARGET, same_bytes=False,
            floor_desc="the same command with changelog.begin/end made no-ops, on the file without the log's triggers", note=f"on {name}" if what != "add" else "",
        ))  # fmt: skip
    return out


def _import(work: Path, rows: int) -> list[Result]:
    from bench.bench_import import data_file

    xlsx = data_file(rows, "xlsx")

    def fresh(_i: int) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)

    args = ["--db", str(work), "import", str(xlsx)]
    sides = interleave([_launch(True, *args), _launch(False, *args)], repeat(3), setup=fresh, check_stdout=False)
    return [result(
        "import xlsx (change log on/off)", f"{rows:,} rows", *sides, target=LOG_TARGET, same_bytes=False,
        floor_desc="the same import with changelog.begin/end made no-ops, into a database made without the log's triggers",
    )]  # fmt: skip


def _history_db(path: Path, customers: int, sets: int) -> str:
    """A database of ``customers`` with ``sets`` change sets of three changes each; a customer's code."""
    base = database(customers)
    con = sqlite3.connect(base)
    try:
        n = con.execute("SELECT count(*) FROM change_set").fetchone()[0]
    finally:
        con.close()
    fresh = path.exists()
    if fresh:
        con = sqlite3.connect(path)
        try:
            fresh = con.execute("SELECT count(*) FROM change_set").fetchone()[0] == sets + n
        except sqlite3.Error:
            fresh = False
        finally:
            con.close()
    if not fresh:
        sys.stderr.write(f"bench: building {path} ({sets:,} change sets) ...\n")
        tmp = path.with_name(path.name + ".building")
        tmp.unlink(missing_ok=True)
        shutil.copyfile(base, tmp)
        con = sqlite3.connect(tmp)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(
            f"""WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {sets})
            INSERT INTO change_set (at, user, command, kind)
            SELECT strftime('%Y-%m-%dT%H:%M:%S+08:00', '2024-01-01', '+' || (i * 60) || ' seconds'),
                   CASE i % 3 WHEN 0 THEN '王磊' WHEN 1 THEN '李娜' ELSE '张伟' END,
                   'crm follow C' || i || ' --content 电话沟通', 'edit' FROM s"""
        )
        con.execute(
            f"""INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id)
            SELECT s.id, t.name, s.id, t.op, t.before,
                   json_object('customer_id', 1 + s.id % {customers}, 'content', '电话沟通', 'date', substr(s.at, 1, 10)),
                   1 + s.id % {customers}
            FROM change_set s
            CROSS JOIN (SELECT 'follow_up' AS name, 'insert' AS op, NULL AS before
                        UNION ALL SELECT 'customer', 'update', '{{"stage": "potential"}}'
                        UNION ALL SELECT 'stage_change', 'insert', NULL) t
            WHERE s.command LIKE 'crm follow C%'"""
        )
        con.commit()
        con.close()
        tmp.replace(path)
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT code FROM customer WHERE id = ?", (1 + customers // 3,)).fetchone()[0]
    finally:
        con.close()


# The floor: the two SELECTs `crm history` runs (services/history.py), their rows as JSON lines; it
# imports typer, as the show rows' floor does (bench/bench_queries.py): a command's own framework.
_FLOOR = """
import json, sqlite3, sys, typer
con = sqlite3.connect(sys.argv[1])
code = sys.argv[2] if len(sys.argv) > 2 else None
where, params = "", {"limit": 20}
if code:
    params["cid"] = con.execute("SELECT id FROM customer WHERE code = ?", (code,)).fetchone()[0]
    where = "WHERE s.id IN (SELECT set_id FROM change WHERE customer_id = :cid)"
sets = con.execute(
    "SELECT s.id, s.at, s.user, s.command, s.kind, s.batch_id, s.undoes, "
    "COALESCE(s.undone_by, CASE WHEN b.undone_at IS NOT NULL THEN 0 END) "
    f"FROM change_set s LEFT JOIN import_batch b ON b.id = s.batch_id {where} ORDER BY s.id DESC LIMIT :limit", params
).fetchall()
ids = [s[0] for s in sets]
rows = con.execute(
    "SELECT c.set_id, c.table_name, c.row_id, c.op, c.before, c.after, c.customer_id, cu.code "
    f"FROM change c LEFT JOIN customer cu ON cu.id = c.customer_id WHERE c.set_id IN ({','.join('?' * len(ids))}) ORDER BY c.id",
    ids,
).fetchall()
w = sys.stdout.write
for s in sets:
    w(json.dumps(s, ensure_ascii=False) + "\\n")
for r in rows:
    w(json.dumps(r, ensure_ascii=False) + "\\n")
"""


def _history(customers: int) -> list[Result]:
    sets = 10 * customers
    path = DATA / f"crm_history_{customers}_{sets}.db"
    code = _history_db(path, customers, sets)
    out = []
    for what, extra in (("crm history", []), ("crm history CODE", [code])):
        ours = _launch(True, "--db", str(path), "history", *extra, "--format", "json")
        floor = python_cmd(_FLOOR) + [str(path), *extra]
        sides = interleave([ours, floor], repeat(7), check_stdout=False)
        out.append(result(
            f"{what} --format json", f"{label(sets)} change sets", *sides, target=HISTORY_TARGET, same_bytes=False,
            floor_desc="python + sqlite3 (+ import typer): the same two SELECTs, rows written as JSON lines",
        ))  # fmt: skip
    return out


def run(sizes: list[int]) -> list[Result]:
    """Commands on the smallest size's database, import and history at the largest."""
    sizes = sorted(set(sizes)) or [10_000, 100_000]
    DATA.mkdir(parents=True, exist_ok=True)
    work = DATA / "history_work.db"
    try:
        return _commands(work, sizes[0]) + _import(work, sizes[-1]) + _history(sizes[-1])
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    from bench.run import standalone

    return standalone(run, __doc__, argv, sizes=[10_000, 100_000])


if __name__ == "__main__":
    sys.exit(main())
