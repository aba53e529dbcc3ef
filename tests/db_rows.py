"""The rows of the test's database, whichever it is: CRM_DB is a SQLite file or a PostgreSQL URL
(the ``backend`` fixture, spec §16). Values come back as SQLite gives them (dates as ISO text,
booleans as 0/1), so that the same expectations hold on both."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Sequence
from typing import Any


def _query(sql: str) -> list[tuple[Any, ...]]:
    db = os.environ["CRM_DB"]
    if db.startswith("postgresql"):
        import psycopg

        from crmcli.store.postgres import libpq_url

        with psycopg.connect(libpq_url(db)) as con:
            return [tuple(_plain(v) for v in row) for row in con.execute(sql).fetchall()]
    con = sqlite3.connect(db, timeout=30)
    try:
        return list(con.execute(sql).fetchall())
    finally:
        con.close()


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rows(table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, in a stable order."""
    return sorted(_query(f"SELECT * FROM {table}"), key=repr)


def dump(tables: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(t) for t in tables}


def counts(tables: Sequence[str]) -> dict[str, int]:
    return {t: int(_query(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}
