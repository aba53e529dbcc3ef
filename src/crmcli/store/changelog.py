"""The change log, recorded by the database itself (spec §18).

A writing command opens a change set (``change_set``: when, who, the command as typed) and, for
the length of its transaction, triggers write one ``change`` row per row any statement inserts,
updates or deletes in the customer tables, with the row's fields before and after as JSON. So
every write path -- add, edit, follow, stage, archive, custom values, undo itself, and the
cascades the database performs -- is logged the same way, and no service has to remember to.

On SQLite the triggers are permanent (``install_sql``: made by the schema, new or upgraded, from
``tracked()``), the same design as PostgreSQL's (``pg_changelog``), and they log only while the
one-row table ``change_gate`` names an open change set. ``begin`` writes that row inside the
command's write transaction and ``end``/``stop`` delete it before the commit, so no other
connection ever sees it (an error or a crash rolls it back with the rest): an import (logged by its
batch, ``batch_change``), other processes and a user's own ``sqlite3`` shell log nothing, each
trigger's ``WHEN`` finding the gate empty. The triggers call only SQLite's own functions.

They replaced TEMP triggers that each logged command created on its connection and dropped again:
27 ``CREATE TEMP TRIGGER`` cost ~1.7 ms a command, SQLite parsing each one twice. A permanent
trigger is parsed once, when a connection first reads the schema (~0.7 ms for all of them, on every
connection, reading or writing), and compiled into each statement that writes its table. Any
trigger on a table also makes SQLite open a statement journal for each statement writing it
(~3 µs): many rows go in multi-row statements (the importer's), not one ``executemany`` row at a time.

A merge moves a customer's rows to another as one ``move`` change per table (``move_rows``), not
one update per row: the gate's ``mute`` names the table whose update trigger stays quiet meanwhile.

What a customer's follow-ups imply (``last_follow_at``, ``last_method``, ``next_date``,
``next_plan``) and its opportunities imply (the purchase history: ``orders``, ``total_amount``,
``last_order_at``, ``main_products``) is derived, not logged: it is worked out again after an undo.
"""

from __future__ import annotations

import datetime as dt
import functools
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


GATE = "change_gate"
# At most one row (``id`` 1), written and deleted inside one write transaction: never committed.
GATE_DDL = "CREATE TABLE IF NOT EXISTS change_gate (id INTEGER PRIMARY KEY CHECK (id = 1), set_id INTEGER NOT NULL, mute TEXT)"
_SET = "(SELECT set_id FROM change_gate)"


def install_sql() -> list[str]:
    """The permanent SQLite triggers of every logged table (after dropping any of an older
    shape): run in the transaction that creates or upgrades the schema."""
    return [*drop_sql(), *(sql for table in tracked() for sql in _trigger_sql(table).values())]


def drop_sql() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS crm_log_{t}_{k}" for t in tracked() for k in "iud"]


def install(conn: Any) -> None:
    """The gate and the triggers in ``conn``'s transaction (SQLAlchemy, SQLite)."""
    for sql in (GATE_DDL, *install_sql()):
        conn.exec_driver_sql(sql)


@functools.cache
def _trigger_sql(table: str) -> dict[str, str]:
    """One table's three triggers, by the operation: "i", "u", "d"."""
    row_id, customer, cols = tracked()[table]
    base = f"INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) VALUES ({_SET}, '{table}'"
    changed = " OR ".join(f"OLD.{_q(c)} IS NOT NEW.{_q(c)}" for c in cols)
    # the gate first: with none (an import, another client) nothing else is evaluated
    return {
        "i": f"CREATE TRIGGER crm_log_{table}_i AFTER INSERT ON {table} WHEN {_SET} IS NOT NULL BEGIN "
        f"{base}, NEW.{row_id}, 'insert', NULL, {_image('NEW', cols)}, {customer.format(row='NEW')}); END",
        # OF the logged columns: a statement that sets only derived ones (the follow-up summary,
        # the purchase history) is not even compiled with this trigger
        "u": f"CREATE TRIGGER crm_log_{table}_u AFTER UPDATE OF {', '.join(_q(c) for c in cols)} ON {table} "
        f"WHEN (SELECT set_id FROM change_gate WHERE mute IS NOT '{table}') IS NOT NULL AND ({changed}) BEGIN "
        f"{base}, NEW.{row_id}, 'update', {_image('OLD', cols)}, {_image('NEW', cols)}, {customer.format(row='NEW')}); END",
        "d": f"CREATE TRIGGER crm_log_{table}_d AFTER DELETE ON {table} WHEN {_SET} IS NOT NULL BEGIN "
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
        # the ids listed by SQLite itself (no row through Python), as json.dumps would write them
        cur.execute(
            "INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) "
            "SELECT ?, ?, 0, 'move', '{\"customer_id\": ' || ? || ', \"ids\": [' || group_concat(id, ', ') || ']}', "
            f"'{{\"customer_id\": ' || ? || '}}', ? FROM (SELECT id FROM {table} WHERE customer_id = ? ORDER BY id) HAVING count(*) > 0",
            (set_id, table, from_id, to_id, to_id, from_id),
        )
        if not cur.rowcount:
            return 0
        cur.execute("UPDATE change_gate SET mute = ?", (table,))  # the change above is the log of this UPDATE
        try:
            cur.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (to_id, from_id))
            return int(cur.rowcount)
        finally:
            cur.execute("UPDATE change_gate SET mute = NULL")
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


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def begin(dbapi: Any, *, user: str | None, command: str | None, kind: str = "edit", undoes: int | None = None) -> int:
    """Open a change set on the raw connection (inside its transaction) and start logging into it:
    the gate names it, for this transaction's eyes only."""
    cur = dbapi.cursor()
    try:
        cur.execute(
            "INSERT INTO change_set (at, user, command, kind, undoes) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), user, command, kind, undoes),
        )
        set_id = int(cur.lastrowid)
        cur.execute("INSERT OR REPLACE INTO change_gate (id, set_id) VALUES (1, ?)", (set_id,))
        return set_id
    finally:
        cur.close()


def end(dbapi: Any, set_id: int, *, keep_empty: bool = False) -> int:
    """Stop logging (the gate is emptied before the commit); a change set that changed nothing is
    removed. Returns how many changes it has."""
    cur = dbapi.cursor()
    try:
        cur.execute("DELETE FROM change_gate")
        n = int(cur.execute("SELECT count(*) FROM change WHERE set_id = ?", (set_id,)).fetchone()[0])
        if n == 0 and not keep_empty:
            cur.execute("DELETE FROM change_set WHERE id = ?", (set_id,))
        return n
    finally:
        cur.close()


def stop(dbapi: Any) -> None:
    """Stop logging whatever happened: the transaction is rolled back, change set, gate and all;
    emptying the gate first only makes sure, and a failure here must not hide the error that
    brought us here."""
    import sqlite3

    try:
        dbapi.execute("DELETE FROM change_gate")
    except sqlite3.Error:
        pass
