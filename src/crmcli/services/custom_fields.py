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
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from crmcli import fields, normalize
from crmcli.errors import CrmError, NotFound, ParseError
from crmcli.i18n import N_
from crmcli.store.reader import Reader

if TYPE_CHECKING:
    from sqlalchemy import Connection

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


def _tables() -> tuple[Any, Any]:
    from crmcli.models import CustomField, CustomValue

    return CustomField.__table__, CustomValue.__table__  # type: ignore[attr-defined]


def _choices(text: str | None) -> list[str]:
    """A choice field's choices, stored as a JSON array (json is loaded only when there is one)."""
    if not text:
        return []
    import json

    return list(json.loads(text))


def _json_text(choices: list[str]) -> str:
    import json

    return json.dumps(choices, ensure_ascii=False)


def definitions(reader: Reader) -> list[fields.Field]:
    """The visible custom fields, in the order they were added."""
    rows = reader.all("SELECT key, label, type, choices FROM custom_field WHERE NOT hidden ORDER BY position")
    return [fields.custom_field(k, label, t, tuple(_choices(c))) for k, label, t, c in rows]


def listing(reader: Reader) -> list[dict[str, Any]]:
    """Every definition with how many customers have a value (``crm field list``)."""
    counts = dict(reader.all("SELECT field_key, count(*) FROM custom_value GROUP BY field_key"))
    rows = reader.all("SELECT key, label, type, choices, hidden FROM custom_field ORDER BY position")
    return [
        {"key": k, "label": label, "type": t, "choices": _choices(c), "hidden": bool(h),
         "values": int(counts.get(k, 0))}
        for k, label, t, c, h in rows
    ]  # fmt: skip


def add(conn: Connection, key: str, *, label: str, type_: str = "text", choices: Sequence[str] = ()) -> tuple[fields.Field, bool]:
    """Define a field, or bring back a removed one with the same key; (the field, True when new)."""
    from sqlalchemy import func, insert, select, update

    CF, _ = _tables()
    key = normalize.drop_invisible(key.strip())
    if not _KEY_RE.fullmatch(key):
        raise ParseError(N_("field key '{key}' must start with a letter and hold only letters, digits and _ (at most 40)"), key=key)
    label = normalize.clean_text(label) or ""
    if not label:
        raise ParseError(N_("field {key}: the label is empty"), key=key)
    if type_ not in fields.CUSTOM_TYPES:
        raise ParseError(N_("field {key}: unknown type '{type_}'; types: {custom_types}"), key=key, type_=type_, custom_types=', '.join(fields.CUSTOM_TYPES))
    cleaned = [c for c in (normalize.clean_text(c) for c in choices) if c]
    if type_ == "choice":
        if not cleaned:
            raise ParseError(N_("field {key}: a choice field needs its choices ({choices} A,B,C)"), options=["choices"], key=key)
        if len({_fold(c) for c in cleaned}) != len(cleaned):
            raise ParseError(N_("field {key}: the choices repeat a value"), key=key)
        if len(cleaned) > _MAX_CHOICES:
            raise ParseError(N_("field {key}: {cleaned} choices; at most {max_choices}"), key=key, cleaned=len(cleaned), max_choices=_MAX_CHOICES)
    elif cleaned:
        raise ParseError(N_("field {key}: {choices} goes with {type} choice"), options=["choices", "type"], key=key)
    reserved = reserved_names()
    for what, name in (("key", key), ("label", label)):
        if _fold(name) in reserved:
            raise CrmError(N_("field {what} '{name}' is a built-in field's name; choose another"), what=what, name=name)
    existing = conn.execute(select(CF).where(CF.c.key == key)).first()
    for row in conn.execute(select(CF.c.key, CF.c.label).where(CF.c.key != key)):
        if _fold(row.label) in (_fold(label), _fold(key)) or _fold(row.key) == _fold(label):
            raise CrmError(N_("field {key} already has the label or key '{label}'; choose another"), key=row.key, label=label)
    values = {"label": label, "type": type_, "choices": _json_text(cleaned) if cleaned else None}
    if existing is not None:
        if not existing.hidden:
            raise CrmError(N_("field {key} already exists ({label}, {type})"), key=key, label=existing.label, type=existing.type)
        if existing.type != type_:
            raise CrmError(N_("field {key} was removed with type {kind}; add it back with {type} {kind}"), options=["type"], key=key, kind=existing.type)
        conn.execute(update(CF).where(CF.c.key == key).values(hidden=False, **values))
        return fields.custom_field(key, label, type_, tuple(cleaned)), False
    position = (conn.execute(select(func.max(CF.c.position))).scalar() or 0) + 1
    conn.execute(insert(CF).values(key=key, position=position, hidden=False, **values))
    return fields.custom_field(key, label, type_, tuple(cleaned)), True


def key_for_header(header: str) -> str:
    """A field key made of a column header: ``Social Media`` -> ``social_media``, ``微信号`` -> ``微信号``."""
    text = normalize.drop_invisible(unicodedata.normalize("NFKC", header)).casefold()
    key = re.sub(r"\W+", "_", text).strip("_")[:36]
    return key if key and _KEY_RE.fullmatch(key) else f"f_{key}"[:40].rstrip("_") or "field"


def add_for_header(conn: Connection, header: str) -> fields.Field:
    """A text field for an unknown import column (``import --keep-unknown``): key from the header
    (``_2``, ``_3``... when taken or reserved), the header as its label."""
    base = key_for_header(header)
    label = normalize.clean_text(header) or base
    for n in range(1, 100):
        key = base if n == 1 else f"{base}_{n}"
        try:
            field, _ = add(conn, key, label=label)
            return field
        except CrmError as exc:
            if "label" in str(exc) and "key" not in str(exc).split("label")[0]:
                label = f"{label} ({key})"
    raise CrmError(N_("cannot make a field of column '{header}'"), header=header)


def remove(conn: Connection, key: str) -> int:
    """Hide a field; return how many values it keeps."""
    from sqlalchemy import func, select, update

    CF, CV = _tables()
    row = conn.execute(select(CF).where(CF.c.key == key.strip())).first()
    if row is None or row.hidden:
        raise NotFound(N_("no custom field '{key}'{known}"), key=key, known=_known(Reader.over(conn)))
    conn.execute(update(CF).where(CF.c.key == row.key).values(hidden=True))
    return int(conn.execute(select(func.count()).select_from(CV).where(CV.c.field_key == row.key)).scalar() or 0)


def _known(reader: Reader) -> str:
    keys = [f.key for f in definitions(reader)]
    return f"; fields: {', '.join(keys)}" if keys else "; there are none yet (crm field add creates one)"


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
            raise ParseError(N_("'{raw}' is not one of {choices}"), raw=raw, choices=', '.join(field.choices))
        return normalize.keep_text(raw)
    except ParseError as exc:
        raise ParseError(N_("field {key}: {exc}"), key=field.key, exc=exc) from None


def _number_text(raw: object) -> str:
    if isinstance(raw, bool):
        raise ParseError(N_("cannot read number {raw!r}"), raw=raw)
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        text = str(normalize.clean_text(raw) or "").replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise ParseError(N_("'{raw}' is not a number"), raw=raw) from None
    if not math.isfinite(number) or abs(number) >= 1e15:
        raise ParseError(N_("'{raw}' is not a number crm can store"), raw=raw)
    return str(int(number)) if number.is_integer() else repr(number)


def parse_assignments(defs: Sequence[fields.Field], specs: Iterable[str], today: dt.date, *, option: str = "set") -> dict[str, str | None]:
    """``['KEY=VALUE', ...]`` (key or label) -> {key: canonical value or None to clear it}."""
    by_name = {}
    for f in defs:
        by_name[_fold(f.key)] = f
        by_name.setdefault(_fold(f.zh), f)
    out: dict[str, str | None] = {}
    for spec in specs:
        name, eq, value = spec.partition("=")
        if not eq or not name.strip():
            raise ParseError(N_("{option} {spec!r}: write it as KEY=VALUE"), option=option, spec=spec)
        found = by_name.get(_fold(name))
        if found is None:
            known = ", ".join(d.key for d in defs) or "none yet (crm field add creates one)"
            raise ParseError(N_("{option} {spec!r}: no custom field '{value}'; fields: {known}"), option=option, spec=spec, value=name.strip(), known=known)
        out[found.key] = parse_value(found, value, today)
    return out


def set_values(conn: Connection, customer_id: int, values: dict[str, str | None]) -> list[str]:
    """Write a customer's values (None removes one); return the keys that changed."""
    if not values:
        return []
    from sqlalchemy import delete, insert, select, update

    _, CV = _tables()
    current: dict[str, str | None] = dict(conn.execute(select(CV.c.field_key, CV.c.value).where(CV.c.customer_id == customer_id)).all())
    changed = [k for k, v in values.items() if current.get(k) != v]
    for key in changed:
        value = values[key]
        if key in current:
            q = delete(CV) if value is None else update(CV).values(value=value)
            conn.execute(q.where(CV.c.customer_id == customer_id, CV.c.field_key == key))
        elif value is not None:
            conn.execute(insert(CV).values(customer_id=customer_id, field_key=key, value=value))
    return changed
