"""Bulk writes into PostgreSQL through ``COPY`` (spec §16): ``db copy`` and imports.

``COPY FROM`` into a table with row-level security is refused by PostgreSQL, and every table
holding customer data is ``FORCE``d. So an import's rows are ``COPY``ed into a temporary table of
the same columns (no policies there), then moved with one ``INSERT ... SELECT``, which the
policies check like any other insert: a rep's import still cannot write another rep's customer.
``db copy`` goes into a new database whose tables a bulk load has bared (``pg_bulk``): straight in.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from crmcli.i18n import N_


def _q(name: str) -> str:
    return '"' + name.strip('"') + '"'


def copy_rows(
    dbapi: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, rename: dict[str, dict[Any, Any]] | None = None
) -> int:
    """``COPY`` ``rows`` (values of ``columns``) straight into ``table``, which a bulk load
    (``pg_bulk``: ``db copy``) has bared of row-level security, inside the connection's
    transaction. ``rename``: per column, old value -> new value (an owner's name -> their
    login). Text may come as UTF-8 ``bytes`` when ``raw_text`` said yes. Returns how many rows
    the server stored."""
    renamed = [(list(columns).index(c), m) for c, m in (rename or {}).items() if m and c in columns]
    with dbapi.cursor() as cur:
        _bytes_as_text(cur)
        with cur.copy(f"COPY {table} ({', '.join(_q(c) for c in columns)}) FROM STDIN") as cp:
            write = cp.write_row
            if renamed:
                for row in rows:
                    row = list(row)
                    for i, mapping in renamed:
                        row[i] = mapping.get(row[i], row[i])
                    write(row)
            else:
                deque(map(write, rows), maxlen=0)  # the loop in C: a million follow-ups
        return int(cur.rowcount)  # the server's count of the rows it stored ("COPY n")


class BrokenKeys(Exception):
    """The file's rows break a key as the bulk load rebuilds it (a follow-up of no customer)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def target_logins(dst: Any, display: str) -> set[str]:
    """The active logins of the team database on ``dst`` (a psycopg connection), after checking
    that it is one, that the caller is its admin, and that it holds no customers yet."""
    from crmcli.errors import CrmError

    if not dst.execute("SELECT to_regclass('team_user') IS NOT NULL").fetchone()[0]:
        raise CrmError(N_("this database is not set up for a team yet: an admin runs crm team init"))
    if not dst.execute("SELECT crm_is_admin()").fetchone()[0]:
        raise CrmError(N_("only a team admin may copy a database in"))
    if dst.execute("SELECT EXISTS (SELECT 1 FROM customer)").fetchone()[0]:
        raise CrmError(N_("{display} already holds customers: db copy goes into a new team database; nothing was copied"), display=display)
    return {r[0] for r in dst.execute("SELECT login FROM team_user WHERE active")}


def load_file(src: Any, dst: Any, mapping: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Every table of a database file (``src``, a sqlite3 connection in a read transaction) into
    the bared tables of ``dst`` (``pg_bulk``), owners renamed by ``mapping``; then the keys,
    indexes and policies back, and the id sequences past the ids copied. Returns the file's count
    of each table and the server's."""
    from crmcli.store import pg_bulk
    from crmcli.store.pg_team import POLICED

    counts: dict[str, int] = {}
    stored: dict[str, int] = {}
    ids: dict[str, list[str]] = {}
    # text as the file's UTF-8 bytes, sent as they are (raw_text), when it can
    as_bytes = raw_text()
    names: dict[Any, Any] = {k.encode(): v.encode() for k, v in mapping.items()} if as_bytes else mapping
    pg_bulk.begin(dst)
    # (the bulk load drops every foreign key first: any order of the tables will do)
    for table in POLICED:
        cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
        ids[table] = cols
        counts[table] = int(src.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        factory = src.text_factory
        if as_bytes:
            src.text_factory = bytes
        try:
            rows = src.execute(f"SELECT {', '.join(_q(c) for c in cols)} FROM {table}")
            rename: dict[str, dict[Any, Any]] = {c: names for c in ("owner", "user") if c in cols}
            stored[table] = copy_rows(dst, table, cols, rows, rename=rename)
        finally:
            src.text_factory = factory
    try:
        pg_bulk.end(dst)
    except Exception as exc:
        if getattr(exc, "sqlstate", "").startswith("23"):
            raise BrokenKeys(str(exc).splitlines()[0]) from None
        raise
    for table, n in counts.items():  # each id sequence past the ids copied in
        if n and "id" in ids[table]:
            dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return counts, stored


def raw_text() -> bool:
    """Whether ``copy_rows`` takes text as UTF-8 ``bytes`` (what sqlite3 gives with
    ``text_factory = bytes``) and sends it as it is, escaped for COPY like any text.

    ``db copy`` reads a million follow-ups; decoding each text to ``str`` and encoding it again
    for ``COPY`` took a fifth of the client's time (2.3 s against 1.8 s of CPU for 1M rows).
    psycopg has no public text dumper that takes bytes as they are: psycopg's own C dumper of raw
    bytes (its binary bytea dumper, a plain copy) is set on the cursor for the text format, where
    the COPY formatter escapes its output as any other value's (pinned by
    tests/test_pg_copy.py, which compares the bytes with what ``str`` values give). Without
    psycopg's C module, no."""
    import psycopg
    from psycopg._cmodule import _psycopg

    # (and the adapters' maps as this release of psycopg keeps them; else text goes as str)
    maps = psycopg.adapters
    return _psycopg is not None and hasattr(_psycopg, "BytesBinaryDumper") and hasattr(maps, "_dumpers") and hasattr(maps, "_own_dumpers")


def _bytes_as_text(cur: Any) -> None:
    if not raw_text():
        return
    from psycopg._cmodule import _psycopg
    from psycopg.adapt import PyFormat

    adapters = cur.adapters
    own = dict(adapters._dumpers[PyFormat.TEXT])  # the cursor's own map: nothing global changes
    own[bytes] = _psycopg.BytesBinaryDumper
    adapters._dumpers[PyFormat.TEXT] = own
    adapters._own_dumpers[PyFormat.TEXT] = True


_INSERT = re.compile(r"^INSERT INTO (\w+) \(([^)]*)\) VALUES \((.*?)\)( ON CONFLICT .*)?$", re.S)
_TEMP_NAMES = itertools.count(1)
COPY_FROM = 50  # rows: fewer go as one INSERT each time (a temp table costs more than it saves)


class _Payload:
    """COPY text of many rows, formatted by psycopg without a round trip (``Copy`` over a writer
    that keeps the bytes), so that the thread that sends it sends one buffer."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: Any) -> None:
        self.parts.append(bytes(data))

    def finish(self, exc: BaseException | None = None) -> None:
        pass


def _formatted(dbapi: Any, rows: Iterable[Sequence[Any]]) -> bytes:
    from psycopg import Copy

    sink = _Payload()
    with dbapi.cursor() as cur, Copy(cur, writer=sink) as cp:  # type: ignore[arg-type]
        write = cp.write_row
        for row in rows:
            write(row)
    return b"".join(sink.parts)


def prepare_jobs(dbapi: Any, jobs: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> list[tuple[Any, ...]]:
    """An import's statements (SQL in the importer's style, ``?`` parameters, one job per
    statement and its rows) made ready for ``write_jobs``: a plain INSERT of many rows becomes
    (table, its columns, constant columns, ON CONFLICT, the rows as COPY text). Run by the
    thread that parses, so the writer's COPY is one buffer sent, not a loop that waits for the
    parser to let go of the GIL while the server waits for the rows."""
    out: list[tuple[Any, ...]] = []
    for sql, params in jobs:
        m = _INSERT.match(sql)
        if m is None or len(params) < COPY_FROM:
            # the importer's statements are its own, with no literal "?" or "%": its SQLite
            # placeholders become psycopg's
            out.append((sql.replace("?", "%s"), params))
            continue
        table, names, values, on_conflict = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        columns = [n.strip() for n in names.split(",")]
        tokens = [v.strip() for v in values.split(",")]
        bound = tuple(c for c, v in zip(columns, tokens, strict=True) if v == "?")
        constants = {c: v for c, v in zip(columns, tokens, strict=True) if v != "?"}
        out.append((table, bound, constants, on_conflict, _formatted(dbapi, params)))
    return out


def write_jobs(dbapi: Any, jobs: Sequence[tuple[Any, ...]], rows_per_insert: int) -> None:
    """Run ``prepare_jobs``' statements inside the connection's transaction: each COPY text into
    a temporary table of its columns (made once a transaction, emptied after each use), moved
    into the real table by one ``INSERT ... SELECT``; the rest as they are. The signature of the
    SQLite writer (``store/sqlite_bulk.py``)."""
    from crmcli.errors import CrmError

    try:
        with dbapi.cursor() as cur:
            for job in jobs:
                if len(job) == 2:
                    cur.executemany(*job)
                    continue
                table, bound, constants, on_conflict, payload = job
                cols = [_q(c) for c in bound]
                tmp = f"crm_copy_{table}_{next(_TEMP_NAMES)}"
                # a temporary table for each chunk, dropped once used (emptying one with
                # TRUNCATE instead cost more, measured)
                cur.execute(f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {', '.join(cols)} FROM {table} WITH NO DATA")
                with cur.copy(f"COPY {tmp} ({', '.join(cols)}) FROM STDIN") as cp:
                    cp.write(payload)
                target = ", ".join([*cols, *(_q(c) for c in constants)])
                source = ", ".join([*cols, *constants.values()])
                cur.execute(f"INSERT INTO {table} ({target}) SELECT {source} FROM {tmp} {on_conflict}")
                cur.execute(f"DROP TABLE {tmp}")
    except Exception as exc:
        if getattr(exc, "sqlstate", "").startswith("23"):  # integrity: a duplicate, a missing customer
            raise CrmError(N_("the database refused the import ({value}); nothing was written"), value=str(exc).splitlines()[0]) from None
        raise
