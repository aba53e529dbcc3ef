"""Reading without SQLAlchemy: plain SQL through the database driver, streamed.

``crm list``, ``show``, the due list and the reports only read. Importing SQLAlchemy alone costs
more than such a command's whole work on a small database (0.26 s against ~0.05 s), so reads
go through the DB-API connection with SQL text written once, its few database-specific
pieces coming from the store's ``Dialect``. Parameters are named (``:name``) whatever the driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from crmcli.store.dialect import Dialect

Params = Mapping[str, Any] | None

FETCH = 1000  # rows per fetch when streaming


class Reader:
    """One read transaction on a DB-API connection (or inside a write transaction)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect

    @classmethod
    def over(cls, conn: Any) -> Reader:
        """A Reader inside a SQLAlchemy connection's transaction (a write command that also reads)."""
        from crmcli.store.dialect import for_name

        return cls(conn.connection.driver_connection, for_name(conn.dialect.name))

    def cursor(self, sql: str, params: Params = None) -> Any:
        cur = self.connection.cursor()
        self.dialect.prepare(cur)
        cur.execute(self.dialect.sql(sql), params or {})
        return cur

    def all(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        cur = self.cursor(sql, params)
        try:
            return list(cur.fetchall())
        finally:
            cur.close()

    def one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        cur = self.cursor(sql, params)
        try:
            row = cur.fetchone()
            return None if row is None else tuple(row)
        finally:
            cur.close()

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        cur = self.cursor(sql, params)
        try:
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            cur.close()

    def stream(self, sql: str, params: Params = None, size: int = FETCH) -> Iterator[Sequence[Any]]:
        """The rows one batch at a time: memory stays flat whatever the number of rows."""
        return _rows(self.cursor(sql, params), size)

    def names(self, sql: str, params: Params = None) -> tuple[list[str], Iterator[Sequence[Any]]]:
        """The column names, and the rows streamed."""
        cur = self.cursor(sql, params)
        return [d[0] for d in cur.description], _rows(cur, FETCH)


def _rows(cur: Any, size: int) -> Iterator[Sequence[Any]]:
    try:
        while batch := cur.fetchmany(size):
            yield from batch
    finally:
        try:
            cur.close()
        except Exception:  # noqa: BLE001 - a reader that stopped early (`| head`): the connection may be gone
            pass
