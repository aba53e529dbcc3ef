"""Bulk writes into PostgreSQL through ``COPY`` (spec §16): ``db copy`` and imports.

``COPY FROM`` into a table with row-level security is refused by PostgreSQL, and every table
holding customer data is ``FORCE``d. So rows are ``COPY``ed into a temporary table of the same
columns (no policies there), then moved with one ``INSERT ... SELECT``, which the policies check
like any other insert: a rep's import still cannot write another rep's customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any


def _q(name: str) -> str:
    return '"' + name.strip('"') + '"'


def copy_rows(
    dbapi: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: dict[str, str] | None = None,
    rename: dict[str, dict[str, str]] | None = None,
    on_conflict: str = "",
    direct: bool = False,
) -> int:
    """Insert ``rows`` (values of ``columns``) into ``table`` inside the connection's transaction.

    ``constants``: more columns with one SQL literal for every row. ``rename``: per column, old
    value -> new value (an owner's name -> their login), applied in the database. ``on_conflict``:
    e.g. ``ON CONFLICT DO NOTHING``. ``direct``: straight into ``table``, which a bulk load
    (``pg_bulk``) has bared of row-level security, renaming in Python. Returns how many rows
    were inserted.
    """
    if direct:
        return _copy_direct(dbapi, table, columns, rows, rename or {})
    tmp = f"crm_copy_{table}"
    cols = [_q(c) for c in columns]
    with dbapi.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{tmp}")
        cur.execute(
            f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {', '.join(cols)} FROM {table} WITH NO DATA"
        )
        with cur.copy(f"COPY {tmp} ({', '.join(cols)}) FROM STDIN") as cp:
            write = cp.write_row
            for row in rows:
                write(row)
        for col, mapping in (rename or {}).items():
            if mapping and col in columns:
                pairs = ", ".join("(%s, %s)" for _ in mapping)
                cur.execute(
                    f"UPDATE {tmp} t SET {_q(col)} = m.new FROM (VALUES {pairs}) AS m(old, new) WHERE t.{_q(col)} = m.old",
                    [v for pair in mapping.items() for v in pair],
                )
        extra = constants or {}
        target = ", ".join([*cols, *(_q(c) for c in extra)])
        source = ", ".join([*cols, *extra.values()])
        cur.execute(f"INSERT INTO {table} ({target}) SELECT {source} FROM {tmp} {on_conflict}")
        n = cur.rowcount
        cur.execute(f"DROP TABLE {tmp}")
    return int(n)


def _copy_direct(dbapi: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], rename: dict[str, dict[str, str]]) -> int:
    renamed = [(columns.index(c), m) for c, m in rename.items() if m and c in columns]
    n = 0
    with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(_q(c) for c in columns)}) FROM STDIN") as cp:
        write = cp.write_row
        if renamed:
            for row in rows:
                row = list(row)
                for i, mapping in renamed:
                    row[i] = mapping.get(row[i], row[i])
                write(row)
                n += 1
        else:
            for row in rows:
                write(row)
                n += 1
    return n


_INSERT = re.compile(r"^INSERT INTO (\w+) \(([^)]*)\) VALUES \((.*?)\)( ON CONFLICT .*)?$", re.S)
COPY_FROM = 50  # rows: fewer go as one INSERT each time (a temp table costs more than it saves)


def write_jobs(dbapi: Any, jobs: Sequence[tuple[str, Sequence[Sequence[Any]]]], rows_per_insert: int) -> None:
    """An import's statements (SQL in the importer's style, ``?`` parameters, one job per
    statement and its rows): plain INSERTs of many rows through ``copy_rows``, the rest as they
    are. The signature of the importer's SQLite writer (``importer/writing.py``)."""
    from crmcli.errors import CrmError

    try:
        for sql, params in jobs:
            m = _INSERT.match(sql)
            if m is None or len(params) < COPY_FROM:
                with dbapi.cursor() as cur:
                    cur.executemany(sql, params)
                continue
            table, names, values, on_conflict = m.group(1), m.group(2), m.group(3), m.group(4) or ""
            columns = [n.strip() for n in names.split(",")]
            tokens = [v.strip() for v in values.split(",")]
            bound = [c for c, v in zip(columns, tokens, strict=True) if v == "?"]
            constants = {c: v for c, v in zip(columns, tokens, strict=True) if v != "?"}
            copy_rows(dbapi, table, bound, params, constants=constants, on_conflict=on_conflict)
    except Exception as exc:
        if getattr(exc, "sqlstate", "").startswith("23"):  # integrity: a duplicate, a missing customer
            raise CrmError(f"the database refused the import ({str(exc).splitlines()[0]}); nothing was written") from None
        raise
