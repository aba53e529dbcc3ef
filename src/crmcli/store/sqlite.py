"""SQLite: the database file, its pragmas, transactions and schema versions.

* The file is created 0600 in a directory created 0700; SQLite gives its -wal and
  -shm files the database file's mode.
* Every connection gets ``foreign_keys=ON``, WAL and the busy timeout.
* pysqlite's own transaction handling is switched off (``isolation_level=None``)
  and we emit ``BEGIN`` ourselves -- ``BEGIN IMMEDIATE`` for writes, because a
  deferred transaction that later upgrades to a write fails at once with
  "database is locked" whatever the timeout (SQLAlchemy's documented recipe).
* The schema is owned by the Alembic scripts in ``crmcli/migrations``. Alembic is
  imported only when the stored revision differs from ``HEAD``; an older
  database is backed up next to itself first, a newer one is refused.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from crmcli.errors import CrmError, SchemaError
from crmcli.i18n import N_
from crmcli.store import errors, schema

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

_engines: dict[tuple[str, float], Engine] = {}
_unused: dict[Engine, list[sqlite3.Connection]] = {}  # make_engine's first connections, until taken


def _prepare_file(path: Path) -> bool:
    """Create the directory (0700) and file (0600) if needed; return True when new.

    An existing file must be the user's own: a database another user created (or one anybody
    may write) is refused, and our own file readable by others is made private again.
    """
    if path.exists():
        if path.is_dir():
            raise CrmError(N_("--db {path}: is a directory, not a database file"), path=path)
        _own_private(path)
        return path.stat().st_size == 0
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):  # every directory we create is private, not just the last
        try:
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # whatever the umask
        except FileExistsError:
            pass
        except OSError as exc:
            raise CrmError(N_("cannot create directory {directory}: {strerror}"), directory=directory, strerror=exc.strerror) from None
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        _own_private(path)
        return path.stat().st_size == 0
    except OSError as exc:
        from crmcli import safe_files

        if safe_files.is_disk_full(exc):
            raise safe_files.disk_full_error(path) from None
        raise CrmError(N_("cannot create database {path}: {strerror}"), path=path, strerror=exc.strerror) from None
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask
    return True


def _own_private(path: Path) -> None:
    """Refuse a database file owned by another user; make ours 0600 if it is not."""
    st = path.stat()
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise CrmError(N_("database {path} belongs to another user (uid {st_uid}); refusing to use a file someone else created (move it away, or give --db another path)"), path=path, st_uid=st.st_uid)
    if st.st_mode & 0o077:
        try:
            os.chmod(path, 0o600)
        except OSError as exc:
            raise CrmError(N_("database {path} is open to other users (mode {value:04o}) and cannot be made private: {strerror}"), path=path, value=st.st_mode & 0o777, strerror=exc.strerror) from None


def stored_revision(path: Path) -> str | None:
    """The schema revision stored in ``path`` (None for an empty database).

    Raises SchemaError when the file is not a SQLite database or holds tables
    but no revision (not a crm database).
    """
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise errors.translate(exc, path) or SchemaError(N_("cannot open database {path}: {exc}"), path=path, exc=exc) from None
    try:
        return _revision_on(con, path)
    finally:
        con.close()


def _revision_on(con: sqlite3.Connection, path: Path) -> str | None:
    """``stored_revision`` read on an open connection (which then has the schema parsed)."""
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" in names:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            if row:
                return str(row[0])
        if names - {"alembic_version"}:
            raise SchemaError(N_("{path} is a SQLite database but not a crm database"), path=path)
        return None
    except sqlite3.DatabaseError as exc:
        known = errors.translate(exc, path)
        if known is not None:
            raise known from None
        raise SchemaError(N_("{path} is not a usable crm database ({exc})"), path=path, exc=exc) from None


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    # pysqlite's own transaction handling off: BEGIN is ours (see the module docstring)
    return sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)


def _open_at_head(path: Path, busy_timeout: float) -> sqlite3.Connection | None:
    """A connection to ``path`` when its stored revision is HEAD, for the engine to take as its
    first (None otherwise: ``get_engine`` then looks closer, read-only, before anything writes).

    Reading the revision parses the schema -- the change log's 27 triggers with it, ~1 ms --
    and a connection of its own for that would parse it a second time for the command's
    first statement."""
    try:
        con = _connect(path, busy_timeout)
    except sqlite3.Error:
        return None
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is not None and row[0] == schema.HEAD:
            return con
    except sqlite3.Error:
        pass  # not a crm database, or not one at HEAD: the slow path says which
    con.close()
    return None


def make_engine(path: Path, busy_timeout: float = 30.0, first: sqlite3.Connection | None = None) -> Engine:
    """The engine of ``path``; ``first``: an open connection to it that becomes the first pooled one."""
    from sqlalchemy import create_engine, event

    waiting = [first] if first is not None else []

    def connect() -> sqlite3.Connection:
        return waiting.pop() if waiting else _connect(path, busy_timeout)

    engine = create_engine(f"sqlite:///{path}", creator=connect)
    if waiting:
        _unused[engine] = waiting  # closed by dispose_all if no connection was ever asked for

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def backup_file(src: Path, dest: Path) -> Path:
    """Copy a live database with SQLite's online backup API to ``dest`` (or ``dest-N``), safely.

    The copy is written through ``safe_files`` (a private temporary file renamed into place only
    when complete, never replacing or following anything at the final name); returns its path.
    """
    from crmcli import safe_files

    while True:
        target = safe_files.unique_name(dest)
        try:
            with safe_files.writing(target, exclusive=True) as tmp:
                source = sqlite3.connect(src, timeout=30)
                copy = sqlite3.connect(tmp, isolation_level=None)
                try:
                    source.backup(copy)
                    copy.execute("PRAGMA journal_mode=DELETE")  # the one file is the whole copy
                finally:
                    copy.close()
                    source.close()
            return target
        except FileExistsError:
            continue  # another process took that name meanwhile: the next one


def migrate(engine: Engine, path: Path, current: str | None) -> None:
    """Bring the database at ``path`` to HEAD, after a backup copy when it held an older revision."""
    if current is not None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup_file(path, path.with_name(f"{path.name}.bak-{current}-{stamp}"))
    schema.upgrade(engine)


def get_engine(path: Path, busy_timeout: float = 30.0) -> Engine:
    """The engine for ``path``, creating or migrating the database as needed."""
    key = (str(path), busy_timeout)
    if key in _engines:
        return _engines[key]
    is_new = _prepare_file(path)
    first = None if is_new else _open_at_head(path, busy_timeout)
    if first is not None:  # the common case: one connection, the schema parsed once
        engine = make_engine(path, busy_timeout, first)
        _engines[key] = engine
        return engine
    current = None if is_new else stored_revision(path)
    if current is not None and current not in schema.REVISIONS:
        raise SchemaError(N_("database {path} has schema revision {current}, newer than this program knows ({head}); upgrade crmcli instead of downgrading the database"), path=path, current=current, head=schema.HEAD)
    engine = make_engine(path, busy_timeout)
    if current is None:
        with write_connection(engine) as conn:
            created = schema.create(conn)
        if not created:  # another process made it meanwhile: it may be at HEAD or need migrating
            current = stored_revision(path)
    if current is not None and current != schema.HEAD:
        migrate(engine, path, current)
    _engines[key] = engine
    return engine


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    for waiting in _unused.values():
        for con in waiting:
            con.close()
    _unused.clear()


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error.

    The change log's gate is emptied first: a gate row committed by mistake (a bug, or a hand in
    ``sqlite3``) must not log this transaction -- an import, say, logged by its batch -- into
    somebody else's change set; a logged write names its own right after (``changelog.begin``)."""
    from crmcli.store import changelog

    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        if conn.dialect.name == "sqlite":  # (PostgreSQL's gate is a transaction's own setting)
            changelog.stop(conn.connection.driver_connection)
        yield conn


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def open_reader(path: Path, busy_timeout: float) -> sqlite3.Connection | None:
    """A read-only connection to a database at HEAD, without SQLAlchemy; None when the database
    must go through ``get_engine`` first (no file yet, an empty one, an older or newer schema)."""
    try:
        if path.stat().st_size == 0:
            return None
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CrmError(N_("cannot read database {path}: {strerror}"), path=path, strerror=exc.strerror) from None
    if path.is_dir():
        return None
    _own_private(path)
    try:
        con = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise errors.translate(exc, path) or SchemaError(N_("cannot open database {path}: {exc}"), path=path, exc=exc) from None
    try:
        con.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        con.execute("PRAGMA query_only=1")
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        con.close()
        known = errors.translate(exc, path)
        if known is not None:
            raise known from None
        return None  # not a crm database, or an empty one: get_engine says which
    if row is None or row[0] != schema.HEAD:
        con.close()
        return None
    return con


def reserve_ids(conn: Connection, table: str, n: int | None) -> int:
    """The first of the consecutive ids that this transaction's new rows of ``table`` take, and
    no one else's; ``n`` is how many it will take at most (None: it cannot say, as for a CSV
    read as a stream).

    On SQLite this is MAX(id) + 1, safe because a writer holds the write lock (BEGIN IMMEDIATE)
    from this query to its COMMIT: no other connection can insert meanwhile, so every id above
    the maximum stays free, however many the import takes. A store whose ids come from a
    sequence (PostgreSQL) hands out a block of ``n`` instead. ``table`` is one of ours, never
    user input.
    """
    if conn.dialect.name != "sqlite":
        from crmcli.store import postgres

        return postgres.reserve_ids(conn, table, n)
    return (conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar() or 0) + 1
