"""The store: where the data lives, and everything that depends on which database it is.

Services say what they want (SQLAlchemy Core for writes, plain SQL with ``Dialect`` helpers for
reads); what is particular to SQLite -- the file and its safety, pragmas, ``BEGIN IMMEDIATE``,
busy and disk-full detection by driver error codes, backup/restore/check -- lives in this
package, so that another database (PostgreSQL for teams, spec §16) is one more module here.

    st = store.open_store(settings)
    with st.write() as conn: ...      # one write transaction (SQLAlchemy Connection)
    with st.read() as conn: ...       # one read transaction
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.i18n import N_
from crmcli.store.schema import HEAD, REVISIONS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from crmcli.store.pg_store import PostgresStore
    from crmcli.store.reader import Reader

__all__ = ["HEAD", "REVISIONS", "SqliteStore", "dispose_all", "open_store"]


class SqliteStore:
    """One SQLite database file (spec §1)."""

    kind = "sqlite"

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, creating or migrating the database file as needed."""
        from crmcli.store import sqlite

        return sqlite.get_engine(self.path, self.busy_timeout)

    @contextmanager
    def write(
        self, *, user: str | None = None, command: str | None = None, log: bool = True, kind: str = "edit"
    ) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error.

        With ``log`` it is one change set of the change log (spec §18): every row it touches is
        recorded with its fields before and after (``store/changelog.py``); its id is
        ``conn.info["change_set"]``. A transaction that changed nothing leaves no change set.
        """
        from crmcli.store import changelog, sqlite

        with sqlite.write_connection(self.engine) as conn:
            if not log:
                yield conn
                return
            dbapi = conn.connection.driver_connection
            set_id = changelog.begin(dbapi, user=user, command=command, kind=kind)
            conn.info["change_set"] = set_id
            try:
                yield conn
            except BaseException:
                changelog.stop(dbapi)  # the transaction is rolled back, change set and all
                raise
            finally:
                conn.info.pop("change_set", None)
            changelog.end(dbapi, set_id)

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """One read transaction (a consistent snapshot), through the driver alone: no SQLAlchemy
        unless the database must first be created or migrated."""
        from crmcli.store import sqlite
        from crmcli.store.dialect import SQLITE
        from crmcli.store.reader import Reader

        if not self.path.exists():  # a typo in CRM_DB must not read as "nothing due" (spec §1)
            from crmcli.errors import NotFound

            raise NotFound(N_("no database at {path}; create it with crm init, or point --db / CRM_DB at yours"), path=self.path)
        con = sqlite.open_reader(self.path, self.busy_timeout)
        if con is None:
            self.engine  # noqa: B018 - creates or migrates the database (and refuses what is not one)
            con = sqlite.open_reader(self.path, self.busy_timeout)
            if con is None:  # pragma: no cover - get_engine left it at HEAD
                raise RuntimeError(f"{self.path} is not at schema {HEAD} after the upgrade")
        try:
            con.execute("BEGIN")
            yield Reader(con, SQLITE)
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()

    @property
    def display(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def init(self) -> bool:
        """Create the database (at the current schema) if it does not exist; True when created."""
        existed = self.path.exists() and self.path.stat().st_size > 0
        self.engine  # noqa: B018 - creates, or migrates an older one
        return not existed

    # ------------------------------------------------------------------ file safety (spec §5)

    def backup(self, dest: Path | None, *, now: dt.datetime) -> Path:
        from crmcli.store import sqlite_safety

        return sqlite_safety.backup(self.path, dest, busy_timeout=self.busy_timeout, now=now)

    def restore(self, source: Path, *, now: dt.datetime) -> Any:
        from crmcli.store import sqlite_safety

        dispose_all()  # no pooled connection of ours may hold the old file open
        return sqlite_safety.restore(self.path, source, busy_timeout=self.busy_timeout, now=now)

    def check(self) -> Any:
        from crmcli.store import sqlite_check

        return sqlite_check.check(self.path, busy_timeout=self.busy_timeout)


def open_store(db: Path | str, busy_timeout: float = 30.0) -> SqliteStore | PostgresStore:
    """The store for the ``--db`` setting: a SQLite file path, or a PostgreSQL URL (spec §16)."""
    if isinstance(db, str):
        from crmcli.store.pg_store import PostgresStore

        return PostgresStore(db, busy_timeout)
    return SqliteStore(Path(db), busy_timeout)


def sql(conn: Connection, statement: str, params: Any = None) -> Any:
    """``statement`` with named ``:name`` parameters (a dict, or a list of dicts for many rows),
    bound by SQLAlchemy Core: the same text on either database."""
    from sqlalchemy import text

    return conn.execute(text(statement), params if params is not None else {})


def insert_rows(conn: Connection, table: str, columns: list[str] | tuple[str, ...], rows: Any, *, tail: str = "") -> None:
    """INSERT ``rows`` (tuples of the values of ``columns``) into ``table`` (``store.sql``, many rows
    at once); ``tail``: what ends the statement (``ON CONFLICT ...``)."""
    names = [f"v{i}" for i in range(len(columns))]
    marks = ", ".join(":" + n for n in names)
    params = [dict(zip(names, row, strict=True)) for row in rows]
    if params:
        sql(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}", params)


def in_list(values: Any, prefix: str = "i") -> tuple[str, dict[str, Any]]:
    """``:i0, :i1, ...`` and their values, for ``IN (...)`` with ``store.sql``."""
    params = {f"{prefix}{k}": v for k, v in enumerate(values)}
    return ", ".join(":" + k for k in params), params


def bulk_cache(conn: Connection, large: bool) -> None:
    """A 64 MB page cache while an import inserts random keys into a dozen B-trees (SQLite's
    ``cache_size``; the default again with ``large`` False); nothing where the server has its own."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size={-65536 if large else -2000}")


@contextmanager
def indexes_built_after(conn: Connection, tables: tuple[str, ...], keep: frozenset[str], *, when: bool) -> Iterator[None]:
    """For a bulk load (``when``): the secondary indexes of ``tables`` other than ``keep`` dropped
    for the length of the block and built again at its end, inside the caller's transaction.

    Inserting a million rows one by one into B-trees of random keys (phones, dates, owners) pages
    them in and out all along; building each index once from the finished table is a sort (as
    ``pg_restore`` does): a 1M-row CSV import into an empty database took 46.7 s of CPU with
    them and 38.6 s this way, 43 s of wall time against 36 s (farm-bench, paired). They come back from their
    own ``CREATE INDEX`` text, so the schema is as it was; if the block fails, the caller's
    rollback brings them back. ``keep``: the indexes the load reads while it writes. SQLite
    only; PostgreSQL's import writes through its own bulk path.
    """
    if not when or conn.dialect.name != "sqlite":
        yield
        return
    marks, params = in_list(tables)
    found = sql(
        conn, f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})", params
    ).all()
    dropped = [(name, text) for name, text in found if name not in keep]
    for name, _text in dropped:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    # each index is built by a sort that holds up to the page cache in memory: with the import's
    # 64 MB it took 50 MB more at its peak and no less time than with the default 2 MB
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql("PRAGMA cache_size=-2000")
    for _name, text in dropped:
        conn.exec_driver_sql(text)
    conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")


def import_chunk(conn: Connection, default: int) -> int:
    """How many rows an import parses, then writes, at a time: ``default`` (SQLite's writer thread
    keeps pace with the parser best at about 1000) or, on PostgreSQL, 4000: each chunk there is
    two temporary tables and four statements of the server's, and 2500-4000 took a second off a
    100k-row import against 1000 (bench_team, paired)."""
    return 4000 if conn.dialect.name == "postgresql" else default


def bulk_writer(conn: Connection) -> tuple[Any, Any]:
    """What writes an import's statements (bulk jobs: SQL with ``?`` marks, and the rows of
    values it runs with) on ``conn``'s database, and what makes them ready for it in the parsing
    thread (None: nothing to do): multi-row INSERTs on SQLite (``sqlite_bulk``), ``COPY`` text
    through a temporary table on PostgreSQL (``pg_copy``, spec §16). ``write(dbapi, jobs,
    rows_per_insert)`` runs on the connection's driver, inside its transaction."""
    if conn.dialect.name == "postgresql":
        from crmcli.store.pg_copy import prepare_jobs, write_jobs

        return write_jobs, prepare_jobs
    from crmcli.store import sqlite_bulk

    return sqlite_bulk.write_jobs, None


def hidden_duplicate(conn: Connection, name_key: str, phone_key: str) -> tuple[str, str | None] | None:
    """(code, owner) of a customer with this identity that the caller may not see (spec §16); None
    where nothing is hidden from anyone (a SQLite file)."""
    if conn.dialect.name != "postgresql":
        return None
    from crmcli.store import pg_schema

    return pg_schema.hidden_duplicate(conn, name_key, phone_key)


def team_state(conn: Connection) -> str:
    """What team mode (spec §16) finds on ``conn``'s database: ``"file"`` (one person's SQLite
    file, which cannot be shared by a team), ``"plain"`` (a shared database before ``team init``)
    or ``"team"``."""
    if conn.dialect.name == "sqlite":
        return "file"
    from crmcli.store import pg_team

    return "team" if pg_team.is_team(conn) else "plain"


def pool_at_risk(reader: Reader, today: dt.date) -> list[tuple[Any, ...]]:
    """(code, since, days) of the reading user's customers that the next pool sweep takes, oldest
    first; none on a file, or on a team database made before the warning (until ``team init``)."""
    if reader.dialect.name == "sqlite":
        return []
    if reader.one("SELECT to_regprocedure('crm_pool_at_risk(date)') IS NOT NULL") != (True,):
        return []
    return reader.all("SELECT code, since, days FROM crm_pool_at_risk(:d)", {"d": today})


def dispose_all() -> None:
    """Close every pooled connection (before exit, and before a restore replaces the file)."""
    import sys

    for name in ("crmcli.store.sqlite", "crmcli.store.postgres"):
        module = sys.modules.get(name)
        if module is not None:
            module.dispose_all()  # type: ignore[attr-defined]
