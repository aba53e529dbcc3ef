"""The change log on PostgreSQL (spec §18), the same records as SQLite's triggers.

SQLite's triggers log while the writing transaction's uncommitted row in ``change_gate`` names a
change set (``changelog``). On PostgreSQL the triggers are permanent too and log only while the
transaction-local setting ``crm.change_set`` names an open change set: ``begin`` sets it with
``set_config(..., true)``, so it ends with the transaction, and ``end`` clears it. A session that
never sets it (an import, logged by its batch; db copy; psql) pays one ``current_setting`` per
row in the trigger's ``WHEN`` and logs nothing (no trigger event is queued). The setting only says *which* change set a row goes to; who may write which rows
is decided by row-level security on the session's login, never by a setting (spec §16).

Logged columns and the customer of each row come from ``changelog.tracked()``, so both databases
log exactly the same fields.
"""

from __future__ import annotations

from typing import Any

from crmcli.store import changelog

SETTING = "crm.change_set"


def _q(name: str) -> str:
    return '"' + name + '"'


def _image(prefix: str, cols: tuple[str, ...]) -> str:
    # json_build_object keeps the column order (jsonb would sort the keys); 100 arguments at most
    chunks = [cols[i : i + 50] for i in range(0, len(cols), 50)]
    parts = ["json_build_object(" + ", ".join(f"'{c}', {prefix}.{_q(c)}" for c in chunk) + ")::text" for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    return "'{' || " + " || ',' || ".join(f"substr({p}, 2, length({p}) - 2)" for p in parts) + " || '}'"


def install_sql() -> list[str]:
    """The trigger functions and triggers, one set per logged table (idempotent)."""
    out = []
    for table, (row_id, customer, cols) in changelog.tracked().items():
        changed = " OR ".join(f"OLD.{_q(c)} IS DISTINCT FROM NEW.{_q(c)}" for c in cols)
        base = "INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) VALUES (s"
        out.append(
            f"""CREATE OR REPLACE FUNCTION crm_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE s integer := NULLIF(current_setting('{SETTING}', true), '')::integer;
BEGIN
  IF s IS NULL THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    {base}, '{table}', NEW.{row_id}, 'insert', NULL, {_image('NEW', cols)}, {customer.format(row='NEW')});
  ELSIF TG_OP = 'UPDATE' THEN
    IF {changed} THEN
      {base}, '{table}', NEW.{row_id}, 'update', {_image('OLD', cols)}, {_image('NEW', cols)}, {customer.format(row='NEW')});
    END IF;
  ELSE
    {base}, '{table}', OLD.{row_id}, 'delete', {_image('OLD', cols)}, NULL, {customer.format(row='OLD')});
  END IF;
  RETURN NULL;
END $f$"""
        )
        out.append(f"DROP TRIGGER IF EXISTS crm_log ON {table}")
        # WHEN: outside a change set (an import, db copy, psql) no trigger event is even queued
        out.append(
            f"CREATE TRIGGER crm_log AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW "
            f"WHEN (current_setting('{SETTING}', true) <> '') EXECUTE FUNCTION crm_log_{table}()"
        )
    return out


def install(conn: Any) -> None:
    from crmcli.store.postgres import run_ddl

    run_ddl(conn, install_sql())


def begin(conn: Any, *, user: str | None, command: str | None, kind: str = "edit", undoes: int | None = None) -> int:
    """Open a change set in ``conn``'s transaction and start logging into it; its id is provisional
    (negative) until ``final`` numbers it."""
    from sqlalchemy import text

    set_id = open_set(conn, user=user, command=command, kind=kind, undoes=undoes)
    conn.execute(text("SELECT set_config(:s, :v, true)"), {"s": SETTING, "v": str(int(set_id))})
    return set_id


def open_set(conn: Any, *, user: str | None, command: str | None, kind: str, undoes: int | None = None, batch_id: int | None = None) -> int:
    """A change set with a provisional (negative) id, numbered by ``final`` as its transaction ends.

    A database whose schema was installed before the counter (``pg_schema``; an admin's ``crm
    team init`` installs it) numbers from the sequence at once, as it did: with gaps."""
    from sqlalchemy import text

    return int(conn.execute(
        text(
            'INSERT INTO change_set (id, at, "user", command, kind, undoes, batch_id) '
            "VALUES ((CASE WHEN to_regprocedure('crm_change_number()') IS NULL THEN 1 ELSE -1 END) "
            "* nextval(pg_get_serial_sequence('change_set', 'id')), :at, :u, :c, :k, :n, :b) RETURNING id"
        ),
        {"at": changelog.now_iso(), "u": user, "c": command, "k": kind, "n": undoes, "b": batch_id},
    ).scalar_one())  # fmt: skip


def final(conn: Any, p: int | None = None) -> int:
    """The number for good of change set ``p`` (by default the logged one, ``conn.info``): the
    next of the counter (``pg_schema``), whose lock is then held until the commit that follows;
    its changes move from the provisional id."""
    from sqlalchemy import text

    logged = p is None
    p = int(conn.info["change_set"] if p is None else p)
    if p > 0:
        return p
    n = int(conn.execute(text("SELECT crm_change_number()")).scalar_one())
    ex = conn.execute
    ex(text('INSERT INTO change_set (id, at, "user", command, kind, batch_id, undoes, undone_by) '
            'SELECT :n, at, "user", command, kind, batch_id, undoes, undone_by FROM change_set WHERE id = :p'), {"n": n, "p": p})  # fmt: skip
    for sql in ("UPDATE change SET set_id = :n WHERE set_id = :p", "UPDATE merge SET set_id = :n WHERE set_id = :p",
                "UPDATE change_set SET undone_by = :n WHERE undone_by = :p", "DELETE FROM change_set WHERE id = :p"):  # fmt: skip
        ex(text(sql), {"n": n, "p": p})
    if logged:
        if conn.execute(text("SELECT current_setting(:s, true)"), {"s": SETTING}).scalar() == str(p):
            conn.execute(text("SELECT set_config(:s, :v, true)"), {"s": SETTING, "v": str(n)})
        conn.info["change_set"] = n
    return n


def end(conn: Any, set_id: int, *, keep_empty: bool = False) -> int:
    """Stop logging; a change set that changed nothing is removed (it never had a number), one that
    did is numbered (``final``). Returns how many changes it has."""
    from sqlalchemy import text

    stop(conn)
    n = int(conn.execute(text("SELECT count(*) FROM change WHERE set_id = :s"), {"s": set_id}).scalar_one())
    if set_id < 0:
        if n == 0 and not keep_empty:
            conn.execute(text("DELETE FROM change_set WHERE id = :s"), {"s": set_id})
        else:
            conn.info["change_set"] = set_id
            final(conn)
    return n


def stop(conn: Any) -> None:
    from sqlalchemy import text

    conn.execute(text("SELECT set_config(:s, '', true)"), {"s": SETTING})


def move_rows(conn: Any, set_id: int | None, table: str, from_id: int, to_id: int, ids: list[int] | None = None) -> int:
    """``changelog.move_rows`` here: one ``move`` change, the UPDATE itself not logged row by row
    (this database's triggers do log a change of ``customer_id``: the gate is stopped around it)."""
    import json

    from sqlalchemy import bindparam, text

    only = "" if ids is None else " AND id IN :ids"
    params: dict[str, Any] = {"f": from_id} if ids is None else {"f": from_id, "ids": list(ids)}

    def q(sql: str) -> Any:
        return text(sql).bindparams(bindparam("ids", expanding=True)) if ids is not None else text(sql)

    moving = [r[0] for r in conn.execute(q(f"SELECT id FROM {table} WHERE customer_id = :f{only} ORDER BY id"), params)]
    if not moving:
        return 0
    if set_id is None:  # an unlogged write: nothing to record, nothing to stop
        conn.execute(q(f"UPDATE {table} SET customer_id = :t WHERE customer_id = :f{only}"), {**params, "t": to_id})
        return len(moving)
    conn.execute(
        text(
            "INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) "
            "VALUES (:s, :t, 0, 'move', :b, :a, :c)"
        ),
        {"s": set_id, "t": table, "b": json.dumps({"customer_id": from_id, "ids": moving}),
         "a": json.dumps({"customer_id": to_id}), "c": to_id},
    )  # fmt: skip
    stop(conn)  # the change above is the log of this UPDATE
    try:
        conn.execute(q(f"UPDATE {table} SET customer_id = :t WHERE customer_id = :f{only}"), {**params, "t": to_id})
    finally:
        conn.execute(text("SELECT set_config(:s, :v, true)"), {"s": SETTING, "v": str(int(set_id))})
    return len(moving)
