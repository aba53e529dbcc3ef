"""Import batches: listing them (``crm imports``) and undoing one (``crm import --undo``).

``batch_change`` holds, for a batch, one row for the customers it created (``table_name``
"customers": ids ``row_id`` up to ``before``'s ``until``, exclusive; a batch of a release before
that has one row per customer, ``before`` NULL), one per existing customer it changed (``before`` = ``{"before": {field: old}, "after": {field: new}}``)
and one per tag it added to an existing customer (``table_name`` "tag", ``before`` =
``{"name": tag}``), and one per opportunity it changed (``table_name`` "deal", as for a customer,
with its old lines under ``lines`` when it replaced them). Follow-ups, stage changes,
opportunities and the products an opportunity table created carry ``batch_id``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, NotFound
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.store import in_list, insert_rows, sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.store.reader import Reader


def list_batches(reader: Reader) -> list[dict[str, Any]]:
    rows = reader.all(
        "SELECT id, file, started_at, created, updated, skipped, rejected, follow_ups, undone_at FROM import_batch ORDER BY id"
    )
    keys = ("batch", "file", "started_at", "created", "updated", "skipped", "rejected", "follow_ups", "undone_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def undo(conn: Connection, batch_id: int, *, force: bool = False) -> dict[str, Any]:
    """Put back what batch ``batch_id`` created or changed (one transaction, the caller's).

    Refused when a customer the batch created has since gained records of its own (a manual
    follow-up, stage change or deal, or a later import's change) unless ``force``: undoing
    would delete them with the customer.
    """
    from crmcli.services.followups import refresh_summary

    ex = _ex(conn)
    batch = ex("SELECT id, file, undone_at FROM import_batch WHERE id = :p0", {"p0": batch_id}).first()
    if batch is None:
        raise NotFound(N_("no import batch {batch_id} (see: crm imports)"), batch_id=batch_id)
    if batch[2]:
        raise CrmError(N_("import batch {batch_id} was already undone at {value}"), batch_id=batch_id, value=batch[2])
    ex("CREATE TEMP TABLE IF NOT EXISTS _undo_ids (id INTEGER PRIMARY KEY)")
    ex("DELETE FROM _undo_ids")
    ex(  # a batch of an earlier release: a row per customer it created
        "INSERT INTO _undo_ids (id) SELECT DISTINCT row_id FROM batch_change "
        "WHERE batch_id = :p0 AND table_name = 'customer' AND before IS NULL",
        {"p0": batch_id},
    )
    for first, before in ex("SELECT row_id, before FROM batch_change WHERE batch_id = :p0 AND table_name = 'customers'", {"p0": batch_id}).all():
        ex("INSERT INTO _undo_ids (id) SELECT id FROM customer WHERE id >= :p0 AND id < :p1", {"p0": first, "p1": json.loads(before)["until"]})
    created = ex("SELECT COUNT(*) FROM _undo_ids").scalar() or 0
    later: list[Any] = []
    if created:
        later = list(ex(
            f"""
            SELECT c.code, c.name, COUNT(*) FROM (
                SELECT customer_id AS cid FROM follow_up WHERE customer_id IN (SELECT id FROM _undo_ids) AND {_OTHER}
                UNION ALL SELECT customer_id FROM stage_change WHERE customer_id IN (SELECT id FROM _undo_ids) AND {_OTHER}
                UNION ALL SELECT customer_id FROM deal WHERE customer_id IN (SELECT id FROM _undo_ids) AND {_OTHER}
                UNION ALL SELECT customer_id FROM ticket WHERE customer_id IN (SELECT id FROM _undo_ids) AND {_OTHER}
                UNION ALL SELECT bc.row_id FROM batch_change bc JOIN import_batch b ON b.id = bc.batch_id
                    WHERE bc.row_id IN (SELECT id FROM _undo_ids) AND bc.batch_id != :b AND b.undone_at IS NULL
                    AND bc.before IS NOT NULL AND bc.table_name <> 'customers'
            ) x JOIN customer c ON c.id = x.cid GROUP BY c.id ORDER BY c.id
            """,
            {"b": batch_id},
        ).all())
    if later and not force:
        # one line (spec §10): the first few customers, then how many more
        shown = ", ".join(_("{code} {name} ({n} later record{value})").format(code=code, name=name, n=n, value='s' if n != 1 else '') for code, name, n in later[:5])
        more = _(" and {value} more").format(value=len(later) - 5) if len(later) > 5 else ""
        raise CrmError(N_("cannot undo import batch {batch_id}: {later} customer(s) it created have records added since (follow-ups, stage changes, deals or later imports) that undo would delete: {shown}{more}; run again with {force} to undo anyway"), options=["force"], batch_id=batch_id, later=len(later), shown=shown, more=more)
    # customers the batch changed: restore each field the batch set, unless it was edited since
    restored: set[int] = set()  # customers with anything put back: fields or tags
    kept: list[str] = []
    touched: list[int] = []
    for row_id, before in ex(
        "SELECT row_id, before FROM batch_change WHERE batch_id = :p0 AND table_name = 'customer' AND before IS NOT NULL ORDER BY id DESC",
        {"p0": batch_id},
    ).all():
        image = json.loads(before)
        fields = list(image["before"])
        cur = ex(f"SELECT code, {', '.join(fields)} FROM customer WHERE id = :id", {"id": row_id}).first()
        if cur is None:
            continue
        code = cur[0]
        values = {}
        for i, fld in enumerate(fields):
            now = cur[i + 1]
            if _same(now, image["after"].get(fld)):
                values[fld] = image["before"][fld]
            else:
                kept.append(f"{code} {fld}")
        if values:
            try:
                ex(f"UPDATE customer SET {', '.join(f'{k} = :{k}' for k in values)} WHERE id = :id", {**values, "id": row_id})
            except Exception as exc:
                if "UNIQUE" in str(exc):
                    raise CrmError(N_("cannot undo import batch {batch_id}: restoring {code} would make it a duplicate of another customer ({exc})"), batch_id=batch_id, code=code, exc=exc) from None
                raise
            restored.add(row_id)
        touched.append(row_id)
    for row_id, before in ex("SELECT row_id, before FROM batch_change WHERE batch_id = :p0 AND table_name = 'tag'", {"p0": batch_id}).all():
        if ex("DELETE FROM tag WHERE customer_id = :p0 AND name = :p1", {"p0": row_id, "p1": json.loads(before)["name"]}).rowcount:
            restored.add(row_id)
    for row_id, before in ex("SELECT row_id, before FROM batch_change WHERE batch_id = :p0 AND table_name = 'customer_phone'", {"p0": batch_id}).all():
        ex("DELETE FROM customer_phone WHERE customer_id = :p0 AND phone_key = :p1", {"p0": row_id, "p1": json.loads(before)["phone_key"]})
    for row_id, before in ex(
        "SELECT row_id, before FROM batch_change WHERE batch_id = :p0 AND table_name = 'custom_value' ORDER BY id DESC", {"p0": batch_id}
    ).all():
        image = json.loads(before)
        now = ex("SELECT value FROM custom_value WHERE customer_id = :p0 AND field_key = :p1", {"p0": row_id, "p1": image["key"]}).scalar()
        if now != image["after"]:
            kept.append(f"{row_id} {image['key']}")
            continue
        if image["before"] is None:
            ex("DELETE FROM custom_value WHERE customer_id = :p0 AND field_key = :p1", {"p0": row_id, "p1": image["key"]})
        else:
            ex("UPDATE custom_value SET value = :p0 WHERE customer_id = :p1 AND field_key = :p2", {"p0": image["before"], "p1": row_id, "p2": image["key"]})
        restored.add(row_id)
    deal_customers = _undo_deals(conn, batch_id, kept)
    fu_customers = [r[0] for r in ex("SELECT DISTINCT customer_id FROM follow_up WHERE batch_id = :p0", {"p0": batch_id}).all()]
    follow_ups = ex("DELETE FROM follow_up WHERE batch_id = :p0", {"p0": batch_id}).rowcount
    ex("DELETE FROM stage_change WHERE batch_id = :p0", {"p0": batch_id})
    deals = ex("DELETE FROM deal WHERE batch_id = :p0", {"p0": batch_id}).rowcount  # their lines go with them
    # products the batch created, unless a later opportunity names them
    ex("DELETE FROM product WHERE batch_id = :p0 AND id NOT IN (SELECT product_id FROM deal_line)", {"p0": batch_id})
    ex("DELETE FROM ticket WHERE batch_id = :p0", {"p0": batch_id})
    # later batches' events on the deleted customers go with them (cascade); --force only
    deleted_ids = {r[0] for r in ex("SELECT id FROM _undo_ids").all()}
    deleted = ex("DELETE FROM customer WHERE id IN (SELECT id FROM _undo_ids)").rowcount
    # custom fields the batch made of unknown columns (--keep-unknown) go when no value is left
    for (before,) in ex("SELECT before FROM batch_change WHERE batch_id = :p0 AND table_name = 'custom_field'", {"p0": batch_id}).all():
        key = json.loads(before)["key"]
        if not ex("SELECT 1 FROM custom_value WHERE field_key = :p0 LIMIT 1", {"p0": key}).first():
            ex("DELETE FROM custom_field WHERE key = :p0", {"p0": key})
    ex("DELETE FROM _undo_ids")
    remaining = [c for c in dict.fromkeys([*fu_customers, *touched, *deal_customers])]
    if remaining:
        existing = []
        for i in range(0, len(remaining), 900):
            part = remaining[i : i + 900]
            marks, params = in_list(part)
            existing += [r[0] for r in ex(f"SELECT id FROM customer WHERE id IN ({marks})", params).all()]
        refresh_summary(conn, existing)
        from crmcli.services import purchases

        purchases.refresh(conn, existing)
    ex("UPDATE import_batch SET undone_at = :p0 WHERE id = :p1", {"p0": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "p1": batch_id})
    return {
        "batch": batch_id,
        "file": batch[1],
        "deleted_customers": deleted,
        "restored_customers": len(restored - deleted_ids),
        "deleted_follow_ups": follow_ups,
        "deleted_deals": deals,
        "kept_later_edits": kept,
    }


def _undo_deals(conn: Connection, batch_id: int, kept: list[str]) -> list[int]:
    """The opportunities the batch changed get their fields (and lines) back, unless edited since;
    returns every customer whose opportunities the batch created or changed."""
    ex = _ex(conn)
    customers = [r[0] for r in ex("SELECT DISTINCT customer_id FROM deal WHERE batch_id = :p0", {"p0": batch_id}).all()]
    for row_id, before in ex(
        "SELECT row_id, before FROM batch_change WHERE batch_id = :p0 AND table_name = 'deal' ORDER BY id DESC", {"p0": batch_id}
    ).all():
        image = json.loads(before)
        fields = list(image["before"])
        cur = ex(f"SELECT code, customer_id{''.join(', ' + f for f in fields)} FROM deal WHERE id = :id", {"id": row_id}).first()
        if cur is None:
            continue
        customers.append(cur[1])
        values = {}
        for i, fld in enumerate(fields):
            if _same(cur[i + 2], image["after"].get(fld)):
                values[fld] = image["before"][fld]
            else:
                kept.append(f"{cur[0]} {fld}")
        if values:
            ex(f"UPDATE deal SET {', '.join(f'{k} = :{k}' for k in values)} WHERE id = :id", {**values, "id": row_id})
        if "lines" in image:
            ex("DELETE FROM deal_line WHERE deal_id = :p0", {"p0": row_id})
            if image["lines"]:
                insert_rows(conn, "deal_line", ("deal_id", "product_id", "quantity", "unit_price"), [(row_id, *line) for line in image["lines"]])
    return customers


# a record that another batch, or no batch, brought (SQLite's ``batch_id IS NOT :b``)
_OTHER = "(batch_id IS NULL OR batch_id != :b)"


def _ex(conn: Connection) -> Any:
    def ex(statement: str, params: Any = None) -> Any:
        return sql(conn, statement, params)

    return ex


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return str(a) == str(b) if a is not None and b is not None else False
