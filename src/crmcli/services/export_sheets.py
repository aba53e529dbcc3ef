"""The sheets of an xlsx export: each table's columns (header, cell kind, width, drop-down).

openpyxl's write-only mode needs the column widths before the first row, so each sheet's widest
values come from one SQL aggregate over the rows it will hold (no row fetched twice); the same
query counts the rows, so a sheet Excel cannot hold is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crmcli import fields, vocab
from crmcli.io import writers
from crmcli.services.export_tables import (
    CODES,
    CUSTOMER_COLUMNS,
    DATES,
    ENUMS,
    FOLLOW_UP_COLUMNS,
    NUMBERS,
    REQUIRED,
    header,
    tags_sql,
    where,
)  # fmt: skip

if TYPE_CHECKING:
    from crmcli.store.reader import Reader

MAX_COLUMN_WIDTH = 60.0
_KINDS = {"date": "date", "code": "code", "money": "number", "number": "number"}


def _sheet_columns(
    reader: Reader, filters: Any, lang: str, *, table: str, sheet_fields: Sequence[fields.Field], texts: dict[str, str],
    choices: dict[str, list[str]] | None = None, widths: dict[str, float] | None = None,
) -> tuple[int, list[writers.Column]]:  # fmt: skip
    """How many rows a sheet of one customer table holds (``table``: "deal d", "ticket t"), and
    its columns, widths from one SQL aggregate over ``texts`` (key -> SQL expression)."""
    d = reader.dialect
    where_, params = where(d, filters)
    alias = table.split()[-1]
    row = reader.one(
        f"SELECT count(*), {', '.join(f'max({d.display_width(e)})' for e in texts.values())} "
        f"FROM {table} JOIN customer c ON c.id = {alias}.customer_id WHERE {where_}", params,
    ) or (0,)  # fmt: skip
    measured = {k: float(v or 0) for k, v in zip(texts, row[1:], strict=True)}
    measured.update(widths or {})
    cols = []
    for f in sheet_fields:
        kind = _KINDS.get(f.kind, "text")
        widest = 10.0 if kind == "date" else max(measured.get(f.key, 8.0), writers.display_width(f.label(lang)))
        if f.enum:
            widest = max([widest, *(writers.display_width(vocab.label(f.enum, k, lang)) for k in vocab.FIELDS[f.enum])])
        cols.append(
            writers.Column(
                header=f.label(lang), kind=kind, width=min(widest + 2, MAX_COLUMN_WIDTH), choices=(choices or {}).get(f.key, ())
            )
        )
    return int(row[0]), cols


def deal_columns(reader: Reader, filters: Any, lang: str) -> tuple[int, list[writers.Column]]:
    """How many opportunities the sheet holds, and its columns."""
    from crmcli.services.export_tables import DEAL_FIELDS

    texts = {"customer_name": "c.name", "name": "d.name", "owner": "d.owner", "lost_reason": "d.lost_reason", "code": "d.code", "by": 'd."by"'}
    choices = {"stage": [vocab.label("deal_stage", k, lang) for k in vocab.STAGES]}
    return _sheet_columns(
        reader, filters, lang, table="deal d", sheet_fields=DEAL_FIELDS, texts=texts, choices=choices, widths={"products": 30.0}
    )


def ticket_columns(reader: Reader, filters: Any, lang: str) -> tuple[int, list[writers.Column]]:
    """How many tickets the sheet holds, and its columns."""
    texts = {"code": "t.code", "customer": "c.code", "name": "c.name", "type": "t.type", "handler": "t.handler", "content": "t.content", "note": "t.note"}
    choices = {"status": [vocab.label("status", k, lang) for k in vocab.FIELDS["status"]]}
    return _sheet_columns(reader, filters, lang, table="ticket t", sheet_fields=fields.TICKET, texts=texts, choices=choices)


def stage_columns(reader: Reader, filters: Any, lang: str) -> tuple[int, list[writers.Column]]:
    """How many stage changes the sheet holds, and its columns."""
    texts = {"customer": "c.code", "name": "c.name", "by": 's."by"', "reason": "s.reason"}
    stages = [vocab.label("stage", k, lang) for k in vocab.STAGES]
    return _sheet_columns(
        reader, filters, lang, table="stage_change s", sheet_fields=fields.STAGE_CHANGE, texts=texts,
        choices={"from_stage": stages, "to_stage": stages}, widths={"deal": 12.0},
    )  # fmt: skip


def custom_field_columns(custom: Sequence[fields.Field], lang: str) -> list[writers.Column]:
    """The custom fields' definitions sheet."""
    widths = {"key": max((len(f.key) for f in custom), default=8), "label": max((writers.display_width(f.zh) for f in custom), default=8)}
    return [
        writers.Column(header=f.label(lang), kind="text", width=min(max(widths.get(f.key, 12), writers.display_width(f.label(lang))) + 2, MAX_COLUMN_WIDTH))
        for f in fields.CUSTOM_FIELD
    ]  # fmt: skip


def measure(reader: Reader, filters: Any) -> tuple[int, dict[str, float], int, dict[str, float]]:
    """Row counts and widest values of the customer and follow-up sheets, from two SQL aggregates."""
    d = reader.dialect
    text_keys = [k for k in CUSTOMER_COLUMNS if k not in ENUMS and k not in DATES and k not in ("tags", "amount") and k not in NUMBERS]
    exprs = ["count(*)", *(f"max({d.display_width(f'c.{k}')})" for k in text_keys)]
    exprs.append(f"max({d.display_width(tags_sql(d))})")
    exprs.append("max(length(CAST(c.amount AS TEXT)))")
    where_, params = where(d, filters)
    row = reader.one(f"SELECT {', '.join(exprs)} FROM customer c WHERE {where_}", params) or (0,)
    n_customers = int(row[0])
    widths = {k: float(v or 0) for k, v in zip([*text_keys, "tags", "amount"], row[1:], strict=True)}

    fu_keys = ("content", "by", "next_plan")
    fu_exprs = ["count(*)", *(f"max({d.display_width(f'f.{chr(34)}{k}{chr(34)}')})" for k in fu_keys)]
    fu = reader.one(
        f"SELECT {', '.join(fu_exprs)} FROM follow_up f JOIN customer c ON c.id = f.customer_id WHERE {where_}", params
    ) or (0,)
    fu_widths = {k: float(v or 0) for k, v in zip(fu_keys, fu[1:], strict=True)}
    return n_customers, widths, int(fu[0]), fu_widths


def _column_width(key: str, measured: dict[str, float], lang: str) -> float:
    if key in ENUMS:
        values = [vocab.label(ENUMS[key], k, lang) for k in vocab.FIELDS[ENUMS[key]]]
        widest = max(writers.display_width(v) for v in values)
    elif key in DATES:
        widest = 10.0
    else:
        widest = measured.get(key, 8.0)
    return min(widest + 2, MAX_COLUMN_WIDTH)


def custom_columns(custom: Sequence[fields.Field]) -> list[writers.Column]:
    """A column per custom field: its label, a drop-down for a choice field."""
    kinds = {"date": "date", "number": "number", "money": "number"}
    return [
        writers.Column(header=f.zh, kind=kinds.get(f.kind, "text"), width=min(max(writers.display_width(f.zh), 10.0) + 2, MAX_COLUMN_WIDTH),
                       choices=f.choices)
        for f in custom
    ]  # fmt: skip


def columns(keys: Sequence[str], measured: dict[str, float], lang: str, *, template: bool = False) -> list[writers.Column]:
    """The columns of the customer sheet (or the template's), or of the follow-up sheet."""
    cols = []
    for key in keys:
        kind = "date" if key in DATES else "code" if key in CODES else "number" if key in NUMBERS else "text"
        choices: Sequence[str] = ()
        if key in ENUMS:
            field = ENUMS[key]
            choices = [vocab.label(field, k, lang) for k in vocab.FIELDS[field]]
        cols.append(
            writers.Column(
                header=header(key, lang),
                kind=kind,
                width=_column_width(key, measured, lang),
                choices=choices,
                required=template and key in REQUIRED,
            )
        )
    return cols


def follow_up_columns(fu_widths: dict[str, float], widths: dict[str, float], lang: str) -> list[writers.Column]:
    return columns(FOLLOW_UP_COLUMNS, {**fu_widths, "code": widths.get("code", 10), "name": widths.get("name", 10)}, lang)
