"""What each table of an export holds: its columns, in which words, and the SQL that gives its rows.

Spec §7, §9 and issue 18. An export has the tables a user has: customers (every field, custom
ones included), follow-ups, stage changes, opportunities, tickets, and the custom fields'
definitions. Each table is a sheet of the workbook, a file of the CSV directory and an array of
the JSON document, with the same columns -- the ones the importer reads, so every table imports
back (``services.importer``) and an import into an empty database gives back the same records and
therefore the same derived dates.

The customer rows are the ones ``crm list`` shows for the same filters
(``customer_query.where_sql``), in the same order (creation date, then entry order); the other
tables hold those customers' records in the order they were entered, so an import into an empty
database numbers them as they were (``follow edit ID`` keeps naming the same follow-up).

Speed: 100k customers go through one SQL query each for the rows. Enum labels, amounts and tags
are formed in SQL, so a CSV row goes from the cursor to ``csv.writer`` with one Python check for
formula-like text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmcli import fields, vocab

if TYPE_CHECKING:
    from crmcli.store.dialect import Dialect
    from crmcli.store.reader import Reader

from crmcli.export_layout import (  # noqa: F401 - the layout, re-exported for the export services
    CHOICE_JOIN,
    CODES,
    CUSTOM_FIELD_COLUMNS,
    CUSTOMER_COLUMNS,
    DATES,
    DEAL_COLUMNS,
    DEAL_FIELDS,
    ENUMS,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    FOLLOW_UP_COLUMNS,
    NUMBERS,
    PRODUCT_JOIN,
    REQUIRED,
    SHEET_TITLES,
    SPEC_COLUMNS,
    STAGE_COLUMNS,
    TABLES,
    TAG_JOIN,
    TEMPLATE_COLUMNS,
    TICKET_COLUMNS,
    enum_value,
    header,
    title,
)

# --------------------------------------------------------------------------- SQL


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _enum_sql(column: str, field: str, lang: str, fmt: str) -> str:
    """SQL mapping a stored key to what the file shows (unknown values pass through)."""
    if fmt == "json" or (lang == "en" and fmt == "csv"):
        return column
    whens = " ".join(f"WHEN {_quote(k)} THEN {_quote(enum_value(field, k, lang, fmt))}" for k in vocab.FIELDS[field])
    return f"CASE {column} {whens} ELSE {column} END"


def _number_sql(d: Dialect, column: str, *, blank_zero: bool = False) -> str:
    """A number column as written: whole ones as integers (50000, not 50000.0), the fen otherwise;
    a derived count or total of 0 left blank."""
    return d.whole_number(f"NULLIF({column}, 0)" if blank_zero else column)


def tags_sql(d: Dialect) -> str:
    # Tags in code-point order (Python's sorted(), as ``list --format json`` gives them).
    return f"(SELECT {d.text_agg('t.name', TAG_JOIN)} FROM (SELECT name FROM tag WHERE tag.customer_id = c.id ORDER BY name) t)"


def where(d: Dialect, filters: Any) -> tuple[str, dict[str, Any]]:
    from crmcli.services.customer_query import where_sql

    return where_sql(d, filters)


def customer_select(
    d: Dialect, filters: Any, cadence: dict[str, int], *, lang: str, fmt: str, custom: Sequence[fields.Field] = ()
) -> tuple[str, dict[str, Any]]:
    """The export's customer query: one row per customer, values in CUSTOMER_COLUMNS order, then
    one per custom field (numbers as numbers, dates as ISO text, the rest as text)."""
    from crmcli.services.customer_query import next_follow

    cols: list[str] = []
    for key in CUSTOMER_COLUMNS:
        if key in ("level", "stage"):
            cols.append(_enum_sql(f"c.{key}", key, lang, fmt))
        elif key == "tags":
            cols.append(tags_sql(d))
        elif key == "amount":
            cols.append(_number_sql(d, "c.amount"))
        elif key in NUMBERS:
            cols.append(_number_sql(d, f"c.{key}", blank_zero=fields.CUSTOMER_BY_KEY[key].derived))
        elif key == "main_products":
            cols.append(d.json_array_join("c.main_products", PRODUCT_JOIN))
        elif key == "next_follow_at":
            cols.append(next_follow(d, cadence))
        else:  # as stored: dates stay ISO text, no per-row type processing
            cols.append(f"c.{key}")
    for f in custom:
        value = f"(SELECT value FROM custom_value WHERE customer_id = c.id AND field_key = '{f.key}')"
        cols.append(d.real(value) if fmt == "xlsx" and f.kind in ("number", "money") else value)
    where_, params = where(d, filters)
    return f"SELECT {', '.join(cols)} FROM customer c WHERE {where_} ORDER BY c.created_at, c.id", params


def _of_customers(d: Dialect, filters: Any, cols: Sequence[str], table: str) -> tuple[str, dict[str, Any]]:
    """A table of the exported customers' records (``table``: "follow_up f"), in entry order."""
    alias = table.split()[-1]
    where_, params = where(d, filters)
    sql = f"SELECT {', '.join(cols)} FROM {table} JOIN customer c ON c.id = {alias}.customer_id WHERE {where_} ORDER BY {alias}.id"
    return sql, params


def follow_up_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The follow-ups of the exported customers, in FOLLOW_UP_COLUMNS order."""
    cols = [
        "c.code", "c.name", "f.date", _enum_sql("f.method", "method", lang, fmt), "f.content",
        _enum_sql("f.feedback", "feedback", lang, fmt), 'f."by"', "f.next_date", "f.next_plan",
    ]  # fmt: skip
    return _of_customers(d, filters, cols, "follow_up f")


def stage_change_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The stage changes of the exported customers, in STAGE_COLUMNS order (the opportunity that
    moved the customer, if one did, by its code)."""
    cols = [
        "c.code", "c.name", "s.date", _enum_sql("s.from_stage", "stage", lang, fmt), _enum_sql("s.to_stage", "stage", lang, fmt),
        's."by"', "s.reason", "(SELECT code FROM deal WHERE deal.id = s.deal_id)",
    ]  # fmt: skip
    return _of_customers(d, filters, cols, "stage_change s")


def deal_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The opportunities of the exported customers, in DEAL_COLUMNS order: what an opportunity
    import reads."""
    from crmcli.services.deal_query import _COLUMNS, products_sql

    cols = []
    for key in DEAL_COLUMNS:
        if key == "stage":
            cols.append(_enum_sql("d.stage", "deal_stage", lang, fmt))
        elif key in ("amount", "probability"):
            cols.append(_number_sql(d, f"d.{key}"))
        elif key == "products":
            cols.append(products_sql(d))
        elif key == "by":
            cols.append('d."by"')
        else:
            cols.append(_COLUMNS[key])
    return _of_customers(d, filters, cols, "deal d")


def ticket_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The tickets of the exported customers, in TICKET_COLUMNS order (客户编号 names the customer):
    what the ticket import reads."""
    exprs = {"customer": "c.code", "name": "c.name", "status": _enum_sql("t.status", "status", lang, fmt)}
    return _of_customers(d, filters, [exprs.get(key, f"t.{key}") for key in TICKET_COLUMNS], "ticket t")


SELECTS = {"follow_ups": follow_up_select, "stage_changes": stage_change_select, "deals": deal_select, "tickets": ticket_select}


def custom_field_rows(custom: Sequence[fields.Field]) -> list[list[Any]]:
    """The custom fields' definitions, in CUSTOM_FIELD_COLUMNS order."""
    kinds = {"prose": "text", "number": "number", "money": "money", "date": "date", "choice": "choice"}
    return [[f.key, f.zh, kinds[f.kind], CHOICE_JOIN.join(f.choices) or None] for f in custom]


# --------------------------------------------------------------------------- rows


def _masked(rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    from crmcli.masking import MASKERS, mask_value

    masked = [(i, key) for i, key in enumerate(CUSTOMER_COLUMNS) if key in MASKERS]
    for values in rows:
        row = list(values)
        for i, key in masked:
            row[i] = mask_value(key, row[i])
        yield row


def customer_rows(
    reader: Reader, filters: Any, cadence: dict[str, int], *, lang: str, fmt: str, mask: bool,
    custom: Sequence[fields.Field] = (),
) -> Iterator[Sequence[Any]]:
    rows = reader.stream(*customer_select(reader.dialect, filters, cadence, lang=lang, fmt=fmt, custom=custom))
    return _masked(rows) if mask else rows


def table_rows(reader: Reader, table: str, filters: Any, *, lang: str, fmt: str) -> Iterator[Sequence[Any]]:
    """The rows of one of the customers' record tables (follow_ups, stage_changes, deals, tickets)."""
    return reader.stream(*SELECTS[table](reader.dialect, filters, lang=lang, fmt=fmt))


def json_objects(reader: Reader, filters: Any, cadence: dict[str, int], *, mask: bool) -> Iterator[bytes | str]:
    """Each customer's JSON object, streamed: exactly what ``crm list --format json`` prints."""
    from crmcli.services import custom_fields
    from crmcli.services import customer_query as cq

    custom = custom_fields.definitions(reader)
    if not mask:  # the database writes the objects
        sql, params = cq.select(reader.dialect, cadence=cadence, filters=filters, custom=custom, json=True)
        return (row[0] for row in reader.stream(sql, params))
    from crmcli.masking import mask_record
    from crmcli.render import compact

    sql, params = cq.select(reader.dialect, cadence=cadence, filters=filters, custom=custom)
    return (compact(mask_record(r)) for r in cq.records(reader, sql, params))
