"""Follow-ups (跟进记录) and the customer's derived last/next follow-up columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, text

from crmcli.models import FollowUp

F = FollowUp.__table__  # type: ignore[attr-defined]

_REFRESH = """
UPDATE customer SET (last_follow_at, last_method, next_date, next_plan) = (
    SELECT f.date, f.method, f.next_date, f.next_plan FROM follow_up f
    WHERE f.customer_id = customer.id ORDER BY f.date DESC, f.id DESC LIMIT 1)
"""


def refresh_summary(conn: Connection, customer_ids: Iterable[int] | None = None) -> None:
    """Recompute last_follow_at / last_method / next_date / next_plan from the follow-ups.

    The latest follow-up is the one with the greatest date, ties broken by entry
    order (spec §6). ``None`` refreshes every customer.
    """
    if customer_ids is None:
        conn.execute(text(_REFRESH))
        return
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return
    if len(ids) <= 500:
        conn.execute(text(_REFRESH + " WHERE id IN (" + ",".join(str(int(i)) for i in ids) + ")"))
        return
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS _refresh_ids (id INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("DELETE FROM _refresh_ids")
    conn.exec_driver_sql("INSERT OR IGNORE INTO _refresh_ids (id) VALUES (?)", [(int(i),) for i in ids])
    conn.execute(text(_REFRESH + " WHERE id IN (SELECT id FROM _refresh_ids)"))
    conn.exec_driver_sql("DELETE FROM _refresh_ids")


def add_follow_up(
    conn: Connection,
    customer: dict[str, Any],
    *,
    content: str,
    on: dt.date,
    method: str | None = None,
    feedback: str | None = None,
    by: str | None = None,
    next_date: dt.date | None = None,
    next_plan: str | None = None,
    batch_id: int | None = None,
) -> int:
    new_id = conn.execute(
        insert(F).values(
            customer_id=customer["id"],
            date=on,
            method=method,
            content=content,
            feedback=feedback,
            by=by,
            next_date=next_date,
            next_plan=next_plan,
            batch_id=batch_id,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    refresh_summary(conn, [customer["id"]])
    return int(new_id)
