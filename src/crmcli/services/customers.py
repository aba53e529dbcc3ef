"""Customers: identity, codes, references, add/edit/archive, listing and the customer card.

Services take a SQLAlchemy ``Connection`` whose transaction the caller owns, and
return plain data (dicts); they never print.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, literal_column, or_, select, text, update

from crmcli import fields, normalize, vocab
from crmcli.errors import Ambiguous, CrmError, Duplicate, NoMatch, NotFound, ParseError, UsageError
from crmcli.models import Customer, Deal, FollowUp, StageChange, Tag

C = Customer.__table__  # type: ignore[attr-defined]
T = Tag.__table__  # type: ignore[attr-defined]
F = FollowUp.__table__  # type: ignore[attr-defined]
S = StageChange.__table__  # type: ignore[attr-defined]
D = Deal.__table__  # type: ignore[attr-defined]

TAG_SEP = "\x1f"

# --------------------------------------------------------------------------- codes

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")


def check_code(code: str) -> str:
    value = normalize.clean_text(code)
    if value is None:
        raise ParseError("customer code is empty")
    value = value.upper()
    if not _CODE_RE.match(value):
        raise ParseError(f"customer code '{code}' may hold only letters, digits, '-' and '_'")
    return value


class CodeAllocator:
    """Hands out ``C`` + YYYYMM + serial codes, one query per month seen (imports call it 100k times)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.last: dict[str, int] = {}

    def _max_serial(self, prefix: str) -> int:
        rows = self.conn.execute(select(C.c.code).where(C.c.code.like(prefix + "%"))).scalars()
        best = 0
        for code in rows:
            tail = code[len(prefix) :]
            if len(tail) >= 3 and tail.isdigit():
                best = max(best, int(tail))
        return best

    def reserve(self, code: str) -> None:
        """Note a code taken by this run (an explicit code from input) so it is never handed out."""
        prefix, tail = code[:7], code[7:]
        if re.fullmatch(r"C\d{6}", prefix) and len(tail) >= 3 and tail.isdigit():
            if prefix not in self.last:
                self.last[prefix] = self._max_serial(prefix)
            self.last[prefix] = max(self.last[prefix], int(tail))

    def next(self, created: dt.date) -> str:
        prefix = f"C{created:%Y%m}"
        if prefix not in self.last:
            self.last[prefix] = self._max_serial(prefix)
        self.last[prefix] += 1
        return f"{prefix}{self.last[prefix]:03d}"


# --------------------------------------------------------------------------- input


@dataclass
class CustomerFields:
    """Validated values for add/edit: only the fields that were given are set."""

    values: dict[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None


def clean_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        for part in re.split(r"[,，;；]", raw):
            tag = normalize.clean_text(part)
            if tag and tag not in out:
                out.append(tag)
    return out


def build_fields(raw: dict[str, Any], *, today: dt.date) -> CustomerFields:
    """Turn command-line strings into stored values; every problem is a ParseError naming the field."""
    out = CustomerFields()
    for key, value in raw.items():
        if value is None:
            continue
        if key == "name":
            name = normalize.clean_text(value)
            if name is None:
                raise ParseError("name is empty")
            normalize.name_key(name)
            out.values["name"] = name
        elif key == "phone":
            out.values["phone"] = normalize.clean_phone(value)
        elif key in ("stage", "level"):
            out.values[key] = vocab.parse(key, value)
        elif key == "amount":
            out.values["amount"] = normalize.parse_money(value)
        elif key == "expected_close":
            out.values["expected_close"] = normalize.parse_date(value, today)
        elif key == "code":
            out.values["code"] = check_code(value)
        elif key == "email":
            email = normalize.clean_text(value)
            if email and not normalize.EMAIL_RE.fullmatch(email):
                raise ParseError(f"email '{value}' is not an e-mail address")
            out.values["email"] = email
        elif key == "tags":
            out.tags = clean_tags(value)
        elif fields.CUSTOMER_BY_KEY[key].kind == "prose":
            out.values[key] = normalize.keep_text(value)  # as typed (no NFKC)
        elif fields.CUSTOMER_BY_KEY[key].kind == "text":
            out.values[key] = normalize.clean_text(value)
        else:  # pragma: no cover - programming error
            raise KeyError(key)
    return out


# --------------------------------------------------------------------------- lookups


def find_duplicate(conn: Connection, name_key: str, phone_key: str, exclude_id: int | None = None) -> dict[str, Any] | None:
    q = select(C.c.id, C.c.code, C.c.name).where(C.c.name_key == name_key, C.c.phone_key == phone_key)
    if exclude_id is not None:
        q = q.where(C.c.id != exclude_id)
    row = conn.execute(q).first()
    return dict(row._mapping) if row else None


_PHONE_REF = re.compile(r"^[\d\s+\-()]+$")


def _like_escape(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve(conn: Connection, ref: str) -> dict[str, Any]:
    """Find one customer by code, exact name, phone, or a unique part of its name (spec §4).

    Characters that show nothing are no part of any of these (``normalize.drop_invisible``).
    """
    ref = normalize.drop_invisible(ref).strip()
    if not ref:
        raise NoMatch("")
    cols = (C.c.id, C.c.code, C.c.name, C.c.phone)
    row = conn.execute(select(*cols).where(C.c.code == ref.upper())).first()
    if row:
        return dict(row._mapping)
    try:
        key = normalize.name_key(ref)
    except ParseError:
        key = ""
    rows = conn.execute(select(*cols).where(C.c.name_key == key)).all() if key else []
    if not rows and _PHONE_REF.match(ref) and sum(ch.isdigit() for ch in ref) >= 7:
        try:
            pkey = normalize.phone_key(ref)
        except ParseError:
            pkey = ""
        if pkey:
            rows = conn.execute(select(*cols).where(C.c.phone_key == pkey)).all()
    if not rows and key:
        pattern = f"%{_like_escape(key)}%"
        rows = conn.execute(select(*cols).where(C.c.name_key.like(pattern, escape="\\")).order_by(C.c.id).limit(Ambiguous.SHOWN + 1)).all()
    if not rows:
        raise NoMatch(ref)
    if len(rows) > 1:
        raise Ambiguous(ref, [dict(r._mapping) for r in rows])
    return dict(rows[0]._mapping)


def get_row(conn: Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(select(C).where(C.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"customer #{customer_id} does not exist")
    return dict(row._mapping)


def tags_of(conn: Connection, customer_id: int) -> list[str]:
    return list(conn.execute(select(T.c.name).where(T.c.customer_id == customer_id).order_by(T.c.name)).scalars())


# --------------------------------------------------------------------------- writes


def add(conn: Connection, fields: CustomerFields, *, user: str, today: dt.date, created: dt.date | None = None) -> dict[str, Any]:
    """Create a customer; a duplicate (same normalised name + phone) or a taken code is an error."""
    values = dict(fields.values)
    if not values.get("name"):
        raise UsageError("missing NAME")
    if not values.get("phone"):
        raise UsageError("missing --phone")
    name_key = normalize.name_key(values["name"])
    phone_key = normalize.phone_key(values["phone"])
    dup = find_duplicate(conn, name_key, phone_key)
    if dup:
        raise Duplicate(f"customer already exists: {dup['code']} {dup['name']} (same name and phone); nothing written")
    created = created or today
    code = values.pop("code", None)
    if code:
        taken = conn.execute(select(C.c.code, C.c.name).where(C.c.code == code)).first()
        if taken:
            raise Duplicate(f"code {code} is already used by {taken.name}")
    else:
        code = CodeAllocator(conn).next(created)
    values.setdefault("owner", user)
    values.setdefault("stage", "potential")
    values.setdefault("level", "normal")
    values.update(code=code, name_key=name_key, phone_key=phone_key, created_at=created)
    new_id = conn.execute(insert(C).values(**values)).inserted_primary_key[0]  # type: ignore[index]
    if fields.tags:
        conn.execute(insert(T), [{"customer_id": new_id, "name": t} for t in fields.tags])
    return get_row(conn, new_id)


def edit(
    conn: Connection,
    customer: dict[str, Any],
    fields: CustomerFields,
    *,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    user: str,
    today: dt.date,
) -> list[str]:
    """Change the given fields; return the names of the fields that changed."""
    cid = customer["id"]
    current = get_row(conn, cid)
    values = {k: v for k, v in fields.values.items() if current.get(k) != v}
    if "stage" in values:
        from crmcli.services import pipeline

        pipeline.change_stage(conn, current, values.pop("stage"), by=user, on=today)
    if "name" in values or "phone" in values:
        name = values.get("name", current["name"])
        phone = values.get("phone", current["phone"])
        name_key, phone_key = normalize.name_key(name), normalize.phone_key(phone)
        dup = find_duplicate(conn, name_key, phone_key, exclude_id=cid)
        if dup:
            raise Duplicate(f"another customer has that name and phone: {dup['code']} {dup['name']}; nothing written")
        values.update(name_key=name_key, phone_key=phone_key)
    if "code" in values:
        taken = conn.execute(select(C.c.name).where(C.c.code == values["code"], C.c.id != cid)).first()
        if taken:
            raise Duplicate(f"code {values['code']} is already used by {taken.name}")
    changed = [k for k in values if k not in ("name_key", "phone_key")]
    if values:
        conn.execute(update(C).where(C.c.id == cid).values(**values))
    if "stage" in fields.values and fields.values["stage"] != current["stage"]:
        changed.append("stage")
    old_tags = set(tags_of(conn, cid))
    new_tags = set(fields.tags) if fields.tags is not None else set(old_tags)
    new_tags |= set(clean_tags(add_tags))
    new_tags -= set(clean_tags(remove_tags))
    if new_tags != old_tags:
        conn.execute(delete(T).where(T.c.customer_id == cid, T.c.name.in_(old_tags - new_tags)))
        if new_tags - old_tags:
            conn.execute(insert(T), [{"customer_id": cid, "name": t} for t in sorted(new_tags - old_tags)])
        changed.append("tags")
    return changed


def set_archived(conn: Connection, customer: dict[str, Any], archived: bool) -> bool:
    """Archive or unarchive; return False when it already was."""
    row = get_row(conn, customer["id"])
    if bool(row["archived"]) == archived:
        return False
    conn.execute(update(C).where(C.c.id == customer["id"]).values(archived=archived))
    return True


# --------------------------------------------------------------------------- reading


def next_follow_sql(cadence: dict[str, int]) -> Any:
    """SQL expression for the next follow-up date of spec §6 (a 'YYYY-MM-DD' string)."""
    days = (
        f"CASE customer.level WHEN 'key' THEN {int(cadence['key'])} "
        f"WHEN 'potential' THEN {int(cadence['potential'])} ELSE {int(cadence['normal'])} END"
    )
    return literal_column(
        f"COALESCE(customer.next_date, date(customer.last_follow_at, '+' || ({days}) || ' days'), customer.created_at)"
    )


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
                raise UsageError(f"the {what} filter is empty")
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


def where_clauses(f: Filters) -> list[Any]:
    clauses: list[Any] = [C.c.archived == f.archived]
    for col, values in (("stage", f.stage), ("level", f.level), ("source", f.source), ("industry", f.industry), ("owner", f.owner)):
        if values:
            clauses.append(C.c[col].in_(values))
    for t in f.tag:
        clauses.append(C.c.id.in_(select(T.c.customer_id).where(T.c.name == t)))
    if f.search:
        pattern = f"%{_like_escape(f.search)}%"
        ors = [C.c[c].like(pattern, escape="\\") for c in ("name", "contact", "phone", "need", "notes")]
        ors.append(C.c.name_key.like(f"%{_like_escape(normalize.name_key(f.search))}%", escape="\\"))
        digits = re.sub(r"\D", "", f.search)
        if len(digits) >= 3:
            ors.append(C.c.phone_key.like(f"%{digits}%"))
        clauses.append(or_(*ors))
    if f.since:
        clauses.append(C.c.created_at >= f.since)
    if f.until:
        clauses.append(C.c.created_at <= f.until)
    return clauses


SORTS = {
    "code": ("created_at", "id"),
    "name": ("name_key",),
    "created": ("created_at", "id"),
    "stage": ("stage",),
    "level": ("level",),
    "owner": ("owner",),
    "last_follow": ("last_follow_at",),
    "next_follow": ("next_follow_at",),
    "amount": ("amount",),
}


def _tags_expr() -> Any:
    return (
        select(func.group_concat(T.c.name, TAG_SEP))
        .where(T.c.customer_id == C.c.id)
        .correlate(C)
        .scalar_subquery()
        .label("tags")
    )


CUSTOMER_KEYS = fields.customer_keys(where="json")


def to_record(row: Any) -> dict[str, Any]:
    m = row._mapping
    rec = {k: m[k] for k in CUSTOMER_KEYS if k in m}
    rec["tags"] = sorted(m["tags"].split(TAG_SEP)) if m.get("tags") else []
    rec["archived"] = bool(m["archived"])
    for k in ("created_at", "last_follow_at", "expected_close"):
        v = rec.get(k)
        if isinstance(v, str):
            rec[k] = dt.date.fromisoformat(v)
    nf = rec.get("next_follow_at")
    rec["next_follow_at"] = dt.date.fromisoformat(nf) if isinstance(nf, str) else nf
    for extra in ("overdue_days", "last_method", "next_plan"):
        if extra in m:
            rec[extra] = m[extra]
    return rec


def list_customers(
    conn: Connection,
    filters: Filters,
    *,
    cadence: dict[str, int],
    sort: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    next_follow = next_follow_sql(cadence).label("next_follow_at")
    q = select(C, _tags_expr(), next_follow).where(and_(*where_clauses(filters)))
    key = (sort or "code").strip()
    desc = key.startswith("-")
    key = key.lstrip("-").replace("-", "_")
    if key not in SORTS:
        raise UsageError(f"--sort {sort}: choose one of {', '.join(SORTS)} (prefix '-' for descending)")
    order = []
    for col in SORTS[key]:
        expr: Any = literal_column("next_follow_at") if col == "next_follow_at" else C.c[col]
        order.append(expr.desc() if desc else expr.asc())
    q = q.order_by(*order, C.c.id.desc() if desc else C.c.id.asc())
    if limit is not None:
        if limit < 0:
            raise UsageError("--limit must be 0 or more")
        q = q.limit(limit)
    return [to_record(r) for r in conn.execute(q)]


def due_customers(
    conn: Connection,
    *,
    today: dt.date,
    within: int = 0,
    cadence: dict[str, int],
    owner: Sequence[str] = (),
    limit: int | None = None,
    filters: Filters | None = None,
) -> list[dict[str, Any]]:
    """Customers whose next follow-up date is on or before today + within (spec §6), most overdue first.

    ``filters`` (the list filters) narrow the list further; archived customers are never due.
    """
    nf = next_follow_sql(cadence)
    horizon = (today + dt.timedelta(days=within)).isoformat()
    overdue: Any = literal_column(f"CAST(julianday('{today.isoformat()}') - julianday(next_follow_at) AS INTEGER)").label("overdue_days")
    inner = (
        select(C, _tags_expr(), nf.label("next_follow_at"))
        .where(C.c.archived.is_(False), C.c.stage != "lost")
    )
    if owner:
        inner = inner.where(C.c.owner.in_(list(owner)))
    if filters is not None:
        inner = inner.where(and_(*where_clauses(filters)))
    sub = inner.subquery("c")
    q = (
        select(sub, overdue)
        .where(text("next_follow_at <= :horizon").bindparams(horizon=horizon))
        .order_by(text("next_follow_at"), sub.c.id)
    )
    if limit is not None:
        q = q.limit(limit)
    return [to_record(r) for r in conn.execute(q)]


def card(conn: Connection, customer_id: int, *, cadence: dict[str, int]) -> dict[str, Any]:
    """The customer object plus its follow-ups, stage changes and deals, newest first."""
    row = conn.execute(
        select(C, _tags_expr(), next_follow_sql(cadence).label("next_follow_at")).where(C.c.id == customer_id)
    ).first()
    if row is None:
        raise NotFound(f"customer #{customer_id} does not exist")
    rec = to_record(row)
    rec["next_plan"] = row._mapping["next_plan"]
    rec["follow_ups"] = [
        {k: r._mapping[k] for k in ("date", "method", "feedback", "content", "by", "next_date", "next_plan")}
        for r in conn.execute(select(F).where(F.c.customer_id == customer_id).order_by(F.c.date.desc(), F.c.id.desc()))
    ]
    rec["stage_changes"] = [
        {"date": r.date, "from_stage": r.from_stage, "to_stage": r.to_stage, "by": r.by, "reason": r.reason}
        for r in conn.execute(select(S).where(S.c.customer_id == customer_id).order_by(S.c.date.desc(), S.c.id.desc()))
    ]
    rec["deals"] = [
        {"date": r.date, "amount": r.amount, "by": r.by}
        for r in conn.execute(select(D).where(D.c.customer_id == customer_id).order_by(D.c.date.desc(), D.c.id.desc()))
    ]
    return rec


def ensure_exists(conn: Connection, customer: dict[str, Any]) -> None:
    if conn.execute(select(C.c.id).where(C.c.id == customer["id"])).first() is None:
        raise CrmError(f"customer {customer.get('code')} disappeared")
