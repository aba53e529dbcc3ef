"""Benchmark: team mode on PostgreSQL (spec §16, issue 21), on a throwaway server of its own.

On the database of the largest size (100k customers, 1M follow-ups by default), moved into a team
database with ``crm db copy`` (owners mapped to logins: one rep login per owner, an admin):

* ``crm list --due`` and ``crm report funnel`` as a rep (row-level security: their customers and
  the pool's) against the same command as the admin; target 1.5x.
* the admin's command against the same command on SQLite (a copy of the file with the owners
  renamed to the logins, so that both must write the same bytes: checked); target 1.5x.
* ``crm import FILE.csv`` (the seed-000 file of bench_import, one customer and one follow-up per
  row) into an empty team database as the admin, against its floor: python's csv module reads
  the file and psycopg ``COPY``s the same cells into copies of the real customer and follow-up
  tables (every column, index, unique and foreign key) without row-level security; 2x.
* ``crm db copy`` of the file into an empty team database (after ``team init`` and the users)
  against ``pg_restore`` of a ``pg_dump -Fc`` of what it made, into an empty database; 1.5x.

Every row is judged on **wall** time: the work of a PostgreSQL command is in the server, which
a client's CPU time does not see. Both sides are fresh processes run in pairs (medians). The
server is started by ``bench/pg_server.py`` (the tests' own), with ``fsync=off``; without
PostgreSQL's binaries the benchmark prints why and returns no rows.

    python bench/bench_team.py [--sizes 10k,100k] [--only copy]

``--only copy`` times only the ``crm db copy`` row (the other rows need its database, not its
timing: it is what one tunes ``db copy`` against, in a third of the time).
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import pg_server  # noqa: E402
from bench.common import DATA, Result, compile_sources, crm_cmd, database, interleave, label, python_cmd, repeat, result  # noqa: E402

REP_TARGET = 1.5
SQLITE_TARGET = 1.5
IMPORT_TARGET = 2.0
COPY_TARGET = 1.5
ADMIN = "boss"
TEMPLATE = "team_template"

# The import's floor: the csv module reads the file; the same cells as bench_import's floor puts
# into customer and follow_up (bench/floors.py) are COPYed into tables of the real definitions
# (schema ``floor``: every column, index, unique and foreign key of public.customer and
# public.follow_up, made by ``_FLOOR_TABLES``) without row-level security, so the ratio measures
# the policies and our code, not missing indexes.
_FLOOR_IMPORT = """
import csv, sys, psycopg
from bench_floor_cells import CUSTOMER_CELLS, FOLLOW_UP_CELLS
CUSTOMER = ("code, name, name_key, phone, phone_key, contact, title, email, industry, source, stage, owner, need,"
            " created_at, last_follow_at, last_method, next_plan")
with open(sys.argv[1], encoding='utf-8-sig', newline='') as fh:
    rows = list(csv.reader(fh))[1:]
with psycopg.connect(sys.argv[2]) as con, con.cursor() as cur:
    with cur.copy(f"COPY floor.customer ({CUSTOMER}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row([r[i] or None for i in CUSTOMER_CELLS])
    with cur.copy('COPY floor.follow_up (customer_id, date, method, content, feedback, "by", next_plan) FROM STDIN') as cp:
        for n, r in enumerate(rows, 1):
            cp.write_row([n, *(r[i] or None for i in FOLLOW_UP_CELLS)])
"""

# The floor's tables: public.customer and public.follow_up as they are (LIKE ... INCLUDING ALL:
# columns, defaults, NOT NULLs, checks, the primary keys, unique constraints and indexes), with
# their foreign keys re-pointed at the floor's customer, and no row-level security.
_FLOOR_TABLES = [
    "CREATE SCHEMA floor",
    "CREATE TABLE floor.customer (LIKE public.customer INCLUDING ALL)",
    "CREATE TABLE floor.follow_up (LIKE public.follow_up INCLUDING ALL)",
    """DO $$ DECLARE c record; BEGIN
         FOR c IN SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
                  WHERE contype = 'f' AND conrelid IN ('public.customer'::regclass, 'public.follow_up'::regclass) LOOP
           EXECUTE format('ALTER TABLE floor.%s ADD %s', c.t, replace(c.def, 'REFERENCES customer(', 'REFERENCES floor.customer('));
         END LOOP;
       END $$""",
    "GRANT USAGE ON SCHEMA floor TO PUBLIC",
]


class Team:
    """The server, its databases and logins."""

    def __init__(self, server: Any, owners: list[str]) -> None:
        self.server = server
        self.logins = {name: f"rep{i}" for i, name in enumerate(owners)}

    def url(self, db: str, login: str) -> str:
        return str(self.server.url(db, login))

    def sql(self, db: str, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.server.libpq(db), autocommit=True) as con:
            for s in statements:
                con.execute(s)

    def fresh(self, name: str, template: str | None = TEMPLATE) -> None:
        """Database ``name`` anew: a copy of the team template, or empty (template0)."""
        with self.server.admin() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            con.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template or "template0"}"')

    def make_template(self) -> None:
        """An empty team database (``team init``, the admin and one rep per owner) to copy from."""
        from crmcli.services import team
        from crmcli.store import dispose_all, open_store

        self.fresh(TEMPLATE, None)
        store = open_store(self.url(TEMPLATE, self.server.superuser))
        store.init()
        with store.write(log=False) as conn:
            team.init(conn)
            team.add_user(conn, ADMIN, name="老板", role="admin", team=None)
            for name, login in self.logins.items():
                team.add_user(conn, login, name=name, role="rep", team="销售部")
        dispose_all()
        self.sql(TEMPLATE, *_FLOOR_TABLES)


def _owners(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT owner, count(*) FROM (SELECT owner FROM customer UNION ALL SELECT owner FROM deal) "
            "WHERE owner IS NOT NULL GROUP BY owner ORDER BY 2 DESC, 1"
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _renamed(base: Path, logins: dict[str, str]) -> Path:
    """A copy of ``base`` with each owner renamed to its login: on SQLite, the team database's twin."""
    path = base.with_name(base.stem + "_logins.db")
    tmp = path.with_name(path.name + ".building")
    shutil.copyfile(base, tmp)
    con = sqlite3.connect(tmp)
    try:
        for table in ("customer", "deal"):
            con.executemany(f"UPDATE {table} SET owner = ? WHERE owner = ?", [(login, name) for name, login in logins.items()])
        con.commit()
    finally:
        con.close()
    tmp.replace(path)
    return path


def _copy(t: Team, base: Path, size: str, n: int, dump: Path) -> list[Result]:
    owners = [f"--owner={name}={login}" for name, login in t.logins.items()]
    ours = crm_cmd("db", "copy", "--from", str(base), "--to", t.url("copy_ours", ADMIN), *owners)
    s = t.server
    floor = [pg_server.find_bin("pg_restore") or "pg_restore", "-h", str(s.sock), "-p", str(s.port), "-U", s.superuser,
             "-d", "copy_floor", str(dump)]  # fmt: skip

    def setup(i: int) -> None:
        t.fresh("copy_ours") if i == 0 else t.fresh("copy_floor", None)

    # one copy, untimed, to dump: the floor restores what ours made
    setup(0)
    interleave([ours], 1, check_stdout=False)
    dumper = pg_server.find_bin("pg_dump") or "pg_dump"
    interleave([[dumper, "-h", str(s.sock), "-p", str(s.port), "-U", s.superuser, "-Fc", "-f", str(dump), "copy_ours"]], 1,
               check_stdout=False)  # fmt: skip
    sides = interleave([ours, floor], repeat(3), setup=setup, check_stdout=False)
    return [result(
        "crm db copy", size, *sides, target=COPY_TARGET, n=n, basis="wall", same_bytes=None,
        floor_desc="pg_restore (one job) of a pg_dump -Fc of the database db copy made, into an empty database",
        note="the file's every table, owners mapped to 36 logins, counts verified",
    )]  # fmt: skip


def _queries(t: Team, twin: Path, size: str, n: int) -> list[Result]:
    rep = next(iter(t.logins.values()))
    t.sql("copy_ours", "VACUUM ANALYZE")  # what autovacuum does after a bulk load, done now
    out = []
    for what, args in (("crm list --due", ["list", "--due"]), ("crm report funnel", ["report", "funnel"])):
        cmds = [
            crm_cmd("--db", t.url("copy_ours", rep), *args),
            crm_cmd("--db", t.url("copy_ours", ADMIN), *args),
            crm_cmd("--db", str(twin), *args),
        ]
        rep_side, admin_side, lite_side = interleave(cmds, repeat(5))
        out.append(result(
            f"{what} (rep vs admin)", size, rep_side, admin_side, target=REP_TARGET, n=n, basis="wall", same_bytes=False,
            floor_desc="the same command as the team admin (who sees every customer)",
            note=f"rep {rep}: their customers and the pool's",
        ))  # fmt: skip
        out.append(result(
            f"{what} (admin: PostgreSQL vs SQLite)", size, admin_side, lite_side, target=SQLITE_TARGET, n=n, basis="wall",
            floor_desc="the same command on the SQLite file (owners renamed to the logins: the same bytes out)",
        ))  # fmt: skip
    return out


def _import(t: Team, rows: int) -> list[Result]:
    from bench import floors
    from bench.bench_import import data_file

    path = data_file(rows, "csv")
    cells = DATA / "bench_floor_cells.py"
    cells.write_text(f"CUSTOMER_CELLS = {floors.CUSTOMER_CELLS!r}\nFOLLOW_UP_CELLS = {floors.FOLLOW_UP_CELLS!r}\n", encoding="utf-8")
    ours = crm_cmd("--db", t.url("import_ours", ADMIN), "import", str(path), "--format", "json")
    floor = [*python_cmd(_FLOOR_IMPORT), str(path), t.server.libpq("import_floor")]
    sides = interleave([ours, floor], repeat(3), setup=lambda i: t.fresh(("import_ours", "import_floor")[i]),
                       check_stdout=False, env={"PYTHONPATH": str(DATA)})  # fmt: skip
    return [result(
        "crm import FILE.csv (PostgreSQL)", f"{rows:,} rows", *sides, target=IMPORT_TARGET, n=rows, basis="wall",
        same_bytes=None, note="as the team admin, into an empty team database",
        floor_desc="the csv module reads the file; psycopg COPYs the customer and follow-up cells into copies of the "
        "real tables (their columns, 10 indexes, keys and the follow-ups' foreign key) without row-level security "
        "(no parsing, checking, duplicate detection, policies or undo log)",
    )]  # fmt: skip


def run(sizes: list[int], only: str | None = None) -> list[Result]:
    """Everything at the largest size (customers; 10 follow-ups each; import rows); with
    ``only="copy"`` the ``crm db copy`` row alone."""
    reason = pg_server.why_not()
    if reason:
        sys.stderr.write(f"bench_team: skipped: {reason}\n")
        return []
    n = max(sizes or [100_000])
    compile_sources()
    base = database(n)
    owners = _owners(base)
    server = pg_server.Server()
    server.start()
    try:
        t = Team(server, owners)
        t.make_template()
        twin = _renamed(base, t.logins) if only != "copy" else base
        size = f"{label(n)} cust / {label(10 * n)} fu"
        dump = DATA / f"team_{n}.dump"
        out = _copy(t, base, size, n, dump)
        if only != "copy":
            out += _queries(t, twin, size, n)
            out += _import(t, n)
        dump.unlink(missing_ok=True)
        return out
    finally:
        from crmcli.store import dispose_all

        dispose_all()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import functools

    from bench.run import standalone

    # --only here; the rest (--sizes, --help) is standalone's, as for every benchmark
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--only", choices=["copy"])
    args, rest = ap.parse_known_args(sys.argv[1:] if argv is None else argv)
    return standalone(functools.partial(run, only=args.only), __doc__, rest, sizes=[100_000])


if __name__ == "__main__":
    sys.exit(main())
