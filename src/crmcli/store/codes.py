"""Codes: a letter + YYYYMM + a serial of at least three digits (C202611001, O..., T...), spec §3.

On a SQLite file (one writer at a time) the next serial is the highest of the month + 1, read
once per month seen and counted on in memory (an import asks 100k times). On a shared
PostgreSQL database other sessions add meanwhile and a rep cannot see every code, so each code
comes from the month's counter row, through a definer function (``pg_schema.next_code``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any


class Codes:
    """The next free codes of ``table`` (customer, deal or ticket), with letter ``letter``."""

    def __init__(self, conn: Any, letter: str, table: str) -> None:
        self.conn = conn
        self.letter = letter
        self.table = table
        self.shared = conn.dialect.name == "postgresql"
        self.last: dict[str, int] = {}

    def _highest(self, prefix: str) -> int:
        from sqlalchemy import text

        rows = self.conn.execute(
            text(f"SELECT code FROM {self.table} WHERE code >= :lo AND code < :hi"), {"lo": prefix, "hi": prefix + "~"}
        ).scalars()
        tails = (code[len(prefix) :] for code in rows)
        return max((int(t) for t in tails if len(t) >= 3 and t.isdigit()), default=0)

    def next(self, day: dt.date | str) -> str:
        """The next code of the month of ``day`` (a date or ISO text); a 4th digit past 999."""
        prefix = self.letter + str(day)[:4] + str(day)[5:7]
        if self.shared:
            from crmcli.store import pg_schema

            return pg_schema.next_code(self.conn, prefix, self.table)
        if prefix not in self.last:
            self.last[prefix] = self._highest(prefix)
        self.last[prefix] += 1
        return f"{prefix}{self.last[prefix]:03d}"


def customer_codes(conn: Any) -> Codes:
    return Codes(conn, "C", "customer")


def deal_codes(conn: Any) -> Codes:
    return Codes(conn, "O", "deal")


def ticket_codes(conn: Any) -> Codes:
    return Codes(conn, "T", "ticket")
