"""A table of custom field definitions (the export's 自定义字段 sheet: key, label, type, choices).

An export carries its custom fields' definitions, so that an import into another database knows
their columns on the customer sheet. The definitions are read when the file is opened (``sheets``),
before the customer sheet's header is matched; ``define`` then adds the ones the database lacks,
inside the import's transaction (a failed or undone import takes them back, as for
``--keep-unknown``). A field the database already has (same key) is left as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crmcli import fields
from crmcli.errors import CrmError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.io import columns

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.io import readers

CHOICE_SPLIT = ","


def _aliases() -> dict[str, tuple[str, ...]]:
    return {f.key: (f.zh, f.en, f.key, *f.headers) for f in fields.CUSTOM_FIELD}


HEADERS = columns.build_table(_aliases())
_NEEDED = [frozenset(columns.norm_header(h) for h in _aliases()[k]) for k in ("key", "label", "type")]


def is_fields_table(head: list[list[Any]]) -> bool:
    """Does a row among the first ones hold a key, a label and a type column (字段键, 字段名称, 字段类型)?"""
    for row in head:
        keys = {columns.norm_header(c) for c in row if isinstance(c, str) and c.strip()}
        if all(keys & names for names in _NEEDED):
            return True
    return False


@dataclass
class Definition:
    rowno: int
    row: list[Any]
    key: str
    label: str
    type: str
    choices: tuple[str, ...]

    def field(self) -> fields.Field:
        return fields.custom_field(self.key, self.label, self.type, self.choices)


def read(located: readers.Located) -> tuple[list[Definition], list[tuple[list[Any], str]]]:
    """The definitions of a sheet, and the rows that are not one (row, reason)."""
    idx = {c.field: c.index for c in reversed(located.header.columns) if c.field}
    out: list[Definition] = []
    bad: list[tuple[list[Any], str]] = []
    for rowno, row in located.data:

        def cell(key: str, row: list[Any] = row) -> str:
            i = idx.get(key)
            v = row[i] if i is not None and i < len(row) else ""
            return str(v).strip() if v is not None else ""

        key, label, type_ = cell("key"), cell("label"), cell("type").lower() or "text"
        if not key and not label:
            continue
        if not key or not label:
            bad.append((row, _("row {rowno}: a custom field needs its key and its label").format(rowno=rowno)))
        elif type_ not in fields.CUSTOM_TYPES:
            bad.append((row, _("row {rowno}: unknown field type '{type_}'; accepted: {CUSTOM_TYPES}").format(rowno=rowno, type_=type_, CUSTOM_TYPES=', '.join(fields.CUSTOM_TYPES))))
        else:
            choices = tuple(c.strip() for c in cell("choices").split(CHOICE_SPLIT) if c.strip())
            out.append(Definition(rowno, row, key, label, type_, choices))
    return out, bad


def new_fields(defs: list[Definition], known: tuple[Any, ...]) -> list[fields.Field]:
    """The definitions whose key and label no known field has: their columns are read as theirs."""
    keys = {f.key for f in known}
    labels = {columns.norm_header(f.zh) for f in known}
    return [d.field() for d in defs if d.key not in keys and columns.norm_header(d.label) not in labels]


def define(conn: Connection, defs: list[Definition], bad: list[tuple[list[Any], str]], batch_id: int, wanted: set[str]) -> list[str]:
    """Add the definitions the database lacks; return the notes for the summary. ``wanted``: the
    keys the customer sheet reads as these fields (one of them that cannot be added fails the
    import, since its column has nowhere to go)."""
    from crmcli.services import custom_fields
    from crmcli.store.reader import Reader

    have = {f.key for f in custom_fields.definitions(Reader.over(conn))}
    notes = [_("custom field not defined: {reason}").format(reason=reason) for _row, reason in bad]
    added = []
    for d in defs:
        if d.key in have:
            continue
        try:
            _field, new = custom_fields.add(conn, d.key, label=d.label, type_=d.type, choices=d.choices)
        except CrmError as exc:
            if d.key in wanted:
                raise CrmError(N_("custom field '{key}' (row {rowno}) cannot be defined: {exc}"), key=d.key, rowno=d.rowno, exc=exc) from None
            notes.append(_("custom field not defined: {reason}").format(reason=f"row {d.rowno}: {exc}"))
            continue
        if new:
            from crmcli.store import sql

            sql(
                conn, "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (:b, 'custom_field', 0, :k)",
                {"b": batch_id, "k": json.dumps({"key": d.key}, ensure_ascii=False)},
            )  # fmt: skip
        added.append(f"{d.label} ({d.key})")
    if added:
        notes.append(_("custom fields defined: {fields}").format(fields=", ".join(added)))
    return notes
