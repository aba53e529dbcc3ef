"""Customers, the writing side: identity, codes, add/edit/archive.

Services take a SQLAlchemy ``Connection`` whose transaction the caller owns, and return plain
data (dicts); they never print. Reading (REF lookup, lists, the due list, the card) is
``services.customer_query``, without SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from crmcli import fields, normalize, vocab
from crmcli.errors import Duplicate, NotFound, ParseError, UsageError
from crmcli.i18n import N_, Text
from crmcli.models import Customer, Deal, FollowUp, StageChange, Tag
from crmcli.store.codes import customer_codes

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
        raise ParseError(N_("customer code is empty"))
    value = value.upper()
    if not _CODE_RE.match(value):
        raise ParseError(N_("customer code '{code}' may hold only letters, digits, '-' and '_'"), code=code)
    return value


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
                raise ParseError(N_("name is empty"))
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
                raise ParseError(N_("email '{value}' is not an e-mail address"), value=value)
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
    q = select(C.c.id, C.c.code, C.c.name, C.c.merged_into, C.c.phone_key).where(C.c.name_key == name_key, C.c.phone_key == phone_key)
    if exclude_id is not None:
        q = q.where(C.c.id != exclude_id)
    row = conn.execute(q).first()
    return dict(row._mapping) if row else None


def hidden_duplicate(conn: Connection, name_key: str, phone_key: str) -> None:
    """On a shared database, a duplicate the caller may not see is still one (spec §16): say only
    its code and owner."""
    from crmcli import store

    found = store.hidden_duplicate(conn, name_key, phone_key)
    if found:
        raise Duplicate(N_("customer already exists: {value}, owner {value2}; nothing written"), value=found[0], value2=found[1] or '(pool)')


def get_row(conn: Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(select(C).where(C.c.id == customer_id)).first()
    if row is None:
        raise NotFound(N_("customer #{customer_id} does not exist"), customer_id=customer_id)
    return dict(row._mapping)


def tags_of(conn: Connection, customer_id: int) -> list[str]:
    return list(conn.execute(select(T.c.name).where(T.c.customer_id == customer_id).order_by(T.c.name)).scalars())


# --------------------------------------------------------------------------- writes


def add(
    conn: Connection, fields: CustomerFields, *, user: str, today: dt.date, created: dt.date | None = None, no_phone: bool = False
) -> dict[str, Any]:
    """Create a customer; a duplicate (same normalised name + phone) or a taken code is an error.

    ``no_phone``: a customer without a phone (spec §3), identified by its normalised name alone.
    """
    values = dict(fields.values)
    if not values.get("name"):
        raise UsageError(N_("missing NAME"))
    if no_phone:
        if values.get("phone"):
            raise UsageError(N_("{no_phone} and {phone}: give one of them"), options=["no_phone", "phone"])
        values["phone"] = None
    elif not values.get("phone"):
        raise UsageError(N_("missing {phone} (or {no_phone} for a customer without one)"), options=["phone", "no_phone"])
    name_key = normalize.name_key(values["name"])
    phone_key = normalize.phone_key(values["phone"]) if values["phone"] else ""
    dup = find_duplicate(conn, name_key, phone_key)
    if dup is None and phone_key:  # a customer of that name without a phone is this one (spec §3)
        dup = find_duplicate(conn, name_key, "")
    if dup:
        into: Any = ""
        if dup["merged_into"] is not None:  # its code and phone now name the customer it went into
            target = conn.execute(select(C.c.code).where(C.c.id == dup["merged_into"])).scalar()
            into = Text(N_(", merged into {target}"), target=target)
        if phone_key and not dup.get("phone_key"):
            raise Duplicate(N_("customer already exists: {code} {name} (same name; it has no phone: crm edit {code} {phone} {number}{into}); nothing written"),
                            options=["phone"], code=dup["code"], name=dup["name"], number=values["phone"], into=into)
        same = Text(N_("same name and phone")) if phone_key else Text(N_("same name, no phone"))
        raise Duplicate(N_("customer already exists: {code} {name} ({same}{into}); nothing written"), code=dup["code"], name=dup["name"], same=same, into=into)
    hidden_duplicate(conn, name_key, phone_key)
    created = created or today
    code = values.pop("code", None)
    if code:
        taken = conn.execute(select(C.c.code, C.c.name).where(C.c.code == code)).first()
        if taken:
            raise Duplicate(N_("code {code} is already used by {name}"), code=code, name=taken.name)
    else:
        code = customer_codes(conn).next(created)
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
        name_key, phone_key = normalize.name_key(name), (normalize.phone_key(phone) if phone else "")
        dup = find_duplicate(conn, name_key, phone_key, exclude_id=cid)
        if dup:
            raise Duplicate(N_("another customer has that name and phone: {code} {name}; nothing written"), code=dup['code'], name=dup['name'])
        values.update(name_key=name_key, phone_key=phone_key)
    if "code" in values:
        taken = conn.execute(select(C.c.name).where(C.c.code == values["code"], C.c.id != cid)).first()
        if taken:
            raise Duplicate(N_("code {code} is already used by {name}"), code=values['code'], name=taken.name)
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
