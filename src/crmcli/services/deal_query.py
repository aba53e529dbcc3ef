"""Reading opportunities (spec §13): ``crm deal list`` and ``crm deal show``, through the store's
Reader (no SQLAlchemy: ``deal list`` on 300k opportunities should cost little more than its query).

As for customers, one statement finds the rows for every output: ``json=True`` has SQLite build
each object as UTF-8 bytes (what ``--format json`` writes as it goes), otherwise plain columns.
Archived customers' opportunities are left out, as the customers are from lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmcli import fields, normalize, vocab
from crmcli.errors import NotFound, UsageError
from crmcli.i18n import N_
from crmcli.store.dialect import Dialect
from crmcli.store.reader import Reader

OPEN = ("potential", "intent", "negotiating")
# The keys of an opportunity object (and of `deal list --format csv`, whose file imports back).
KEYS = tuple(f.key for f in fields.OPPORTUNITY)
TABLE_KEYS = ("code", "customer_code", "customer_name", "name", "stage", "amount", "probability", "expected_close", "owner")
LINE_SEP = "; "

# key -> SQL over deal d, customer c
_COLUMNS = {
    "code": "d.code",
    "customer_code": "c.code",
    "customer_name": "c.name",
    "name": "d.name",
    "stage": "d.stage",
    "amount": "d.amount",
    "probability": "d.probability",
    "expected_close": "d.expected_close",
    "owner": "d.owner",
    "created_at": "d.date",
    "closed_at": "d.closed_at",
    "lost_reason": "d.lost_reason",
    "external_id": "d.external_id",
}


def products_sql(d: Dialect, deal: str = "d") -> str:
    """The opportunity's lines as ``NAME:QTY:PRICE; ...`` (``opportunities.line_text``), in SQL."""
    num = "CASE WHEN {x} = CAST({x} AS INTEGER) THEN CAST(CAST({x} AS INTEGER) AS TEXT) ELSE CAST({x} AS TEXT) END"
    qty, price = num.format(x="l.quantity"), num.format(x="l.unit_price")
    item = (
        f"CASE WHEN l.unit_price IS NOT NULL THEN p.name || ':' || {qty} || ':' || {price} "
        f"WHEN l.quantity = 1 THEN p.name ELSE p.name || ':' || {qty} END"
    )
    return (
        f"(SELECT {d.text_agg('x.item', LINE_SEP)} FROM (SELECT {item} AS item FROM deal_line l "
        f"JOIN product p ON p.id = l.product_id WHERE l.deal_id = {deal}.id ORDER BY l.id) x)"
    )


@dataclass
class DealFilters:
    customer_id: int | None = None
    stage: list[str] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    state: str | None = None  # open | won | lost
    since: dt.date | None = None  # dated (closed, else opened) on or after
    until: dt.date | None = None
    code: str | None = None  # this one opportunity, whatever its customer (show)


def build_filters(
    *, stage: Sequence[str] = (), owner: Sequence[str] = (), state: str | None = None, since: str | None = None,
    until: str | None = None, today: dt.date,
) -> DealFilters:  # fmt: skip
    owners = []
    for o in owner:
        text = normalize.clean_text(o)
        if text is None:
            raise UsageError(N_("the owner filter is empty"))
        owners.append(text)
    out = DealFilters(
        stage=[vocab.parse("deal_stage", s) for s in stage],
        owner=owners,
        state=state,
        since=normalize.parse_date(since, today) if since else None,
        until=normalize.parse_date(until, today) if until else None,
    )
    if out.since and out.until and out.since > out.until:
        raise UsageError(N_("{since} {start} is after {until} {end}"), options=["since", "until"], start=out.since, end=out.until)
    return out


def select(d: Dialect, f: DealFilters, *, json: bool = False, limit: int | None = None) -> tuple[str, dict[str, Any]]:
    """The opportunities ``f`` selects, oldest first (by the day each was opened, then entry order)."""
    params: dict[str, Any] = {}
    where = ["NOT c.archived"] if f.code is None else ["d.code = :code"]
    if f.code is not None:
        params["code"] = f.code
    if f.customer_id is not None:
        where.append("d.customer_id = :cid")
        params["cid"] = f.customer_id
    stages = list(f.stage)
    if f.state == "open":
        stages = [s for s in stages if s in OPEN] if stages else list(OPEN)
        if not stages:
            stages = ["-"]  # --open --stage won: nothing
    elif f.state in ("won", "lost"):
        stages = [f.state] if not stages or f.state in stages else ["-"]
    if stages:
        where.append("d.stage IN (" + ", ".join(f"'{s}'" for s in stages) + ")")  # canonical keys only
    if f.owner:
        where.append("d.owner IN (" + ", ".join(f":o{i}" for i in range(len(f.owner))) + ")")
        params.update({f"o{i}": o for i, o in enumerate(f.owner)})
    if f.since:
        where.append("COALESCE(d.closed_at, d.date) >= :since")
        params["since"] = f.since.isoformat()
    if f.until:
        where.append("COALESCE(d.closed_at, d.date) <= :until")
        params["until"] = f.until.isoformat()
    cols = [(k, _COLUMNS[k] if k != "products" else products_sql(d)) for k in KEYS]
    out = d.as_bytes(d.json_object(cols)) if json else ", ".join(f'{expr} AS "{k}"' for k, expr in cols)
    sql = f"SELECT {out} FROM deal d JOIN customer c ON c.id = d.customer_id WHERE {' AND '.join(where)} ORDER BY d.date, d.id"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return sql, params


def records(reader: Reader, sql: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    names, rows = reader.names(sql, params)
    return (dict(zip(names, row, strict=True)) for row in rows)


def card(reader: Reader, code: str, *, probability: dict[str, float]) -> dict[str, Any]:
    """One opportunity (``crm deal show``): its fields, weighted amount, lines, who recorded it."""
    clean = normalize.drop_invisible(code).strip().upper()
    found = list(records(reader, *select(reader.dialect, DealFilters(code=clean))))
    if not found:
        raise NotFound(N_("no opportunity {value!r} (crm deal list shows the codes)"), value=clean or code)
    rec = found[0]
    extra = reader.one('SELECT d.id, d."by", c.archived FROM deal d JOIN customer c ON c.id = d.customer_id WHERE d.code = :code', {"code": clean})
    assert extra is not None
    deal_id, rec["by"], archived = extra
    rec["archived"] = bool(archived)
    rec["weighted"] = round((rec["amount"] or 0) * (rec["probability"] or 0) / 100, 2)
    rec["lines"] = [
        {"product": name, "quantity": qty, "unit_price": price, "amount": None if price is None else round(qty * price, 2)}
        for name, qty, price in reader.all(
            "SELECT p.name, l.quantity, l.unit_price FROM deal_line l JOIN product p ON p.id = l.product_id "
            "WHERE l.deal_id = :id ORDER BY l.id", {"id": deal_id},
        )
    ]  # fmt: skip
    return rec


def of_customer(reader: Reader, customer_id: int) -> list[dict[str, Any]]:
    """A customer's opportunities for its card, newest first (by closing day, else opening day)."""
    return reader.dicts(
        'SELECT d.id, d.code, d.name, d.stage, d.amount, d.probability, d.date, d.expected_close, d.closed_at, d.owner, '
        'd.lost_reason, d."by", ' + products_sql(reader.dialect) + " AS products FROM deal d WHERE d.customer_id = :id "
        "ORDER BY COALESCE(d.closed_at, d.date) DESC, d.id DESC",
        {"id": customer_id},
    )
