"""The change log, recorded by the database itself (spec §18).

A writing command opens a change set (``change_set``: when, who, the command as typed) and, for
the length of its transaction, temporary triggers on its own connection write one ``change`` row
per row any statement inserts, updates or deletes in the customer tables, with the row's fields
before and after as JSON. So every write path -- add, edit, follow, stage, archive, custom
values, undo itself, and the cascades the database performs -- is logged the same way, and no
service has to remember to. The triggers are TEMP: they exist only on that connection, for that
command, so an import (logged by its batch, ``batch_change``) and other processes pay nothing.

A merge moves a customer's rows to another as one ``move`` change per table (``move_rows``), not
one update per row.

What a customer's follow-ups imply (``last_follow_at``, ``last_method``, ``next_date``,
``next_plan``) and its opportunities imply (the purchase history: ``orders``, ``total_amount``,
``last_order_at``, ``main_products``) is derived, not logged: it is worked out again after an undo.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

DERIVED = frozenset({"last_follow_at", "last_method", "next_date", "next_plan", "orders", "total_amount", "last_order_at", "main_products"})


@functools.cache  # the models do not change while the process runs: once, not 13 times a command
def tracked() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """The logged tables, from the models: every table that holds a customer's data.

    table -> (its row id, the SQL of its customer's id with ``{row}`` for NEW or OLD, the logged
    columns). A product belongs to no customer; a line belongs to its opportunity's.
    """
    from crmcli.models import Customer, CustomValue, Deal, DealLine, FollowUp, Product, StageChange, Tag, Ticket

    out: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for model, row_id, customer in (
        (Customer, "id", "{row}.id"),
        (FollowUp, "id", "{row}.customer_id"),
        (StageChange, "id", "{row}.customer_id"),
        (Deal, "id", "{row}.customer_id"),
        (DealLine, "id", "(SELECT customer_id FROM deal WHERE id = {row}.deal_id)"),
        (Product, "id", "NULL"),
        (Ticket, "id", "{row}.customer_id"),
        (Tag, "customer_id", "{row}.customer_id"),
        (CustomValue, "customer_id", "{row}.customer_id"),
    ):
        table = model.__table__  # type: ignore[attr-defined,union-attr]
        cols = tuple(c.name for c in table.columns if c.name not in DERIVED)
        out[table.name] = (row_id, customer, cols)
    return out


def _q(name: str) -> str:
    return '"' + name + '"'


def _image(prefix: str, cols: tuple[str, ...]) -> str:
    return "json_object(" + ", ".join(f"'{c}', {prefix}.{_q(c)}" for c in cols) + ")"


def trigger_sql(set_id: int) -> list[str]:
    """CREATE TEMP TRIGGER statements logging into change set ``set_id``."""
    return [sql for table in tracked() for sql in _table_triggers(set_id, table).values()]


def _table_triggers(set_id: int, table: str) -> dict[str, str]:
    """One table's three triggers, by the operation: "i", "u", "d"."""
    return {op: sql.replace("{set_id}", str(int(set_id))) for op, sql in _trigger_templates(table).items()}


@functools.cache
def _trigger_templates(table: str) -> dict[str, str]:
    """One table's three triggers with ``{set_id}`` standing for the change set (built once)."""
    row_id, customer, cols = tracked()[table]
    base = f"INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) VALUES ({{set_id}}, '{table}'"
    changed = " OR ".join(f"OLD.{_q(c)} IS NOT NEW.{_q(c)}" for c in cols)
    return {
        "i": f"CREATE TEMP TRIGGER crm_log_{table}_i AFTER INSERT ON main.{table} BEGIN "
        f"{base}, NEW.{row_id}, 'insert', NULL, {_image('NEW', cols)}, {customer.format(row='NEW')}); END",
        "u": f"CREATE TEMP TRIGGER crm_log_{table}_u AFTER UPDATE ON main.{table} WHEN {changed} BEGIN "
        f"{base}, NEW.{row_id}, 'update', {_image('OLD', cols)}, {_image('NEW', cols)}, {customer.format(row='NEW')}); END",
        "d": f"CREATE TEMP TRIGGER crm_log_{table}_d AFTER DELETE ON main.{table} BEGIN "
        f"{base}, OLD.{row_id}, 'delete', {_image('OLD', cols)}, NULL, {customer.format(row='OLD')}); END",
    }


def move_rows(conn: Any, set_id: int, table: str, from_id: int, to_id: int) -> int:
    """Move every row of ``table`` from customer ``from_id`` to ``to_id``, logged as *one* change
    (op ``move``, before ``{"customer_id": from_id, "ids": [...]}``, after ``{"customer_id": to_id}``)
    instead of one per row: a merge of a customer with 1,000 follow-ups writes one change row, not
    1,000 images of them. Undo moves those rows back. Returns how many rows moved.

    ``conn`` is the SQLAlchemy connection of the logged write transaction, on either database."""
    if conn.dialect.name == "postgresql":
        from crmcli.store import pg_changelog

        return pg_changelog.move_rows(conn, set_id, table, from_id, to_id)
    cur = conn.connection.driver_connection.cursor()
    try:
        ids = [r[0] for r in cur.execute(f"SELECT id FROM {table} WHERE customer_id = ? ORDER BY id", (from_id,))]
        if not ids:
            return 0
        cur.execute(
            "INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) VALUES (?, ?, 0, 'move', ?, ?, ?)",
            (set_id, table, json.dumps({"customer_id": from_id, "ids": ids}), json.dumps({"customer_id": to_id}), to_id),
        )
        cur.execute(f"DROP TRIGGER IF EXISTS temp.crm_log_{table}_u")  # the change above is the log of this UPDATE
        try:
            cur.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (to_id, from_id))
        finally:
            cur.execute(_table_triggers(set_id, table)["u"])
        return len(ids)
    finally:
        cur.close()


def final_number(conn: Any) -> int:
    """The number of the logged transaction's change set (``conn.info["change_set"]``) as it will
    be committed: on PostgreSQL it is given now (``pg_changelog.final``), for a command that names
    its own change set (an undo says "as change N"); SQLite's ids have no gaps to begin with."""
    if conn.dialect.name == "postgresql":
        from crmcli.store import pg_changelog

        return pg_changelog.final(conn)
    return int(conn.info["change_set"])


def open_set(conn: Any, *, user: str | None, command: str | None, kind: str, batch_id: int | None = None) -> int:
    """A change set that logs no rows itself (an import's: its batch does), in ``conn``'s
    transaction; ``close_set`` gives it its number before the commit."""
    if conn.dialect.name == "postgresql":
        from crmcli.store import pg_changelog

        return pg_changelog.open_set(conn, user=user, command=command, kind=kind, batch_id=batch_id)
    from sqlalchemy import text

    return int(conn.execute(
        text('INSERT INTO change_set (at, "user", command, kind, batch_id) VALUES (:at, :u, :c, :k, :b) RETURNING id'),
        {"at": now_iso(), "u": user, "c": command, "k": kind, "b": batch_id},
    ).scalar_one())  # fmt: skip


def close_set(conn: Any, set_id: int) -> int:
    """``open_set``'s change set numbered for good (PostgreSQL, ``pg_changelog.final``)."""
    if conn.dialect.name == "postgresql":
        from crmcli.store import pg_changelog

        return pg_changelog.final(conn, set_id)
    return set_id


@functools.cache
def _drops() -> tuple[str, ...]:
    return tuple(f"DROP TRIGGER IF EXISTS temp.crm_log_{t}_{k}" for t in tracked() for k in "iud")


def drop_sql() -> list[str]:
    return list(_drops())


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def begin(dbapi: Any, *, user: str | None, command: str | None, kind: str = "edit", undoes: int | None = None) -> int:
    """Open a change set on the raw connection (inside its transaction) and start logging into it."""
    cur = dbapi.cursor()
    try:
        cur.execute(
            "INSERT INTO change_set (at, user, command, kind, undoes) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), user, command, kind, undoes),
        )
        set_id = int(cur.lastrowid)
        for sql in drop_sql() + trigger_sql(set_id):
            cur.execute(sql)
        return set_id
    finally:
        cur.close()


def end(dbapi: Any, set_id: int, *, keep_empty: bool = False) -> int:
    """Stop logging; a change set that changed nothing is removed. Returns how many changes it has."""
    cur = dbapi.cursor()
    try:
        for sql in drop_sql():
            cur.execute(sql)
        n = int(cur.execute("SELECT count(*) FROM change WHERE set_id = ?", (set_id,)).fetchone()[0])
        if n == 0 and not keep_empty:
            cur.execute("DELETE FROM change_set WHERE id = ?", (set_id,))
        return n
    finally:
        cur.close()


def stop(dbapi: Any) -> None:
    """Drop the triggers whatever happened (an error rolls the change set back with the rest)."""
    cur = dbapi.cursor()
    try:
        for sql in drop_sql():
            cur.execute(sql)
    finally:
        cur.close()
