"""PostgreSQL (team mode, spec §16): the URL, the engine, transactions, and the driver's manners.

* ``--db postgresql+psycopg://HOST/DB`` (also ``postgresql://``); passwords come from
  ``~/.pgpass`` or ``PGPASSWORD`` and a URL is never shown with its password (``masked``).
* The acting user is the login (``session_user``): the URL's user, else ``PGUSER``, else the OS
  login, as libpq decides it. ``--user`` / ``CRM_USER`` do not apply (spec §16).
* Writes go through SQLAlchemy (psycopg 3) in one transaction with ``lock_timeout`` set to the
  busy timeout: a lock held past it is exit 4. Reads use psycopg alone (no SQLAlchemy import),
  in a read-only repeatable-read transaction.
* Services speak SQLAlchemy Core (``store.sql``: named parameters that SQLAlchemy binds for
  either driver); nothing here rewrites their SQL. The reader gets dates as ISO text, booleans
  as 0/1 and JSON as text, as SQLite gives them (``reader_types``).
* A new, empty database gets the current schema from the models (as SQLite files do) plus the
  change-log triggers (``pg_changelog``); an older one is migrated by the same Alembic scripts,
  by an admin only (others are refused, naming the revision).
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, DatabaseBusy, SchemaError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.store import schema

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

_engines: dict[tuple[str, float], Engine] = {}

URL_RE = re.compile(r"^postgres(?:ql)?(?:\+psycopg)?://", re.I)


def is_url(value: str) -> bool:
    return bool(URL_RE.match(value))


def masked(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    return re.sub(r"(://[^/@:]*:)[^@/]*@", r"\1***@", url)


def libpq_url(url: str) -> str:
    """The URL as libpq reads it (no ``+psycopg``)."""
    return URL_RE.sub("postgresql://", url, count=1)


def sqlalchemy_url(url: str) -> str:
    return URL_RE.sub("postgresql+psycopg://", url, count=1)


def login(url: str) -> str:
    """The login libpq will use for ``url``: its user, else PGUSER, else the OS login."""
    from urllib.parse import unquote, urlsplit

    user = urlsplit(libpq_url(url)).username
    if user:
        return unquote(user)
    from urllib.parse import parse_qs

    query = parse_qs(urlsplit(libpq_url(url)).query)
    if query.get("user"):
        return query["user"][0]
    if os.environ.get("PGUSER"):
        return os.environ["PGUSER"]
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "postgres"


def where(url: str) -> str:
    """``host HOST database DB`` of a URL, for messages (never its password)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(libpq_url(url))
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [os.environ.get("PGHOST", "localhost")])[0]
    db = unquote(parts.path.lstrip("/")) or os.environ.get("PGDATABASE") or login(url)
    return _("host {host} database {db}").format(host=host, db=db)


# --------------------------------------------------------------------------- the reader's types


def reader_types(cur: Any) -> None:
    """Dates as ISO text, booleans as 0/1, JSON as text: what the reader's SQL gets on SQLite."""
    from psycopg.adapt import Loader
    from psycopg.types.string import TextLoader

    class BoolIntLoader(Loader):
        def load(self, data: Any) -> int:
            return 1 if bytes(data) == b"t" else 0

    class NumericLoader(Loader):
        # a whole numeric as an int, as SQLite gives a whole number (SUM of integers, whole_number)
        def load(self, data: Any) -> float | int:
            text = bytes(data)
            return float(text) if b"." in text or b"e" in text or b"N" in text else int(text)

    for name in ("date", "json", "jsonb"):
        cur.adapters.register_loader(name, TextLoader)
    cur.adapters.register_loader("bool", BoolIntLoader)
    cur.adapters.register_loader("numeric", NumericLoader)


# --------------------------------------------------------------------------- connections

# No JIT compilation: our queries are short, and their estimated cost (correlated subqueries per
# customer) tricks the planner into compiling for longer than they run -- half of a 100k-customer
# due list went to JIT. Sent with the connection (no round trip of its own).
SESSION_OPTIONS = "-c jit=off"


def connect(url: str, busy_timeout: float) -> Any:
    """A psycopg connection (no SQLAlchemy), or a one-line CrmError naming host and database."""
    import psycopg

    try:
        con = psycopg.connect(libpq_url(url), connect_timeout=max(1, int(busy_timeout)), options=SESSION_OPTIONS)
    except psycopg.OperationalError as exc:
        raise cannot_connect(url, exc) from None
    return con


def cannot_connect(url: str, exc: BaseException) -> CrmError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    reason = re.sub(r"password=\S+", "password=***", reason)
    return CrmError(N_("cannot connect to PostgreSQL at {url} ({url2}): {reason}"), url=where(url), url2=masked(url), reason=reason)


def check_member(con: Any, url: str) -> None:
    """In a team database, refuse a login that is not an active team user (one line, exit 1)."""
    if not con.execute("SELECT to_regclass('team_user') IS NOT NULL").fetchone()[0]:
        return
    if not con.execute("SELECT crm_role() IS NOT NULL OR crm_is_admin()").fetchone()[0]:
        raise CrmError(N_("{url} is not a team user of the database at {url2}: ask a team admin (crm team user add)"), url=login(url), url2=where(url))


def stored_revision(con: Any) -> str | None:
    row = con.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not row[0]:
        return None
    got = con.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if got is None else str(got[0])


def make_engine(url: str, busy_timeout: float) -> Engine:
    from sqlalchemy import create_engine, event

    engine = create_engine(
        sqlalchemy_url(url),
        connect_args={"connect_timeout": max(1, int(busy_timeout)), "options": SESSION_OPTIONS},
        pool_pre_ping=False,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        with dbapi_connection.cursor() as cur:
            cur.execute(f"SET lock_timeout = {int(max(busy_timeout, 0.001) * 1000)}")
        dbapi_connection.commit()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # What is one exclusive writer on SQLite (an import: BEGIN IMMEDIATE) takes the import
        # lock here; other writers go on side by side, row locks keeping them apart.
        if conn.get_execution_options().get("sqlite_begin") == "IMMEDIATE":
            exclusive(conn)

    return engine


def run_ddl(conn: Any, statements: list[str]) -> None:
    """Statements without parameters (our schema's functions, policies, triggers) inside ``conn``'s
    transaction, sent as they are: a ``%`` in them is PostgreSQL's (``format('%I', ...)``), not a
    placeholder."""
    dbapi = conn.connection.driver_connection
    for sql in statements:
        dbapi.execute(sql)


IMPORT_LOCK = 7244021  # the advisory lock of import and undo (spec §16)


def exclusive(conn: Any) -> None:
    """Take the import/undo lock for this transaction; past ``lock_timeout`` it is exit 4."""
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({IMPORT_LOCK})")


def get_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """The engine for ``url``; an empty database gets the schema, an older one is migrated."""
    key = (url, busy_timeout)
    if key in _engines:
        return _engines[key]
    from sqlalchemy.exc import OperationalError

    engine = make_engine(url, busy_timeout)
    try:
        with engine.connect() as conn:
            check_member(conn.connection.driver_connection, url)
            current = stored_revision(conn.connection.driver_connection)
            conn.rollback()
    except OperationalError as exc:
        engine.dispose()
        raise cannot_connect(url, exc.orig or exc) from None
    if current is not None and current not in schema.REVISIONS:
        raise SchemaError(N_("database at {url} has schema revision {current}, newer than this program knows ({head}); upgrade crmcli instead of downgrading the database"), url=where(url), current=current, head=schema.HEAD)
    if current is None:
        with write_connection(engine) as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7244001)")  # two first users: one creates
            if schema.create(conn):
                from crmcli.store import pg_schema

                pg_schema.install(conn)
            current = stored_revision(conn.connection.driver_connection)
    if current != schema.HEAD:
        _migrate(engine, url, current)
    _engines[key] = engine
    return engine


def _migrate(engine: Engine, url: str, current: str | None) -> None:
    from crmcli.store import pg_schema

    with engine.connect() as conn:
        admin = conn.exec_driver_sql(
            "SELECT rolsuper OR pg_has_role(session_user, 'crm_admin', 'MEMBER') IS TRUE FROM pg_roles "
            "WHERE rolname = session_user AND (rolsuper OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_admin'))"
        ).scalar()
        conn.rollback()
    if not admin:
        raise SchemaError(N_("database at {url} has schema revision {current}, this program needs {head}: a team admin must run a crm command once to migrate it"), url=where(url), current=current, head=schema.HEAD)
    schema.upgrade(engine)
    with write_connection(engine) as conn:
        pg_schema.install(conn)


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def translate(exc: BaseException, *, doing: object = "") -> CrmError | None:
    """The CrmError a PostgreSQL error stands for (by SQLSTATE), or None."""
    orig = getattr(exc, "orig", None)
    err = orig if isinstance(orig, BaseException) else exc
    state = getattr(err, "sqlstate", None)
    if state is None:
        return None
    tail = f"; {doing}" if doing else ""
    if state in ("55P03", "40P01", "57014"):  # lock_not_available, deadlock, statement/lock timeout
        return DatabaseBusy(N_("the database is busy: another crm user held a lock past the timeout{tail}"), tail=tail)
    if state == "42501" or state.startswith("28"):  # insufficient privilege (row-level security too)
        diag = getattr(err, "diag", None)
        text = (getattr(diag, "message_primary", None) or str(err)).splitlines()[0]
        return CrmError(N_("not allowed: {text}{tail}"), text=text, tail=tail)
    if state in ("P0001", "P0002"):  # our definer functions' refusals: their message is the sentence
        diag = getattr(err, "diag", None)
        return CrmError(N_("{reason}{tail}"), reason=(getattr(diag, "message_primary", None) or str(err)).splitlines()[0], tail=tail)
    if state.startswith("08"):
        return CrmError(N_("lost the connection to PostgreSQL: {value}{tail}"), value=str(err).splitlines()[0], tail=tail)
    return None


def reserve_ids(conn: Any, table: str, n: int | None) -> int:
    """The first of ``n`` consecutive ids of ``table`` taken from its sequence for this transaction.

    MAX(id) + 1 (SQLite's way under its single writer) is wrong here: other sessions insert
    meanwhile, and a rep's MAX sees only their own rows. The block is taken in one statement
    (``nextval`` then ``setval`` past it) while the import lock keeps other imports out; a
    single add whose ``nextval`` fell inside that statement would collide on the primary key and
    fail the import (rolled back whole), never mix rows. ``n`` None (a stream): 100,000.
    """
    size = max(1, n if n is not None else 100_000)
    seq = f"pg_get_serial_sequence('{table}', 'id')"
    first = conn.exec_driver_sql(f"SELECT setval({seq}, nextval({seq}) + {size - 1}) - {size - 1}").scalar()
    return int(first)
