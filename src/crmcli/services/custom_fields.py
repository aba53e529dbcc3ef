"""Custom fields (spec §11): definitions, typed values, and the ``--where`` filter.

A definition lives in ``custom_field`` and becomes a registry ``Field`` (``fields.custom_field``),
so the rest of the program treats it as it treats a built-in one. Values live in
``custom_value`` as canonical text: a number as its shortest decimal (``12``, ``12.5``), money
to the fen, a date in ISO form, a choice exactly as defined, text as typed. Equality on that text
is equality of the values, so ``--where`` is one index lookup (``ix_custom_value_lookup``).

Removing a field hides it: its values stay, and come back when the same key is added again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from crmcli import fields, normalize
from crmcli.errors import CrmError, NotFound, ParseError
from crmcli.models import CustomField, CustomValue

CF = CustomField.__table__  # type: ignore[attr-defined]
CV = CustomValue.__table__  # type: ignore[attr-defined]

_KEY_RE = re.compile(r"[^\W\d]\w{0,39}")  # a letter (any script), then letters, digits, _
_MAX_CHOICES = 50


def _fold(text: str) -> str:
    from crmcli.io.columns import norm_header

    return norm_header(text)


def reserved_names() -> set[str]:
    """Every name a custom field may not take: built-in keys, labels and import headers (folded)."""
    from crmcli.io import columns

    names = {_fold(f.key) for f in (*fields.CUSTOMER, *fields.FOLLOW_UP, *fields.DISPLAY)}
    names |= {_fold(k) for k in columns.ALIASES}
    names |= set(columns.header_table())  # every header an import already reads as a built-in field
    names |= {"id", "fields", "customer", "name_key", "phone_key"}
    return names


def _definition(row: Any) -> fields.Field:
    choices = tuple(json.loads(row.choices)) if row.choices else ()
    return fields.custom_field(row.key, row.label, row.type, choices)


def definitions(conn: Connection, *, hidden: bool = False) -> list[fields.Field]:
    """The custom fields in the order they were added (the visible ones, or with ``hidden`` all)."""
    q = select(CF).order_by(CF.c.position)
    if not hidden:
        q = q.where(CF.c.hidden.is_(False))
    return [_definition(r) for r in conn.execute(q)]


def listing(conn: Connection) -> list[dict[str, Any]]:
    """Every definition with how many customers have a value (``crm field list``)."""
    counts = dict(conn.execute(select(CV.c.field_key, func.count()).group_by(CV.c.field_key)).all())
    return [
        {
            "key": r.key, "label": r.label, "type": r.type,
            "choices": json.loads(r.choices) if r.choices else [], "hidden": bool(r.hidden),
            "values": int(counts.get(r.key, 0)),
        }
        for r in conn.execute(select(CF).order_by(CF.c.position))
    ]  # fmt: skip


def add(conn: Connection, key: str, *, label: str, type_: str = "text", choices: Sequence[str] = ()) -> tuple[fields.Field, bool]:
    """Define a field, or bring back a removed one with the same key; (the field, True when new)."""
    key = normalize.drop_invisible(key.strip())
    if not _KEY_RE.fullmatch(key):
        raise ParseError(f"field key '{key}' must start with a letter and hold only letters, digits and _ (at most 40)")
    label = normalize.clean_text(label) or ""
    if not label:
        raise ParseError(f"field {key}: the label is empty")
    if type_ not in fields.CUSTOM_TYPES:
        raise ParseError(f"field {key}: unknown type '{type_}'; types: {', '.join(fields.CUSTOM_TYPES)}")
    cleaned = [c for c in (normalize.clean_text(c) for c in choices) if c]
    if type_ == "choice":
        if not cleaned:
            raise ParseError(f"field {key}: a choice field needs its choices (--choices A,B,C)")
        if len({_fold(c) for c in cleaned}) != len(cleaned):
            raise ParseError(f"field {key}: the choices repeat a value")
        if len(cleaned) > _MAX_CHOICES:
            raise ParseError(f"field {key}: {len(cleaned)} choices; at most {_MAX_CHOICES}")
    elif cleaned:
        raise ParseError(f"field {key}: --choices goes with --type choice")
    reserved = reserved_names()
    for what, name in (("key", key), ("label", label)):
        if _fold(name) in reserved:
            raise CrmError(f"field {what} '{name}' is a built-in field's name; choose another")
    existing = conn.execute(select(CF).where(CF.c.key == key)).first()
    for row in conn.execute(select(CF.c.key, CF.c.label).where(CF.c.key != key)):
        if _fold(row.label) in (_fold(label), _fold(key)) or _fold(row.key) == _fold(label):
            raise CrmError(f"field {row.key} already has the label or key '{label}'; choose another")
    values = {"label": label, "type": type_, "choices": json.dumps(cleaned, ensure_ascii=False) if cleaned else None}
    if existing is not None:
        if not existing.hidden:
            raise CrmError(f"field {key} already exists ({existing.label}, {existing.type})")
        if existing.type != type_:
            raise CrmError(f"field {key} was removed with type {existing.type}; add it back with --type {existing.type}")
        conn.execute(update(CF).where(CF.c.key == key).values(hidden=False, **values))
        return fields.custom_field(key, label, type_, tuple(cleaned)), False
    position = (conn.execute(select(func.max(CF.c.position))).scalar() or 0) + 1
    conn.execute(insert(CF).values(key=key, position=position, hidden=False, **values))
    return fields.custom_field(key, label, type_, tuple(cleaned)), True


def remove(conn: Connection, key: str) -> int:
    """Hide a field; return how many values it keeps."""
    row = conn.execute(select(CF).where(CF.c.key == key.strip())).first()
    if row is None or row.hidden:
        raise NotFound(f"no custom field '{key}'" + _known(conn))
    conn.execute(update(CF).where(CF.c.key == row.key).values(hidden=True))
    return int(conn.execute(select(func.count()).select_from(CV).where(CV.c.field_key == row.key)).scalar() or 0)


def _known(conn: Connection) -> str:
    keys = [f.key for f in definitions(conn)]
    return f"; fields: {', '.join(keys)}" if keys else "; there are none yet (crm field add KEY --label LABEL)"


# --------------------------------------------------------------------------- values


def parse_value(field: fields.Field, raw: object, today: dt.date) -> str | None:
    """The canonical text of ``raw`` for ``field``, None when empty; ParseError naming both."""
    if normalize.is_empty(raw):
        return None
    try:
        if field.kind == "number":
            return _number_text(raw)
        if field.kind == "money":
            return _number_text(normalize.parse_money(raw))
        if field.kind == "date":
            return normalize.parse_date(raw, today).isoformat()
        if field.kind == "choice":
            folded = _fold(str(normalize.clean_text(raw) or ""))
            for choice in field.choices:
                if _fold(choice) == folded:
                    return choice
            raise ParseError(f"'{raw}' is not one of {', '.join(field.choices)}")
        return normalize.keep_text(raw)
    except ParseError as exc:
        raise ParseError(f"field {field.key}: {exc}") from None


def _number_text(raw: object) -> str:
    if isinstance(raw, bool):
        raise ParseError(f"cannot read number {raw!r}")
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        text = str(normalize.clean_text(raw) or "").replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise ParseError(f"'{raw}' is not a number") from None
    if not math.isfinite(number) or abs(number) >= 1e15:
        raise ParseError(f"'{raw}' is not a number crm can store")
    return str(int(number)) if number.is_integer() else repr(number)


def typed(field: fields.Field, text: str | None) -> Any:
    """A stored value as JSON shows it: numbers as numbers, the rest as text."""
    if text is None:
        return None
    if field.kind in ("number", "money"):
        number = float(text)
        return int(number) if number.is_integer() else number
    return text


def parse_assignments(defs: Sequence[fields.Field], specs: Iterable[str], today: dt.date, *, option: str = "--set") -> dict[str, str | None]:
    """``['KEY=VALUE', ...]`` (key or label) -> {key: canonical value or None to clear it}."""
    by_name = {}
    for f in defs:
        by_name[_fold(f.key)] = f
        by_name.setdefault(_fold(f.label), f)
    out: dict[str, str | None] = {}
    for spec in specs:
        name, eq, value = spec.partition("=")
        if not eq or not name.strip():
            raise ParseError(f"{option} {spec!r}: write it as KEY=VALUE")
        f = by_name.get(_fold(name))
        if f is None:
            known = ", ".join(d.key for d in defs) or "none yet (crm field add KEY --label LABEL)"
            raise ParseError(f"{option} {spec!r}: no custom field '{name.strip()}'; fields: {known}")
        out[f.key] = parse_value(f, value, today)
    return out


def set_values(conn: Connection, customer_id: int, values: dict[str, str | None]) -> list[str]:
    """Write a customer's values (None removes one); return the keys that changed."""
    if not values:
        return []
    current = dict(conn.execute(select(CV.c.field_key, CV.c.value).where(CV.c.customer_id == customer_id)).all())
    changed = [k for k, v in values.items() if current.get(k) != v]
    for key in changed:
        value = values[key]
        if key in current:
            q = delete(CV) if value is None else update(CV).values(value=value)
            conn.execute(q.where(CV.c.customer_id == customer_id, CV.c.field_key == key))
        elif value is not None:
            conn.execute(insert(CV).values(customer_id=customer_id, field_key=key, value=value))
    return changed


def values_of(conn: Connection, customer_ids: Sequence[int], defs: Sequence[fields.Field]) -> dict[int, dict[str, Any]]:
    """{customer id: {key: typed value or None}} for the visible fields ``defs``."""
    out = {cid: dict.fromkeys((f.key for f in defs), None) for cid in customer_ids}
    if not defs or not customer_ids:
        return out
    by_key = {f.key: f for f in defs}
    q = select(CV.c.customer_id, CV.c.field_key, CV.c.value).where(CV.c.field_key.in_(list(by_key)))
    ids = list(customer_ids)
    if len(ids) <= 500:
        q = q.where(CV.c.customer_id.in_(ids))
    for cid, key, value in conn.execute(q):
        if cid in out:
            out[cid][key] = typed(by_key[key], value)
    return out


def where_ids(pairs: dict[str, str | None]) -> list[Any]:
    """SQL conditions on ``customer.id`` for ``--where KEY=VALUE`` (an empty VALUE: no value)."""
    from crmcli.models import Customer

    C = Customer.__table__  # type: ignore[attr-defined]
    out = []
    for key, value in pairs.items():
        if value is None:
            out.append(~C.c.id.in_(select(CV.c.customer_id).where(CV.c.field_key == key)))
        else:
            out.append(C.c.id.in_(select(CV.c.customer_id).where(CV.c.field_key == key, CV.c.value == value)))
    return out
