"""Reading customers: the filters, the due rule, the one query behind list, the due list, export and show.

One SQL statement finds the customers for every reading command, so the due list has one
implementation and every output agrees. It is plain SQL through the store's ``Reader`` (no
SQLAlchemy: see ``store/reader.py``) and it can hand each customer over in two forms:

* ``json=True``: one JSON object per row, built by the database as UTF-8 bytes (what
  ``--format json`` writes as it goes: encoding 100k objects in Python costs more than finding
  them);
* otherwise: plain columns, turned into records (``record``) for tables, csv and ``show``.

Spec §6 (due), §5 (filters), §7 (the customer object), §11 (custom fields under ``fields``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmcli import fields, normalize, vocab
from crmcli.errors import Ambiguous, NoMatch, NotFound, ParseError, UsageError
from crmcli.i18n import N_
from crmcli.store.dialect import Dialect
from crmcli.store.reader import Reader

TAG_SEP = "\x1f"

# --------------------------------------------------------------------------- filters


@dataclass
class Filters:
    stage: list[str] = field(default_factory=list)
    level: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    industry: list[str] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    search: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    archived: bool = False
    where: dict[str, str | None] = field(default_factory=dict)  # custom field key -> value (None: no value)


def build_filters(
    *,
    stage: Sequence[str] = (),
    level: Sequence[str] = (),
    source: Sequence[str] = (),
    industry: Sequence[str] = (),
    owner: Sequence[str] = (),
    tag: Sequence[str] = (),
    search: str | None = None,
    since: str | None = None,
    until: str | None = None,
    archived: bool = False,
    today: dt.date,
) -> Filters:
    def texts(what: str, values: Sequence[str]) -> list[str]:
        out = []
        for value in values:
            text = normalize.clean_text(value)
            if text is None:  # dropping it would widen the filter to every customer
                raise UsageError(N_("the {what} filter is empty"), what=what)
            out.append(text)
        return out

    (search_text,) = texts("search", [search]) if search is not None else (None,)
    return Filters(
        stage=[vocab.parse("stage", s) for s in stage],
        level=[vocab.parse("level", s) for s in level],
        source=texts("source", source),
        industry=texts("industry", industry),
        owner=texts("owner", owner),
        tag=texts("tag", tag),
        search=search_text,
        since=normalize.parse_date(since, today) if since is not None else None,
        until=normalize.parse_date(until, today) if until is not None else None,
        archived=archived,
    )


def like_escape(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Params:
    """Named parameters for one statement: ``p.add(value)`` returns its placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"

    def many(self, values: Sequence[Any]) -> str:
        return "(" + ", ".join(self.add(v) for v in values) + ")"


def filter_conditions(d: Dialect, f: Filters, p: _Params, alias: str = "c") -> list[str]:
    """SQL conditions for the shared filters (spec §5) on the customer table as ``alias``."""
    # "+": not through the (archived, stage, level) index, which every active customer matches
    archived = f"{alias}.archived" if f.archived else d.unindexed(f"{alias}.archived")
    out = [f"{archived} = {p.add(f.archived)}"]
    if f.archived:  # a merged customer is archived too, but it is not one to unarchive (spec §14)
        out.append(f"{alias}.merged_into IS NULL")
    for col, values in (("stage", f.stage), ("level", f.level), ("source", f.source), ("industry", f.industry), ("owner", f.owner)):
        if values:
            out.append(f"{alias}.{col} IN {p.many(values)}")
    for t in f.tag:
        out.append(f"{alias}.id IN (SELECT customer_id FROM tag WHERE name = {p.add(t)})")
    if f.search:
        pattern = p.add(f"%{like_escape(f.search)}%")
        ors = [f"{alias}.{c} {d.like()} {pattern} ESCAPE '\\'" for c in ("name", "contact", "phone", "need", "notes")]
        ors.append(f"{alias}.name_key LIKE {p.add('%' + like_escape(normalize.name_key(f.search)) + '%')} ESCAPE '\\'")
        digits = re.sub(r"\D", "", f.search)
        if len(digits) >= 3:
            ors.append(f"{alias}.phone_key LIKE {p.add('%' + digits + '%')}")
        out.append("(" + " OR ".join(ors) + ")")
    if f.since:
        out.append(f"{alias}.created_at >= {p.add(f.since.isoformat())}")
    if f.until:
        out.append(f"{alias}.created_at <= {p.add(f.until.isoformat())}")
    for key, value in f.where.items():
        if value is None:
            out.append(f"{alias}.id NOT IN (SELECT customer_id FROM custom_value WHERE field_key = {p.add(key)})")
        else:
            out.append(
                f"{alias}.id IN (SELECT customer_id FROM custom_value WHERE field_key = {p.add(key)} AND value = {p.add(value)})"
            )
    return out


def where_sql(d: Dialect, f: Filters, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """The filters as one SQL condition and its parameters (for queries of their own: export)."""
    p = _Params()
    return " AND ".join(filter_conditions(d, f, p, alias)), p.values


# --------------------------------------------------------------------------- the due rule (spec §6)


def next_follow(d: Dialect, cadence: dict[str, int], alias: str = "c") -> str:
    """The next follow-up date (spec §6), the one definition used by list, the due list, export,
    show, the calendar and reports.

    The latest contact decides: a stage change after the latest follow-up (a customer won
    yesterday) is a contact, and the next follow-up is its date + the level's cadence; else the
    latest follow-up's next date, else its date + the cadence, else the creation date.
    The stage change is found by one seek in ``ix_stage_change_customer`` per customer.
    """
    days = (
        f"CASE {alias}.level WHEN 'key' THEN {int(cadence['key'])} "
        f"WHEN 'potential' THEN {int(cadence['potential'])} ELSE {int(cadence['normal'])} END"
    )
    moved = (
        f"(SELECT {d.add_days('s.date', days)} FROM stage_change s WHERE s.customer_id = {alias}.id"
        f" AND ({alias}.last_follow_at IS NULL OR s.date > {alias}.last_follow_at) ORDER BY s.date DESC LIMIT 1)"
    )
    return f"COALESCE({moved}, {alias}.next_date, {d.add_days(f'{alias}.last_follow_at', days)}, {alias}.created_at)"


@dataclass
class Due:
    """The due list: customers whose next follow-up is on or before ``today + within``."""

    today: dt.date
    within: int = 0


# --------------------------------------------------------------------------- the query

SORTS = {
    "code": ("created_at", "id"),
    "name": ("name_key",),
    "created": ("created_at", "id"),
    "stage": ("stage",),
    "level": ("level",),
    "owner": ("owner",),
    "last_follow": ("last_follow_at",),
    "next_follow": ("nf",),
    "amount": ("amount",),
}
DUE_EXTRA = ("overdue_days", "last_method", "next_plan")


def _order(sort: str | None) -> str:
    key = (sort or "code").strip()
    desc = key.startswith("-")
    key = key.lstrip("-").replace("-", "_")
    if key not in SORTS:
        raise UsageError(N_("{sort} {value}: choose one of {choices} (prefix '-' for descending)"), options=["sort"], value=sort, choices=", ".join(SORTS))
    way = " DESC" if desc else ""
    return ", ".join(f"c.{col}{way}" for col in SORTS[key]) + f", c.id{way}"


def _custom_value(d: Dialect, f: fields.Field, alias: str, *, json: bool) -> str:
    value = f"(SELECT value FROM custom_value WHERE customer_id = {alias}.id AND field_key = '{f.key}')"
    return d.json_value(value) if json and f.kind in ("number", "money") else value


def _columns(d: Dialect, keys: Sequence[str], custom: Sequence[fields.Field], *, json: bool, today: str) -> list[tuple[str, str]]:
    """(key, SQL expression) for each output key, on the subquery ``c`` (which has ``nf``)."""
    out = []
    for key in keys:
        if key == "tags":
            if json:
                expr = f"json((SELECT {d.json_array_agg('t.name')} FROM (SELECT name FROM tag WHERE tag.customer_id = c.id ORDER BY name) t))"
            else:
                expr = f"(SELECT {d.text_agg('t.name', TAG_SEP)} FROM (SELECT name FROM tag WHERE tag.customer_id = c.id ORDER BY name) t)"
        elif key == "next_follow_at":
            expr = "c.nf"
        elif key == "overdue_days":
            expr = d.days_between(today, "c.nf")
        elif key == "archived" and json:
            expr = d.json_bool("c.archived")
        elif key == "main_products" and json:  # a JSON array (spec §13)
            expr = "json(COALESCE(c.main_products, '[]'))"
        elif key == "fields":
            if not json:
                continue  # as columns: one per custom field, below
            expr = d.json_object([(f.key, _custom_value(d, f, "c", json=True)) for f in custom]) if custom else "json('{}')"
        else:
            expr = f"c.{key}"
        out.append((key, expr))
    if not json:
        out += [(f"field:{f.key}", _custom_value(d, f, "c", json=False)) for f in custom]
    return out


def select(
    d: Dialect,
    *,
    cadence: dict[str, int],
    filters: Filters | None = None,
    due: Due | None = None,
    ids: Sequence[int] | None = None,
    sort: str | None = None,
    limit: int | None = None,
    custom: Sequence[fields.Field] = (),
    json: bool = False,
    keys: Sequence[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The customers ``filters`` (or ``due``, or ``ids``) select, as JSON objects or columns."""
    p = _Params()
    today = p.add(due.today.isoformat()) if due else "NULL"
    keys = list(keys or (fields.due_keys() if due else fields.customer_keys(where="json")))
    where: list[str] = []
    if filters is not None:
        where += filter_conditions(d, filters, p)
    if due is not None:
        if filters is None:
            where.append(f"{d.unindexed('c.archived')} = {p.add(False)}")
        where.append("c.stage != 'lost'")
    if ids is not None:
        where.append(f"c.id IN {p.many(list(ids))}")
    inner = f"SELECT c.*, {next_follow(d, cadence)} AS nf FROM customer c" + (f" WHERE {' AND '.join(where)}" if where else "") + d.fence()
    cols = _columns(d, keys, custom, json=json, today=today)
    if json:
        out = d.as_bytes(d.json_object(cols))
    else:
        out = ", ".join(f'{expr} AS "{key}"' for key, expr in cols)
    sql = f"SELECT {out} FROM ({inner}) c"
    if due is not None:
        sql += f" WHERE c.nf <= {p.add((due.today + dt.timedelta(days=due.within)).isoformat())} ORDER BY c.nf, c.id"
    elif ids is None:
        sql += f" ORDER BY {_order(sort)}"
    if limit is not None:
        sql += f" LIMIT {p.add(int(limit))}"
    return sql, p.values


def recorder(names: Sequence[str]) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """The function making a customer (plain Python values) of a row of ``select(json=False)``
    with these columns; what to do with each column is decided here, once, not per row."""
    custom = [(i, name[6:]) for i, name in enumerate(names) if name.startswith("field:")]
    own = [i for i, name in enumerate(names) if not name.startswith("field:")]
    keys = [names[i] for i in own]
    tags, archived, products = "tags" in keys, "archived" in keys, "main_products" in keys
    with_fields = "fields" in names or bool(custom)
    if products:
        from json import loads

    def record(row: Sequence[Any]) -> dict[str, Any]:
        rec = dict(zip(keys, [row[i] for i in own] if custom else row, strict=True))
        if tags:
            rec["tags"] = rec["tags"].split(TAG_SEP) if rec["tags"] else []
        if archived:
            rec["archived"] = bool(rec["archived"])
        if products:
            rec["main_products"] = loads(rec["main_products"]) if rec["main_products"] else []
        if with_fields:
            rec["fields"] = {key: row[i] for i, key in custom}
        return rec

    return record


def records(reader: Reader, sql: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    names, rows = reader.names(sql, params)
    return map(recorder(names), rows)


def value_rows(reader: Reader, sql: str, params: dict[str, Any]) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """The customers of ``select(json=False)`` flat: the keys (a custom field's by its own key,
    after the customer's), and per customer its values in that order -- what ``records`` makes,
    without a dict a row (a csv of a million rows, a table)."""
    names, rows = reader.names(sql, params)
    keys = [name.removeprefix("field:") for name in names]
    tags = names.index("tags") if "tags" in names else None
    archived = names.index("archived") if "archived" in names else None
    products = names.index("main_products") if "main_products" in names else None
    if tags is None and archived is None and products is None:
        return keys, rows  # type: ignore[return-value]  # tuples: nothing to convert
    if products is not None:
        from json import loads

    def values(row: Sequence[Any]) -> list[Any]:
        out = list(row)
        if tags is not None:
            out[tags] = out[tags].split(TAG_SEP) if out[tags] else []
        if archived is not None:
            out[archived] = bool(out[archived])
        if products is not None:
            out[products] = loads(out[products]) if out[products] else []
        return out

    return keys, map(values, rows)


# Kinds of customer field whose values are always text (or None) as a reader gets them.
_TEXT_KINDS = frozenset({"code", "text", "prose", "phone", "email", "enum", "date", "choice"})


def mixed_columns(keys: Sequence[str]) -> list[int]:
    """The columns of ``value_rows`` that may hold other than text, whole numbers and None (an
    amount, a flag, a list, a custom field, a computed column): the ones an output converts."""
    return [i for i, key in enumerate(keys) if (f := fields.CUSTOMER_BY_KEY.get(key)) is None or f.kind not in _TEXT_KINDS]


# --------------------------------------------------------------------------- one customer


def card(reader: Reader, customer_id: int, *, cadence: dict[str, int], custom: Sequence[fields.Field] = ()) -> dict[str, Any]:
    """The customer object plus its follow-ups, stage changes and deals (its opportunities), newest first (spec §7)."""
    sql, params = select(reader.dialect, cadence=cadence, ids=[customer_id], custom=custom,
                         keys=(*fields.customer_keys(where="json"), "next_plan"))  # fmt: skip
    found = list(records(reader, sql, params))
    if not found:
        raise NotFound(N_("customer #{customer_id} does not exist"), customer_id=customer_id)
    rec = found[0]
    rec["fields"] = {f.key: f.typed(rec["fields"].get(f.key)) for f in custom}
    rec["follow_ups"] = reader.dicts(
        'SELECT id, date, method, feedback, content, "by", next_date, next_plan FROM follow_up '
        "WHERE customer_id = :id ORDER BY date DESC, id DESC", {"id": customer_id},
    )  # fmt: skip
    rec["stage_changes"] = reader.dicts(
        'SELECT date, from_stage, to_stage, "by", reason FROM stage_change WHERE customer_id = :id ORDER BY date DESC, id DESC',
        {"id": customer_id},
    )
    from crmcli.services import tickets
    from crmcli.services.deal_query import of_customer

    rec["deals"] = of_customer(reader, customer_id)  # its opportunities, with their codes (spec §13)
    rec["tickets"] = tickets.of_customer(reader, customer_id)
    return rec


# --------------------------------------------------------------------------- REF (spec §4)

_PHONE_REF = re.compile(r"^[\d\s+\-()]+$")


def resolve(reader: Reader, ref: str, *, follow_merged: bool = True) -> dict[str, Any]:
    """Find one customer by code, exact name, phone, or a unique part of its name (spec §4).

    Characters that show nothing are no part of any of these (``normalize.drop_invisible``).
    A customer merged into another (spec §14) stands for that one: its code, name and phone find
    it (``follow_merged=False``: the merged customer itself, for ``merge`` to refuse). Archived
    customers resolve too, but only when nothing live matches: an archived or merged customer
    never makes a REF ambiguous.
    """
    ref = normalize.drop_invisible(ref).strip()
    if not ref:
        raise NoMatch("")
    cols = "SELECT id, code, name, phone, archived, merged_into FROM customer WHERE "
    names = ("id", "code", "name", "phone", "archived", "merged_into")

    def found(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(zip(names, r, strict=True)) for r in reader.all(cols + sql, params)]

    def pick(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Merged customers as the ones they went into, once each; the live ones if there are any."""
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            hops = 0
            while follow_merged and r["merged_into"] is not None and hops < 100:
                nxt = found("id = :id", {"id": r["merged_into"]})
                if not nxt:
                    break
                r, hops = nxt[0], hops + 1
            out.setdefault(r["id"], r)
        live = [r for r in out.values() if not r["archived"]]
        return live or list(out.values())

    rows = pick(found("code = :code", {"code": ref.upper()}))
    if rows:
        return _public(rows[0])
    try:
        key = normalize.name_key(ref)
    except ParseError:
        key = ""
    rows = pick(found("name_key = :key", {"key": key})) if key else []
    if not rows and _PHONE_REF.match(ref) and sum(ch.isdigit() for ch in ref) >= 7:
        try:
            pkey = normalize.phone_key(ref)
        except ParseError:
            pkey = ""
        if pkey:
            rows = pick(found(  # every phone a customer has (spec §3)
                "phone_key = :pkey OR id IN (SELECT customer_id FROM customer_phone WHERE phone_key = :pkey) ORDER BY id",
                {"pkey": pkey},
            ))
    if not rows and key:
        rows = pick(found(
            "name_key LIKE :pattern ESCAPE '\\' ORDER BY merged_into IS NOT NULL, archived, id LIMIT :n",
            {"pattern": f"%{like_escape(key)}%", "n": 10 * Ambiguous.SHOWN},
        ))[: Ambiguous.SHOWN + 1]  # fmt: skip
    if not rows:
        raise NoMatch(ref)
    if len(rows) > 1:
        raise Ambiguous(ref, [_public(r) for r in rows])
    return _public(rows[0])


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A resolved customer as callers know it: id, code, name, phone (and merged_into when set)."""
    out = {k: row[k] for k in ("id", "code", "name", "phone")}
    if row.get("merged_into") is not None:
        out["merged_into"] = row["merged_into"]
    return out
