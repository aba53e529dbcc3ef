"""Opportunities (销售机会, spec §13), the writing side: add, edit, move to a stage, delete.

Each takes a SQLAlchemy connection whose transaction (and change set) the command owns, and
returns plain data. Two things depend on a customer's opportunities and are kept in step here:

* its stage (``sync_stage``): won once any opportunity is won, else the most advanced open one's
  stage, else lost when all are lost; a customer without opportunities keeps the stage it was
  given. A move is recorded as a stage change that names the opportunity (``deal_id``), so that
  deleting the opportunity puts the customer's stage back (spec §18); a manual ``crm stage``
  still sets the stage, until the customer's opportunities next change.
* its purchase history (``purchases.refresh``).

Reading them (list, show) is ``services.deal_query``, without SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crmcli import normalize
from crmcli.errors import CrmError, NotFound, ParseError, UsageError
from crmcli.i18n import N_, Text
from crmcli.normalize.money import AMOUNT
from crmcli.services import purchases
from crmcli.store import sql
from crmcli.store.codes import deal_codes

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

OPEN = ("potential", "intent", "negotiating")
# what a bad value is called in its error, unless the caller names it (an option, a column)
QUANTITY, PRODUCT, PROBABILITY = Text(N_("quantity")), Text(N_("product")), Text(N_("probability"))
CLOSED = ("won", "lost")
_RANK = {"potential": 0, "intent": 1, "negotiating": 2, "won": 3}
FIXED_PROBABILITY = {"won": 100.0, "lost": 0.0}


# --------------------------------------------------------------------------- values


def parse_probability(value: Any, *, what: Any = PROBABILITY) -> float:
    """A probability in percent, 0 to 100 (``60``, ``60%``)."""
    text = str(value).strip().rstrip("%％").strip()
    try:
        number = float(text)
    except ValueError:
        raise ParseError(N_("{what} '{value}' is not a number (a percentage, 0 to 100)"), what=what, value=value) from None
    if not 0 <= number <= 100:  # False for NaN
        raise ParseError(N_("{what} {text} is out of range; a probability is 0 to 100"), what=what, text=text)
    return number


def parse_amount(value: Any, *, what: Any = None) -> float:
    """A non-negative amount (``50000``, ``5万``); a bad one is named ``what`` (``unit price '-5' is negative``)."""
    try:
        amount = normalize.parse_money(value)
    except ParseError as exc:
        if what is None:
            raise
        if "what" in exc.values:
            raise ParseError(exc.message, **{**exc.values, "what": what}) from None
        raise ParseError(N_("{what}: {reason}"), what=what, reason=exc) from None
    if amount < 0:
        raise ParseError(N_("{what} {value}: an amount cannot be negative"), what=what or AMOUNT, value=value)
    return amount


def parse_quantity(value: Any, *, what: Any = QUANTITY) -> float:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise ParseError(N_("{what} '{value}' is not a number"), what=what, value=value) from None
    if not number > 0 or number == float("inf"):  # NaN, 0 and negatives
        raise ParseError(N_("{what} '{value}' must be a positive number"), what=what, value=value)
    return number


@dataclass
class Line:
    product: str
    quantity: float = 1.0
    unit_price: float | None = None


def parse_line(spec: str, *, what: Any = PRODUCT) -> Line:
    """``NAME[:QTY[:PRICE]]`` (also with ``：``); the name may itself hold colons when no number follows."""
    parts = spec.replace("：", ":").split(":")
    name, qty, price = spec, None, None
    if len(parts) >= 3 and _numberish(parts[-2]) and _numberish(parts[-1]):
        name, qty, price = ":".join(parts[:-2]), parts[-2], parts[-1]
    elif len(parts) >= 2 and _numberish(parts[-1]):
        name, qty = ":".join(parts[:-1]), parts[-1]
    if not normalize.clean_text(name):
        raise ParseError(N_("{what} '{spec}': no product name"), what=what, spec=spec)
    line = Line(normalize.clean_text(name) or "")
    if qty is not None and qty.strip():
        line.quantity = parse_quantity(qty, what=Text(N_("{what} '{spec}': quantity"), what=what, spec=spec))
    if price is not None and price.strip():
        line.unit_price = parse_amount(price, what=Text(N_("{what} '{spec}': price"), what=what, spec=spec))
    return line


def _numberish(text: str) -> bool:
    t = text.strip()
    return t == "" or any(ch.isdigit() for ch in t) and not any(ch.isalpha() and ch not in "万eE" for ch in t)


def line_text(name: str, quantity: float | None, unit_price: float | None) -> str:
    """A line as ``NAME:QTY:PRICE`` (what ``parse_line`` reads back); ``NAME`` alone for one unpriced unit."""
    qty = "" if quantity is None else _num(quantity)
    if unit_price is None:
        return name if qty in ("", "1") else f"{name}:{qty}"
    return f"{name}:{qty or 1}:{_num(unit_price)}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def default_probability(stage: str, defaults: dict[str, float]) -> float:
    """The stage's probability in percent: won 100, lost 0, else the forecast's (config ``probability``)."""
    if stage in FIXED_PROBABILITY:
        return FIXED_PROBABILITY[stage]
    return round(float(defaults.get(stage, 0)) * 100, 4)


def _check_probability(stage: str, probability: float | None) -> None:
    if probability is not None and stage in FIXED_PROBABILITY and probability != FIXED_PROBABILITY[stage]:
        raise UsageError(N_("{probability} {given:g}: a {stage} opportunity's probability is {value:g}"), options=["probability"], given=probability, stage=stage, value=FIXED_PROBABILITY[stage])


def _day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


# --------------------------------------------------------------------------- the customer's stage


def derived_stage(stages: set[str]) -> str | None:
    """The stage a customer's opportunities give it: won once any is won, else the most advanced
    open one's, else lost when all are lost; None without opportunities."""
    if not stages:
        return None
    if "won" in stages:
        return "won"
    open_ = [s for s in stages if s in _RANK]
    return max(open_, key=_RANK.__getitem__) if open_ else "lost"


def sync_stage(
    conn: Any, customer_id: int, *, on: dt.date | str, by: str | None, deal_id: int | None = None,
    reason: str | None = None, batch_id: int | None = None,
) -> dict[str, str] | None:  # fmt: skip
    """Move the customer to the stage its opportunities give it, recording the change; what moved."""
    stages = {r[0] for r in sql(conn, "SELECT DISTINCT stage FROM deal WHERE customer_id = :c", {"c": customer_id})}
    target = derived_stage(stages)
    current = sql(conn, "SELECT stage FROM customer WHERE id = :c", {"c": customer_id}).scalar()
    if target is None or target == current:
        return None
    lost_reason = reason if target == "lost" else None
    sql(
        conn,
        'INSERT INTO stage_change (customer_id, from_stage, to_stage, date, "by", reason, batch_id, deal_id) '
        "VALUES (:c, :f, :t, :d, :by, :r, :b, :deal)",
        {"c": customer_id, "f": current, "t": target, "d": str(on), "by": by, "r": lost_reason, "b": batch_id, "deal": deal_id},
    )
    sql(conn, "UPDATE customer SET stage = :t, lost_reason = :r WHERE id = :c", {"t": target, "r": lost_reason, "c": customer_id})
    return {"from": current, "to": target}


# --------------------------------------------------------------------------- writes


def get(conn: Any, code: str) -> dict[str, Any]:
    """The opportunity ``code`` (with its customer's code, name, owner, archived); NotFound otherwise."""
    clean = normalize.drop_invisible(code).strip().upper()
    row = sql(
        conn,
        "SELECT d.*, c.code AS customer_code, c.name AS customer_name, c.owner AS customer_owner, c.archived AS archived "
        "FROM deal d JOIN customer c ON c.id = d.customer_id WHERE d.code = :code", {"code": clean},
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(N_("no opportunity {value!r} (crm deal list shows the codes)"), value=clean or code)
    return dict(row._mapping)


def _changeable(deal: dict[str, Any]) -> None:
    if deal["archived"]:
        raise CrmError(N_("opportunity {code} belongs to {customer_code} {customer_name}, which is archived; unarchive it first"), code=deal['code'], customer_code=deal['customer_code'], customer_name=deal['customer_name'])


def _lines(conn: Any, lines: list[Line]) -> list[tuple[int, float, float | None]]:
    """(product id, quantity, unit price) for each line; a product must exist (crm product add)."""
    from crmcli.services import products

    out = []
    for line in lines:
        product = products.find(conn, line.product)
        price = line.unit_price if line.unit_price is not None else product["price"]
        out.append((product["id"], line.quantity, price))
    return out


def _priced_total(lines: list[tuple[int, float, float | None]]) -> float | None:
    priced = [q * p for _, q, p in lines if p is not None]
    return round(sum(priced), 2) if priced else None


def _insert_lines(conn: Any, deal_id: int, lines: list[tuple[int, float, float | None]]) -> None:
    if lines:
        sql(
            conn,
            "INSERT INTO deal_line (deal_id, product_id, quantity, unit_price) VALUES (:d, :p, :q, :u)",
            [{"d": deal_id, "p": pid, "q": q, "u": p} for pid, q, p in lines],
        )


def _won_amount(stage: str, amount: float) -> None:
    if stage == "won" and amount <= 0:
        raise UsageError(N_("a won opportunity needs an amount greater than 0 ({amount}, or {product} lines with prices)"), options=["amount", "product"])


def add(
    conn: Connection, customer: dict[str, Any], *, name: str, stage: str = "potential", amount: float | None = None,
    probability: float | None = None, expected_close: dt.date | None = None, owner: str | None = None,
    lines: list[Line] = (), on: dt.date, by: str | None, today: dt.date,  # type: ignore[assignment]
    defaults: dict[str, float], reason: str | None = None, confirmed: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Record a new opportunity of ``customer``; returns its code and how the customer's stage moved."""
    title = normalize.clean_text(name)
    if not title:
        raise UsageError(N_("{name} is empty (机会名称)"), options=["name"])
    if on > today:
        raise UsageError(N_("{date} {value} is in the future; an opportunity is recorded once it is open"), options=["date"], value=on.isoformat())
    _check_probability(stage, probability)
    resolved = _lines(conn, list(lines))
    if amount is None:
        amount = _priced_total(resolved) or 0.0
    _won_amount(stage, amount)
    if stage == "won" and not confirmed:
        from crmcli.services.pipeline import _check_deal

        _check_deal(conn, customer, amount, on)
    cust_owner = sql(conn, "SELECT owner FROM customer WHERE id = :c", {"c": customer["id"]}).scalar()
    code = deal_codes(conn).next(on)
    new_id = int(sql(
        conn,
        'INSERT INTO deal (code, customer_id, name, stage, amount, probability, date, expected_close, closed_at, owner, '
        'lost_reason, "by") VALUES (:code, :c, :name, :stage, :amount, :prob, :date, :expected, :closed, :owner, :reason, :by) RETURNING id',
        {"code": code, "c": customer["id"], "name": title, "stage": stage, "amount": amount,
         "prob": probability if probability is not None else default_probability(stage, defaults), "date": on.isoformat(),
         "expected": expected_close.isoformat() if expected_close else None, "closed": on.isoformat() if stage in CLOSED else None,
         "owner": normalize.clean_text(owner) or cust_owner, "reason": normalize.keep_text(reason) if stage == "lost" else None, "by": by},
    ).scalar_one())  # fmt: skip
    _insert_lines(conn, new_id, resolved)
    moved = sync_stage(conn, customer["id"], on=on, by=by, deal_id=new_id, reason=reason)
    if stage == "won":
        purchases.refresh(conn, [customer["id"]])
    return {"id": new_id, "code": code, "amount": amount, "stage": stage, "moved": moved}


def record_won(conn: Any, customer: dict[str, Any], *, amount: float, on: dt.date, by: str | None, batch_id: int | None = None) -> int:
    """A won opportunity of ``amount`` on ``on`` (``crm stage REF won --amount``); its id.

    The caller records the customer's stage change (naming this opportunity) and the purchase history.
    """
    owner = sql(conn, "SELECT owner FROM customer WHERE id = :c", {"c": customer["id"]}).scalar()
    return int(sql(
        conn,
        'INSERT INTO deal (code, customer_id, stage, amount, probability, date, closed_at, owner, "by", batch_id) '
        "VALUES (:code, :c, 'won', :amount, 100, :date, :date, :owner, :by, :b) RETURNING id",
        {"code": deal_codes(conn).next(on), "c": customer["id"], "amount": amount, "date": on.isoformat(), "owner": owner,
         "by": by, "b": batch_id},
    ).scalar_one())  # fmt: skip


def edit(
    conn: Connection, code: str, *, name: str | None = None, amount: float | None = None, probability: float | None = None,
    expected_close: dt.date | None = None, owner: str | None = None, on: dt.date | None = None,
    lines: list[Line] | None = None, reason: str | None = None, today: dt.date,
) -> dict[str, Any]:  # fmt: skip
    """Change the given fields of opportunity ``code``; returns it with the fields that changed.

    ``--product`` lines replace the old ones (and give the amount, unless ``--amount`` does).
    The customer's stage does not move: that is ``crm deal stage``.
    """
    deal = get(conn, code)
    _changeable(deal)
    values: dict[str, Any] = {}
    if name is not None:
        title = normalize.clean_text(name)
        if not title:
            raise UsageError(N_("{name} is empty (机会名称)"), options=["name"])
        values["name"] = title
    resolved = _lines(conn, lines) if lines is not None else None
    if amount is None and resolved:
        amount = _priced_total(resolved)
    if amount is not None:
        _won_amount(deal["stage"], amount)
        values["amount"] = amount
    if probability is not None:
        _check_probability(deal["stage"], probability)
        values["probability"] = probability
    if expected_close is not None:
        values["expected_close"] = expected_close.isoformat()
    if owner is not None:
        values["owner"] = normalize.clean_text(owner)
    if reason is not None:
        if deal["stage"] != "lost":
            raise UsageError(N_("{reason}: {code} is not lost (move it to stage lost with its reason)"), options=["reason"], code=deal['code'])
        values["lost_reason"] = normalize.keep_text(reason)
    if on is not None:
        if on > today:
            raise UsageError(N_("{date} {value} is in the future"), options=["date"], value=on.isoformat())
        closed = _day(deal["closed_at"])
        if closed is not None and on > closed:
            raise UsageError(N_("{date} {value} is after the day {code} was closed ({closed})"), options=["date"], value=on.isoformat(), code=deal['code'], closed=closed)
        values["date"] = on.isoformat()
    changed = [k for k, v in values.items() if _differs(deal.get(k), v)]
    if changed:
        sql(conn, f"UPDATE deal SET {', '.join(f'{k} = :{k}' for k in changed)} WHERE id = :id", {**{k: values[k] for k in changed}, "id": deal["id"]})
    if resolved is not None:
        old = sql(conn, "SELECT product_id, quantity, unit_price FROM deal_line WHERE deal_id = :d ORDER BY id", {"d": deal["id"]}).all()
        if [tuple(r) for r in old] != resolved:
            sql(conn, "DELETE FROM deal_line WHERE deal_id = :d", {"d": deal["id"]})
            _insert_lines(conn, deal["id"], resolved)
            changed.append("products")
    if deal["stage"] == "won" and changed:
        purchases.refresh(conn, [deal["customer_id"]])
    return {**deal, "changed": changed}


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) != float(new)
    return (old.isoformat() if isinstance(old, dt.date) else old) != new


def move(
    conn: Connection, code: str, to: str, *, on: dt.date, by: str | None, today: dt.date, defaults: dict[str, float],
    amount: float | None = None, reason: str | None = None, confirmed: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Move opportunity ``code`` to stage ``to`` on ``on``: won and lost close it (probability 100 / 0),
    an open stage reopens it; the customer's stage follows."""
    deal = get(conn, code)
    _changeable(deal)
    if on > today:
        raise UsageError(N_("{date} {value} is in the future; a stage change is recorded when it happens"), options=["date"], value=on.isoformat())
    opened = _day(deal["date"])
    if opened is not None and on < opened:
        raise UsageError(N_("{date} {value} is before {code} was opened ({opened})"), options=["date"], value=on.isoformat(), code=deal['code'], opened=opened)
    if to == deal["stage"]:
        raise CrmError(N_("{code} is already at stage {to}"), code=deal['code'], to=to)
    if reason is not None and to != "lost":
        raise UsageError(N_("{reason} goes with stage lost (why the opportunity was lost)"), options=["reason"])
    new_amount = deal["amount"] if amount is None else amount
    if to == "won":
        if not new_amount or new_amount <= 0:
            raise UsageError(N_("{code} has no amount; give the won amount with {amount}"), options=["amount"], code=deal['code'])
        if not confirmed:
            from crmcli.services.pipeline import _check_deal

            _check_deal(conn, {"id": deal["customer_id"], "code": deal["customer_code"]}, new_amount, on)
    values: dict[str, Any] = {
        "stage": to,
        "amount": new_amount,
        "probability": default_probability(to, defaults),
        "closed_at": on.isoformat() if to in CLOSED else None,
        "lost_reason": normalize.keep_text(reason) if to == "lost" and reason else None,
    }
    sql(conn, f"UPDATE deal SET {', '.join(f'{k} = :{k}' for k in values)} WHERE id = :id", {**values, "id": deal["id"]})
    moved = sync_stage(conn, deal["customer_id"], on=on, by=by, deal_id=deal["id"], reason=values["lost_reason"])
    if "won" in (to, deal["stage"]):
        purchases.refresh(conn, [deal["customer_id"]])
    return {**deal, "from": deal["stage"], "to": to, "amount": new_amount, "moved": moved}


def delete(conn: Connection, code: str, *, by: str | None, today: dt.date) -> dict[str, Any]:
    """Delete opportunity ``code`` and put back what depended on it (spec §18): the stage changes it
    made are deleted and, when it is what gave the customer its stage, that stage goes back to what
    it was before; the other opportunities then give the customer its stage; the purchase history
    is worked out again."""
    deal = get(conn, code)
    _changeable(deal)
    cid, did = deal["customer_id"], deal["id"]
    made = sql(
        conn, "SELECT id, from_stage FROM stage_change WHERE deal_id = :d AND customer_id = :c ORDER BY date, id", {"d": did, "c": cid}
    ).all()
    latest = sql(conn, "SELECT id FROM stage_change WHERE customer_id = :c ORDER BY date DESC, id DESC LIMIT 1", {"c": cid}).scalar()
    # lines first, then the opportunity: undo puts back the opportunity before its lines
    sql(conn, "DELETE FROM deal_line WHERE deal_id = :d", {"d": did})
    sql(conn, "DELETE FROM deal WHERE id = :d", {"d": did})
    restored = None
    if made:
        sql(conn, f"DELETE FROM stage_change WHERE id IN ({', '.join(str(int(r[0])) for r in made)})")
        if latest in {r[0] for r in made}:
            restored = made[0][1] or "potential"
            reason = None
            if restored == "lost":
                reason = sql(
                    conn, "SELECT reason FROM stage_change WHERE customer_id = :c AND to_stage = 'lost' ORDER BY date DESC, id DESC LIMIT 1",
                    {"c": cid},
                ).scalar()
            sql(conn, "UPDATE customer SET stage = :s, lost_reason = :r WHERE id = :c", {"s": restored, "r": reason, "c": cid})
    moved = sync_stage(conn, cid, on=today, by=by)
    purchases.refresh(conn, [cid])
    return {**deal, "restored_stage": restored, "moved": moved}
