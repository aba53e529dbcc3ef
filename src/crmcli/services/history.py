"""History and undo (spec §18): reading the change log, and taking a change set back.

A change set's changes say, row by row, what was inserted, updated (fields before and after) or
deleted, or, for a merge, which rows of a table moved to which customer (``move``). Undo applies their inverse, newest first, as a new change set (so an undo can itself be
undone): an insert is deleted, a delete is inserted again as it was, an update gets back the
fields it changed. It refuses, naming the later change set, when a later one touched the same
row (a delete, an insert) or the same fields (an update), unless forced. What follow-ups imply
for their customer (last/next follow-up), and opportunities (its purchase history), is worked out
again afterwards. An import's change set
is undone by its batch (``importer.undo``), as ``import --undo`` always did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crmcli.errors import CrmError, NotFound
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.store.reader import Reader

# what an undo says when a later change touched the same rows (merge says it of a merge)
CONFLICT = N_("cannot undo change {change_set}: {value}; run again with {force} to undo it anyway")
SET_COLUMNS = ("id", "at", "user", "command", "kind", "batch_id", "undoes", "undone_by")


def _sets(reader: Reader, where: str, params: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
    sql = (
        "SELECT s.id, s.at, s.user, s.command, s.kind, s.batch_id, s.undoes, "
        "COALESCE(s.undone_by, CASE WHEN b.undone_at IS NOT NULL THEN 0 END) "
        f"FROM change_set s LEFT JOIN import_batch b ON b.id = s.batch_id {where} ORDER BY s.id DESC"
    )
    if limit is not None:
        sql += " LIMIT :limit"
        params = {**params, "limit": limit}
    return [dict(zip(SET_COLUMNS, r, strict=True)) for r in reader.all(sql, params)]


def history(
    reader: Reader, *, customer_id: int | None = None, user: str | None = None, since: str | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Change sets, newest first, each with its changes (``changes``: table, row, op, fields changed)."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if customer_id is not None:
        conds.append("s.id IN (SELECT set_id FROM change WHERE customer_id = :cid)")
        params["cid"] = customer_id
    if user is not None:
        conds.append("s.user = :user")
        params["user"] = user
    if since is not None:
        conds.append("s.at >= :since")
        params["since"] = since
    sets = _sets(reader, ("WHERE " + " AND ".join(conds)) if conds else "", params, limit)
    if not sets:
        return sets
    ids = [s["id"] for s in sets]
    by_set: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    marks = ", ".join(f":s{i}" for i in range(len(ids)))
    rows = reader.all(
        "SELECT c.set_id, c.table_name, c.row_id, c.op, c.before, c.after, c.customer_id, cu.code "
        f"FROM change c LEFT JOIN customer cu ON cu.id = c.customer_id WHERE c.set_id IN ({marks}) ORDER BY c.id",
        {f"s{i}": v for i, v in enumerate(ids)},
    )
    for set_id, table, row_id, op, before, after, _cid, code in rows:
        if customer_id is not None and _cid != customer_id:
            continue
        change = {"table": table, "row": row_id, "op": op, "customer": code, "fields": diff(before, after)}
        if op == "move":  # a merge's rows of one table: how many, and from which customer to which
            change["rows"] = len(change["fields"].pop("ids", [[]])[0] or [])
        by_set[set_id].append(change)
    for s in sets:
        s["changes"] = by_set[s["id"]]
        s["undone"] = s.pop("undone_by") is not None
    return sets


def diff(before: str | None, after: str | None) -> dict[str, list[Any]]:
    """{field: [before, after]} of the fields that differ (all of them for an insert or a delete)."""
    b = json.loads(before) if before else {}
    a = json.loads(after) if after else {}
    return {k: [b.get(k), a.get(k)] for k in dict.fromkeys([*b, *a]) if b.get(k) != a.get(k)}


# --------------------------------------------------------------------------- undo


@dataclass
class UndoPlan:
    change_set: int
    kind: str
    command: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)  # what undo does, newest change first
    conflicts: list[str] = field(default_factory=list)  # later change sets that touched the same fields
    batch_id: int | None = None


def latest_of(reader: Reader, user: str, *, current: int | None = None) -> int:
    """The acting user's latest change set that is not undone (``crm undo`` with no argument)."""
    found = reader.scalar(
        "SELECT s.id FROM change_set s LEFT JOIN import_batch b ON b.id = s.batch_id "
        "WHERE s.user = :u AND s.undone_by IS NULL AND b.undone_at IS NULL AND s.kind != 'undo' AND s.id IS NOT :cur "
        "ORDER BY s.id DESC LIMIT 1",
        {"u": user, "cur": current},
    )
    if found is None:
        raise NotFound(N_("nothing of {user}'s to undo (see crm history)"), user=user)
    return int(found)


def plan(reader: Reader, set_id: int, *, current: int | None = None) -> UndoPlan:
    """What undoing change set ``set_id`` would do, and what later change sets stand in its way.

    Later change sets that were undone, and undos of change sets later than ``set_id``, cancel
    out: they stand in nobody's way. ``current``: the running undo's own change set.
    """
    if set_id == current:
        raise NotFound(N_("no change {set_id} (see crm history)"), set_id=set_id)
    row = reader.one(
        "SELECT s.kind, s.command, s.batch_id, s.undone_by, b.undone_at FROM change_set s "
        "LEFT JOIN import_batch b ON b.id = s.batch_id WHERE s.id = :id", {"id": set_id},
    )  # fmt: skip
    if row is None:
        raise NotFound(N_("no change {set_id} (see crm history)"), set_id=set_id)
    kind, command, batch_id, undone_by, batch_undone = row
    if undone_by is not None or batch_undone is not None:
        if undone_by:
            raise CrmError(N_("change {set_id} was already undone (by change {undone_by})"), set_id=set_id, undone_by=undone_by)
        raise CrmError(N_("change {set_id} was already undone"), set_id=set_id)
    out = UndoPlan(set_id, kind, command, batch_id=batch_id)
    if kind == "import":
        return out
    changes = reader.all(
        "SELECT id, table_name, row_id, op, before, after, customer_id FROM change WHERE set_id = :id ORDER BY id DESC",
        {"id": set_id},
    )
    for cid, table, row_id, op, before, after, customer in changes:
        if op == "move":
            fields_changed: set[str] | None = {"customer_id"}
            rows = json.loads(before)["ids"]
        else:
            fields_changed = set(diff(before, after)) if op == "update" else None
            rows = [row_id]
        later = []
        for i in range(0, len(rows), 500):
            part = rows[i : i + 500]
            marks = ", ".join(f":r{k}" for k in range(len(part)))
            later += reader.all(
                "SELECT c.set_id, c.op, c.before, c.after, c.row_id, c.id FROM change c JOIN change_set s ON s.id = c.set_id "
                f"WHERE c.table_name = :t AND c.row_id IN ({marks}) AND c.op != 'move' AND c.id > :cid AND {_LATER}",
                {"t": table, "cid": cid, "sid": set_id, "cur": current, **{f"r{k}": r for k, r in enumerate(part)}},
            )
        # rows a later merge moved (one change for all of them): their customer_id changed
        for later_set, lb, change_id in reader.all(
            "SELECT c.set_id, c.before, c.id FROM change c JOIN change_set s ON s.id = c.set_id "
            f"WHERE c.op = 'move' AND c.table_name = :t AND c.id > :cid AND {_LATER}",
            {"t": table, "cid": cid, "sid": set_id, "cur": current},
        ):
            moved = sorted(set(json.loads(lb)["ids"]).intersection(rows))
            if moved:
                later.append((later_set, "update", '{"customer_id": 0}', '{"customer_id": 1}', moved[0], change_id))
        later.sort(key=lambda r: r[5])
        key = _row_key(table, before or after) if op != "move" else None
        for later_set, later_op, lb, la, later_row, _kind in later:
            if key != _row_key(table, lb or la):
                continue  # another row of a table keyed by customer (a tag, a custom value)
            touched = set(diff(lb, la)) if later_op == "update" else None
            if fields_changed is None or touched is None or fields_changed & touched:
                what = f"{table} {later_row}" + (f" ({', '.join(sorted((fields_changed or set()) & (touched or set())))})" if fields_changed and touched else "")
                out.conflicts.append(_("change {later_set} changed {what} since").format(later_set=later_set, what=what))
                break
        if op == "insert" and table == "customer" and not out.conflicts:
            # deleting a customer again deletes whatever it gained since: a later change's rows
            gained = reader.one(
                "SELECT c.set_id, c.table_name, c.row_id FROM change c JOIN change_set s ON s.id = c.set_id "
                "WHERE c.customer_id = :r AND c.table_name != 'customer' AND c.set_id > :sid AND s.id IS NOT :cur "
                "AND s.undone_by IS NULL AND NOT (s.kind = 'undo' AND s.undoes > :sid) ORDER BY c.id LIMIT 1",
                {"r": row_id, "sid": set_id, "cur": current},
            )
            if gained is not None:
                out.conflicts.append(_("change {change} added {count} {table} to customer {row_id} since").format(change=gained[0], count=gained[1], table=gained[2], row_id=row_id))
        out.steps.append({"table": table, "row": row_id, "op": op, "before": before, "after": after, "customer_id": customer})
    return out


# Change sets that came after the one being undone and still count: not undone themselves, not the
# running undo (``:cur``), not undos of change sets later than ``:sid``.
_LATER = "s.id != :sid AND s.id IS NOT :cur AND s.undone_by IS NULL AND NOT (s.kind = 'undo' AND s.undoes > :sid)"


def _row_key(table: str, image: str | None) -> Any:
    """What names a row in its table: tags and custom values have a second key besides the customer."""
    if not image:
        return None
    data = json.loads(image)
    if table == "tag":
        return data.get("name")
    if table == "custom_value":
        return data.get("field_key")
    return None


_KEYS = {"tag": ("customer_id", "name"), "custom_value": ("customer_id", "field_key")}


def apply(conn: Any, p: UndoPlan, *, force: bool = False) -> dict[str, Any]:
    """Undo ``p`` inside ``conn``'s logged transaction; return a summary. Refuses on conflicts unless forced."""
    if p.conflicts and not force:
        raise CrmError(CONFLICT, options=["force"], change_set=p.change_set, value=p.conflicts[0])
    out: dict[str, Any] = {"change": p.change_set, "undone_rows": 0}
    if p.kind == "import":
        from crmcli.services import importer

        assert p.batch_id is not None  # an import's change set names its batch
        out.update(importer.undo(conn, p.batch_id, force=force))
    else:
        customers: set[int] = set()
        for step in p.steps:
            out["undone_rows"] += _inverse(conn, step)
            if step["customer_id"] is not None:
                customers.add(step["customer_id"])
            if step["op"] == "move":  # the rows left one customer for another: both are worked out again
                customers.update(json.loads(side)["customer_id"] for side in (step["before"], step["after"]))
        alive = [c for c in customers if _sql(conn, "SELECT 1 FROM customer WHERE id = :id", {"id": c}).first()]
        if alive:
            from crmcli.services import purchases
            from crmcli.services.followups import refresh_summary

            refresh_summary(conn, alive)
            purchases.refresh(conn, alive)
    undo_set = conn.info.get("change_set")
    if undo_set is not None:
        from crmcli.store.changelog import final_number

        undo_set = final_number(conn)
        _sql(conn, "UPDATE change_set SET kind = 'undo', undoes = :u WHERE id = :id", {"u": p.change_set, "id": undo_set})
        _mark_undone(conn, p.change_set, undo_set)
        out["undo"] = undo_set
    return out


def _mark_undone(conn: Any, set_id: int, undo_set: int) -> None:
    """``set_id`` taken back by ``undo_set``, and down the chain of undos it starts: undoing an
    undo puts its change set back in effect (no longer undone), undoing the undo of an undo takes
    that one back again (undone by the undo now in effect), and so on. So a change set's
    ``undone_by`` always names the undo in effect that took it back, or nothing: ``crm undo``,
    ``history`` and ``merges`` read one column, however long the chain."""
    target: int | None = set_id
    by: int | None = undo_set
    while target is not None:
        _sql(conn, "UPDATE change_set SET undone_by = :by WHERE id = :id", {"by": by, "id": target})
        row = _sql(conn, "SELECT undoes FROM change_set WHERE id = :id AND kind = 'undo'", {"id": target}).first()
        by = None if by is not None else target  # the next one down: back in effect, or undone again by this one
        target = None if row is None else row[0]


def _sql(conn: Any, sql: str, params: dict[str, Any] | Sequence[dict[str, Any]]) -> Any:
    """``sql`` with named, bound parameters: the same text on either database."""
    from sqlalchemy import text

    return conn.execute(text(sql), params)


def _inverse(conn: Any, step: dict[str, Any]) -> int:
    """Take one change back; how many rows that put back."""
    from crmcli.store import changelog

    table, op = step["table"], step["op"]
    if op == "move":  # a merge's rows of one table go back to the customer they came from
        before, after = json.loads(step["before"]), json.loads(step["after"])
        # logged as a move too (the triggers do not log a change of customer only), so that
        # undoing this undo moves them again; rows that left KEEP since (a forced undo) stay
        changelog.move_rows(conn, conn.info.get("change_set"), table, after["customer_id"], before["customer_id"], ids=before["ids"])
        return len(before["ids"])
    keys = _KEYS.get(table, ("id",))
    image = json.loads(step["before"] if op != "insert" else step["after"])
    where = " AND ".join(f'"{k}" = :k{i}' for i, k in enumerate(keys))
    params = {f"k{i}": image[k] for i, k in enumerate(keys)}
    if op == "insert":
        _sql(conn, f"DELETE FROM {table} WHERE {where}", params)
    elif op == "delete":
        cols = list(image)
        _sql(
            conn,
            f"INSERT INTO {table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)}) "
            f"VALUES ({', '.join(f':v{i}' for i in range(len(cols)))})",
            {f"v{i}": image[c] for i, c in enumerate(cols)},
        )
    else:
        changed = diff(step["before"], step["after"])
        if table in changelog.MOVABLE and "customer_id" in changed:
            # a row's customer logged as an update (a log older than moves): put back as a move
            back, now = changed.pop("customer_id")
            changelog.move_rows(conn, conn.info.get("change_set"), table, now, back, ids=[image["id"]])
        if changed:
            sets = ", ".join(f'"{k}" = :s{i}' for i, k in enumerate(changed))
            _sql(conn, f"UPDATE {table} SET {sets} WHERE {where}", {**{f"s{i}": v[0] for i, v in enumerate(changed.values())}, **params})
    return 1


def describe(steps: Sequence[dict[str, Any]]) -> list[str]:
    """What an undo would do, one line a row (``--dry-run``)."""
    out = []
    for s in steps:
        if s["op"] == "move":
            before = json.loads(s["before"])
            out.append(_("move {ids} {table} row(s) back to customer {customer_id}").format(ids=len(before['ids']), table=s['table'], customer_id=before['customer_id']))
            continue
        verb = {"insert": "delete", "delete": "put back", "update": "restore"}[s["op"]]
        detail = ""
        if s["op"] == "update":
            detail = ": " + ", ".join(f"{k} {v[1]!r} → {v[0]!r}" for k, v in diff(s["before"], s["after"]).items())
        out.append(f"{verb} {s['table']} {s['row']}{detail}")
    return out
