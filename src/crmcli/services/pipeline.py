"""Stage changes and deals (成交): the pipeline history reports are built from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from crmcli.errors import CrmError, UsageError
from crmcli.models import Customer, Deal, StageChange

C = Customer.__table__  # type: ignore[attr-defined]
S = StageChange.__table__  # type: ignore[attr-defined]
D = Deal.__table__  # type: ignore[attr-defined]


def change_stage(
    conn: Connection,
    customer: dict[str, Any],
    to: str,
    *,
    on: dt.date,
    by: str | None = None,
    reason: str | None = None,
    amount: float | None = None,
    batch_id: int | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Move a customer to stage ``to`` on date ``on``; ``won`` with an amount records a deal.

    Returns what happened: ``{"from": ..., "to": ..., "deal": amount or None}``.
    A won customer can win again (repeat purchase): won -> won with an amount is
    a new deal, not a stage change.
    """
    current = conn.execute(select(C.c.stage).where(C.c.id == customer["id"])).scalar_one()
    if today is not None and on > today:
        raise CrmError(f"--date {on.isoformat()} is in the future; a stage change is recorded when it happens")
    if amount is not None and to != "won":
        raise UsageError("--amount goes with stage won (the deal amount)")
    if amount is not None and amount <= 0:
        raise CrmError("deal amount must be greater than 0")
    if to == "lost" and not reason:
        raise UsageError("stage lost needs --reason (流失原因)")
    if current == to and not (to == "won" and amount is not None):
        raise CrmError(f"{customer.get('code', '')} is already at stage {to}".strip())
    if current != to:
        conn.execute(
            insert(S).values(
                customer_id=customer["id"], from_stage=current, to_stage=to, date=on, by=by, reason=reason, batch_id=batch_id
            )
        )
        values: dict[str, Any] = {"stage": to}
        # The reason belongs to being lost: it stays in the stage-change history, not on a
        # customer who has come back.
        values["lost_reason"] = reason if to == "lost" else None
        conn.execute(update(C).where(C.c.id == customer["id"]).values(**values))
    if amount is not None:
        conn.execute(insert(D).values(customer_id=customer["id"], amount=amount, date=on, by=by, batch_id=batch_id))
    return {"from": current, "to": to, "deal": amount}
