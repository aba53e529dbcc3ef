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
one update per row. The update triggers of the tables whose rows move (``MOVABLE``) fire ``OF``
every logged column but ``customer_id``: SQLite does not even compile them into ``move_rows``'
UPDATE, which sets only that column, so a 1,000-row move costs what the UPDATE costs by hand (the
trigger's gate was evaluated once a row before, ~0.3 ms for 1,000). The price: a statement that
changes only the customer of such a row is not logged by the triggers, so every one must be
``move_rows`` (a merge, and undo of a move: ``history``); a test holds the sources to it. A
statement that changes another logged column as well is logged as before, customer included.
The gate's ``mute`` column (migration 0008) is left unused on SQLite; PostgreSQL's triggers still
log ``customer_id`` and its ``move_rows`` stops its gate around the UPDATE (``pg_changelog``).

What a customer's follow-ups imply (``last_follow_at``, ``last_method``, ``next_date``,
``next_plan``) and its opportunities imply (the purchase history: ``orders``, ``total_amount``,
``last_order_at``, ``main_products``) is derived, not logged: it is worked out again after an undo.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

# The customer's columns worked out from its follow-ups and opportunities: not logged. Only the
# customer's: a follow-up's own next_date / next_plan are what the user typed (they were left out
# of its images by name until 0009, so `crm follow edit N --next-date` was neither logged nor undone).
DERIVED = frozenset({"last_follow_at", "last_method", "next_date", "next_plan", "orders", "total_amount", "last_order_at", "main_products"})
# Tables whose rows a merge moves from one customer to another (services/merge.py), each move
# logged by ``move_rows`` as one change: their update triggers leave ``customer_id`` out of ``OF``.
MOVABLE = ("follow_up", "stage_change", "deal", "ticket")


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
        cols = tuple(c.name for c in table.columns if not (table.name == "customer" and c.name in DERIVED))
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
    # OF the logged columns: a statement that sets only derived ones (the follow-up summary, the
    # purchase history) is not even compiled with this trigger; nor is one that sets only the
    # customer of a movable row (``move_rows``, which logs the move itself)
    of = [c for c in cols if not (table in MOVABLE and c == "customer_id")]
    # the gate first: with none (an import, another client) nothing else is evaluated
    return {
        "i": f"CREATE TRIGGER crm_log_{table}_i AFTER INSERT ON {table} WHEN {_SET} IS NOT NULL BEGIN "
        f"{base}, NEW.{row_id}, 'insert', NULL, {_image('NEW', cols)}, {customer.format(row='NEW')}); END",
        "u": f"CREATE TRIGGER crm_log_{table}_u AFTER UPDATE OF {', '.join(_q(c) for c in of)} ON {table} "
        f"WHEN {_SET} IS NOT NULL AND ({changed}) BEGIN "
        f"{base}, NEW.{row_id}, 'update', {_image('OLD', cols)}, {_image('NEW', cols)}, {customer.format(row='NEW')}); END",
        "d": f"CREATE TRIGGER crm_log_{table}_d AFTER DELETE ON {table} WHEN {_SET} IS NOT NULL BEGIN "
        f"{base}, OLD.{row_id}, 'delete', {_image('OLD', cols)}, NULL, {customer.format(row='OLD')}); END",
    }


def move_rows(conn: Any, set_id: int | None, table: str, from_id: int, to_id: int, ids: list[int] | None = None) -> int:
    """Move every row of ``table`` (one of ``MOVABLE``) from customer ``from_id`` to ``to_id`` --
    only those of ``ids`` among them when given (an undo moves back what a merge moved) -- logged
    as *one* change (op ``move``, before ``{"customer_id": from_id, "ids": [...]}``, after
    ``{"customer_id": to_id}``) instead of one per row: a merge of a customer with 1,000 follow-ups
    writes one change row, not 1,000 images of them. Undo moves those rows back. Returns how many
    rows moved. ``set_id`` None: an unlogged write (no change set), the rows moved all the same.

    ``conn`` is the SQLAlchemy connection of the write transaction, on either database. This is
    the only way the customer of a movable row changes: the triggers do not log it (see above)."""
    if table not in MOVABLE:  # pragma: no cover - programming error
        raise ValueError(f"{table} rows do not move between customers")
    if conn.dialect.name == "postgresql":
        from crmcli.store import pg_changelog

        return pg_changelog.move_rows(conn, set_id, table, from_id, to_id, ids)
    import json

    # the ids to move through SQLite's json_each: any number of them in one parameter
    only, extra = ("", ()) if ids is None else (" AND id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))
    cur = conn.connection.driver_connection.cursor()
    try:
        if set_id is not None:
            # the ids listed by SQLite itself (no row through Python), as json.dumps would write them
            cur.execute(
                "INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) "
                "SELECT ?, ?, 0, 'move', '{\"customer_id\": ' || ? || ', \"ids\": [' || group_concat(id, ', ') || ']}', "
                f"'{{\"customer_id\": ' || ? || '}}', ? FROM (SELECT id FROM {table} WHERE customer_id = ?{only} ORDER BY id) "
                "HAVING count(*) > 0",
                (set_id, table, from_id, to_id, to_id, from_id, *extra),
            )
            if not cur.rowcount:
                return 0
        # not logged by the update trigger, which is not OF customer_id: the change above is its log
        cur.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?{only}", (to_id, from_id, *extra))
        return int(cur.rowcount)
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
