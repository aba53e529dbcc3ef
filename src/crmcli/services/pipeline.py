"""Stage changes and deals (成交): the pipeline history reports are built from.

``crm stage REF won --amount N`` records a won opportunity (``opportunities.record_won``) and the
stage change it made; the opportunities themselves are ``services.opportunities``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_
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
    confirmed: bool = True,
) -> dict[str, Any]:
    """Move a customer to stage ``to`` on date ``on``; ``won`` with an amount records a deal.

    Returns what happened: ``{"from": ..., "to": ..., "deal": amount or None}``.
    A won customer can win again (repeat purchase): won -> won with an amount is
    a new deal, not a stage change.
    """
    current = conn.execute(select(C.c.stage).where(C.c.id == customer["id"])).scalar_one()
    if today is not None and on > today:
        raise CrmError(N_("{date} {value} is in the future; a stage change is recorded when it happens"), options=["date"], value=on.isoformat())
    if amount is not None and to != "won":
        raise UsageError(N_("{amount} goes with stage won (the deal amount)"), options=["amount"])
    if amount is not None and amount <= 0:
        raise CrmError(N_("deal amount must be greater than 0"))
    if to == "lost" and not reason:
        raise UsageError(N_("stage lost needs {reason} (流失原因)"), options=["reason"])
    if current == to == "lost":  # a lost reason typed wrong: correct it, no second stage change
        return _correct_lost_reason(conn, customer, reason)  # type: ignore[arg-type]
    if current == to and not (to == "won" and amount is not None):
        raise CrmError(N_("{code} is already at stage {stage}"), code=customer.get("code", ""), stage=to)
    if amount is not None and not confirmed:
        _check_deal(conn, customer, amount, on)
    deal_id = code = None
    if amount is not None:  # a won opportunity (spec §13), before the stage change that names it
        from crmcli.services import opportunities

        deal_id = opportunities.record_won(conn, customer, amount=amount, on=on, by=by, batch_id=batch_id)
        code = conn.execute(select(D.c.code).where(D.c.id == deal_id)).scalar_one()
    if current != to:
        conn.execute(
            insert(S).values(
                customer_id=customer["id"], from_stage=current, to_stage=to, date=on, by=by, reason=reason,
                batch_id=batch_id, deal_id=deal_id,
            )
        )  # fmt: skip
        values: dict[str, Any] = {"stage": to}
        # The reason belongs to being lost: it stays in the stage-change history, not on a
        # customer who has come back.
        values["lost_reason"] = reason if to == "lost" else None
        conn.execute(update(C).where(C.c.id == customer["id"]).values(**values))
    if deal_id is not None:
        from crmcli.services import purchases

        purchases.refresh(conn, [customer["id"]])
    return {"from": current, "to": to, "deal": amount, "deal_code": code}


def _correct_lost_reason(conn: Connection, customer: dict[str, Any], reason: str) -> dict[str, Any]:
    """The reason of a lost customer's latest change to lost, and the customer's, set to ``reason``."""
    latest = conn.execute(
        select(S.c.id).where(S.c.customer_id == customer["id"], S.c.to_stage == "lost").order_by(S.c.date.desc(), S.c.id.desc())
    ).first()
    if latest is not None:
        conn.execute(update(S).where(S.c.id == latest.id).values(reason=reason))
    conn.execute(update(C).where(C.c.id == customer["id"]).values(lost_reason=reason))
    return {"from": "lost", "to": "lost", "deal": None, "reason_corrected": True, "reason": reason}


REPEAT_MINUTES = 10
OUTLIER_FACTOR = 100
OUTLIER_AFTER = 20  # won opportunities in the database before an amount can look outsized


def _check_deal(conn: Connection, customer: dict[str, Any], amount: float, on: dt.date) -> None:
    """Refuse (NeedsConfirmation) a deal that looks like a mistake (spec §18): the same amount on
    the same customer and day recorded minutes ago (up-arrow + Enter), or an amount more than 100×
    the largest so far (three zeros too many)."""
    from sqlalchemy import func, text

    from crmcli.errors import NeedsConfirmation
    from crmcli.store.changelog import now_iso

    since = (dt.datetime.fromisoformat(now_iso()) - dt.timedelta(minutes=REPEAT_MINUTES)).isoformat(timespec="seconds")
    recent = conn.execute(
        text(
            "SELECT s.at FROM change c JOIN change_set s ON s.id = c.set_id JOIN deal d ON d.id = c.row_id "
            "WHERE c.table_name = 'deal' AND c.op = 'insert' AND d.customer_id = :cid AND d.amount = :amount "
            "AND d.closed_at = :on AND d.stage = 'won' AND s.at >= :since ORDER BY s.at DESC LIMIT 1"
        ),
        {"cid": customer["id"], "amount": amount, "on": on.isoformat(), "since": since},
    ).first()
    if recent is not None:
        ago = max(1, round((dt.datetime.fromisoformat(now_iso()) - dt.datetime.fromisoformat(recent.at)).total_seconds() / 60))
        raise NeedsConfirmation(N_("the same deal ({amount:,.2f} on {value}) was recorded for {value2} {ago} minute(s) ago"), amount=amount, value=on.isoformat(), value2=customer.get('code', ''), ago=ago)
    count, largest = conn.execute(select(func.count(), func.max(D.c.amount)).select_from(D).where(D.c.stage == "won")).one()
    if count >= OUTLIER_AFTER and largest and amount > OUTLIER_FACTOR * largest:
        raise NeedsConfirmation(N_("a deal of {amount:,.2f} is more than {outlier_factor}× the largest so far ({largest:,.2f})"), amount=amount, outlier_factor=OUTLIER_FACTOR, largest=largest)
