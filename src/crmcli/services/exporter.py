"""Export: customers (and their follow-ups, opportunities and tickets) to xlsx, csv or json, and the import template.

Spec §7 and §9. The rows are the ones ``crm list`` shows for the same filters
(``services.customers.where_clauses``), in the same order (creation date, then
entry order). The columns are the ones the importer reads, so an exported
workbook can be edited in Excel and imported back with ``--on-duplicate update``.

Speed: 100k customers go through one SQL query each for the rows and for the
column widths. Enum labels, amounts and tags are formed in SQL, so a CSV row
goes from the cursor to ``csv.writer`` with one Python check for formula-like
text; the xlsx side is bounded by openpyxl's per-cell cost (see ``io.writers``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crmcli import fields, vocab
from crmcli.errors import CrmError, UsageError
from crmcli.io import writers

if TYPE_CHECKING:
    from crmcli.store.dialect import Dialect
    from crmcli.store.reader import Reader

FORMATS = ("xlsx", "csv", "json")
EXTENSIONS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json"}

# The customer columns of spec §9, in order (the registry's exported fields). The last two are
# derived (import reads them as information).
SPEC_COLUMNS = (
    "code", "name", "contact", "title", "phone", "email", "industry", "source", "level", "stage",
    "owner", "need", "tags", "notes", "amount", "created_at", "last_follow_at", "next_follow_at",
)  # fmt: skip
# Spec §9's columns in its order, then every other exported field of the registry (lossless).
CUSTOMER_COLUMNS = (*SPEC_COLUMNS, *(k for k in fields.customer_keys(where="export") if k not in SPEC_COLUMNS))
FOLLOW_UP_COLUMNS = ("code", "name", *(f.key for f in fields.FOLLOW_UP))
# The template: the customer columns a person fills in, then one follow-up on the same row.
TEMPLATE_COLUMNS = (
    *(k for k in CUSTOMER_COLUMNS if not fields.CUSTOMER_BY_KEY[k].derived), *(f.key for f in fields.FOLLOW_UP),
)  # fmt: skip
REQUIRED = frozenset({"name", "phone"})
_ALL = (*fields.CUSTOMER, *fields.FOLLOW_UP)
ENUMS = {f.key: f.enum for f in _ALL if f.enum}
DATES = frozenset(f.key for f in _ALL if f.kind == "date")
CODES = frozenset(f.key for f in _ALL if f.kind in ("code", "phone"))  # Text cells: what is typed in later stays text
NUMBERS = frozenset(f.key for f in fields.CUSTOMER if f.kind in ("money", "number"))  # number cells
PRODUCT_JOIN = "、"  # main_products in a cell: 软件授权、技术支持, as seed 003 writes them
SHEET_TITLES = {
    "customers": ("客户信息总表", "Customers"),
    "follow_ups": ("跟进记录", "Follow-ups"),
    "deals": ("销售机会", "Opportunities"),
    "tickets": ("工单", "Tickets"),
    "help": ("说明", "Instructions"),
}
# The opportunities sheet (spec §13): `crm import FILE --sheet 销售机会` reads it back.
DEAL_COLUMNS = tuple(f.key for f in fields.OPPORTUNITY)
# The service tickets sheet (spec §15), keyed by 客户编号: the ticket import reads it back.
TICKET_COLUMNS = tuple(f.key for f in fields.TICKET)
TAG_JOIN = ";"
MAX_COLUMN_WIDTH = 60.0


def header(key: str, lang: str) -> str:
    """A column's header: the follow-up's own label for its fields (跟进日期), else the customer's."""
    f = fields.FOLLOW_UP_BY_KEY.get(key) or fields.CUSTOMER_BY_KEY[key]
    return f.label(lang)


def _title(key: str, lang: str) -> str:
    zh, en = SHEET_TITLES[key]
    return zh if lang == "zh" else en


def enum_value(field: str, key: str, lang: str, fmt: str) -> str:
    """How an enum value is written: zh labels in zh; English labels in en xlsx; canonical keys in en csv."""
    if lang == "en" and fmt == "csv":
        return key
    return vocab.label(field, key, lang)


def resolve_format(target: str, fmt: str | None, *, template: bool = False) -> str:
    """The output format: ``--format`` if given, else the file's extension; ``-`` means csv."""
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    if target == "-":
        fmt = fmt or "csv"
        if fmt == "xlsx":
            raise UsageError("an xlsx workbook cannot be written to stdout; give a FILE.xlsx")
        if template:
            raise UsageError("--template writes a workbook; give a FILE.xlsx")
        return fmt
    if fmt is None:
        fmt = EXTENSIONS.get(Path(target).suffix.lower())
        if fmt is None:
            if template:
                return "xlsx"
            raise UsageError(f"cannot tell the format of '{target}': name it .xlsx, .csv or .json, or give --format")
    if template and fmt != "xlsx":
        raise UsageError("--template writes an xlsx workbook; give a FILE.xlsx")
    return fmt


def _replaceable(fmt: str) -> Any:
    from crmcli import safe_files

    return safe_files.replaceable_workbook if fmt == "xlsx" else safe_files.replaceable_text


def check_target(target: Path, fmt: str) -> None:
    """Refuse, before any work, a target the export must not write (see ``safe_files``)."""
    from crmcli import safe_files

    reason = safe_files.refusal(target) or (_replaceable(fmt)(target) if target.exists() else None)
    if reason:
        raise CrmError(reason)


def _output(target: Path, fmt: str) -> Any:
    from crmcli import safe_files

    return safe_files.open_for_writing(target, check=_replaceable(fmt))


@dataclass
class ExportResult:
    target: str
    format: str
    customers: int
    follow_ups: int | None = None  # xlsx only
    deals: int | None = None  # xlsx only: the opportunities sheet
    tickets: int | None = None  # xlsx only: the tickets sheet


# --------------------------------------------------------------------------- SQL


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _enum_sql(column: str, field: str, lang: str, fmt: str) -> str:
    """SQL mapping a stored key to what the file shows (unknown values pass through)."""
    if lang == "en" and fmt == "csv":
        return column
    whens = " ".join(f"WHEN {_quote(k)} THEN {_quote(enum_value(field, k, lang, fmt))}" for k in vocab.FIELDS[field])
    return f"CASE {column} {whens} ELSE {column} END"


def _number_sql(d: Dialect, column: str, *, blank_zero: bool = False) -> str:
    """A number column as written: whole ones as integers (50000, not 50000.0), the fen otherwise;
    a derived count or total of 0 left blank."""
    return d.whole_number(f"NULLIF({column}, 0)" if blank_zero else column)


def _tags_sql(d: Dialect) -> str:
    # Tags in code-point order (Python's sorted(), as ``list --format json`` gives them).
    return f"(SELECT {d.text_agg('t.name', TAG_JOIN)} FROM (SELECT name FROM tag WHERE tag.customer_id = c.id ORDER BY name) t)"


def _where(d: Dialect, filters: Any) -> tuple[str, dict[str, Any]]:
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
            cols.append(_tags_sql(d))
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
    where, params = _where(d, filters)
    return f"SELECT {', '.join(cols)} FROM customer c WHERE {where} ORDER BY c.created_at, c.id", params


def follow_up_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The follow-ups of the exported customers, customer by customer, oldest first."""
    cols = [
        "c.code", "c.name", "f.date", _enum_sql("f.method", "method", lang, fmt), "f.content",
        _enum_sql("f.feedback", "feedback", lang, fmt), 'f."by"', "f.next_date", "f.next_plan",
    ]  # fmt: skip
    where, params = _where(d, filters)
    sql = (
        f"SELECT {', '.join(cols)} FROM follow_up f JOIN customer c ON c.id = f.customer_id "
        f"WHERE {where} ORDER BY c.created_at, c.id, f.date, f.id"
    )
    return sql, params


def deal_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The opportunities of the exported customers, customer by customer, oldest first, in
    DEAL_COLUMNS order: what an opportunity import reads."""
    from crmcli.services.deal_query import _COLUMNS, products_sql

    cols = []
    for key in DEAL_COLUMNS:
        if key == "stage":
            cols.append(_enum_sql("d.stage", "deal_stage", lang, fmt))
        elif key in ("amount", "probability"):
            cols.append(_number_sql(d, f"d.{key}"))
        elif key == "products":
            cols.append(products_sql(d))
        else:
            cols.append(_COLUMNS[key])
    where, params = _where(d, filters)
    sql = (
        f"SELECT {', '.join(cols)} FROM deal d JOIN customer c ON c.id = d.customer_id "
        f"WHERE {where} ORDER BY c.created_at, c.id, d.date, d.id"
    )
    return sql, params


def ticket_select(d: Dialect, filters: Any, *, lang: str, fmt: str) -> tuple[str, dict[str, Any]]:
    """The tickets of the exported customers, customer by customer, oldest first, in
    TICKET_COLUMNS order (客户编号 names the customer): what the ticket import reads."""
    exprs = {"customer": "c.code", "name": "c.name", "status": _enum_sql("t.status", "status", lang, fmt)}
    cols = [exprs.get(key, f"t.{key}") for key in TICKET_COLUMNS]
    where, params = _where(d, filters)
    sql = (
        f"SELECT {', '.join(cols)} FROM ticket t JOIN customer c ON c.id = t.customer_id "
        f"WHERE {where} ORDER BY c.created_at, c.id, t.opened_at, t.id"
    )
    return sql, params


def _sheet_columns(
    reader: Reader, filters: Any, lang: str, *, table: str, sheet_fields: Sequence[fields.Field], texts: dict[str, str],
    choices: dict[str, list[str]], widths: dict[str, float] | None = None,
) -> tuple[int, list[writers.Column]]:
    """How many rows a sheet of one customer table holds (``table``: "deal d", "ticket t"), and
    its columns, widths from one SQL aggregate over ``texts`` (key -> SQL expression)."""
    d = reader.dialect
    where, params = _where(d, filters)
    alias = table.split()[-1]
    row = reader.one(
        f"SELECT count(*), {', '.join(f'max({d.display_width(e)})' for e in texts.values())} "
        f"FROM {table} JOIN customer c ON c.id = {alias}.customer_id WHERE {where}", params,
    ) or (0,)  # fmt: skip
    measured = {k: float(v or 0) for k, v in zip(texts, row[1:], strict=True)}
    measured.update(widths or {})
    cols = []
    for f in sheet_fields:
        kind = {"date": "date", "code": "code", "money": "number", "number": "number"}.get(f.kind, "text")
        widest = 10.0 if kind == "date" else max(measured.get(f.key, 8.0), writers.display_width(f.label(lang)))
        cols.append(writers.Column(header=f.label(lang), kind=kind, width=min(widest + 2, MAX_COLUMN_WIDTH), choices=choices.get(f.key, ())))
    return int(row[0]), cols


def _deal_columns(reader: Reader, filters: Any, lang: str) -> tuple[int, list[writers.Column]]:
    """How many opportunities the sheet holds, and its columns."""
    texts = {"customer_name": "c.name", "name": "d.name", "owner": "d.owner", "lost_reason": "d.lost_reason", "code": "d.code"}
    choices = {"stage": [vocab.label("deal_stage", k, lang) for k in vocab.STAGES]}
    return _sheet_columns(
        reader, filters, lang, table="deal d", sheet_fields=fields.OPPORTUNITY, texts=texts, choices=choices, widths={"products": 30.0}
    )


def _ticket_columns(reader: Reader, filters: Any, lang: str) -> tuple[int, list[writers.Column]]:
    """How many tickets the sheet holds, and its columns."""
    texts = {"code": "t.code", "customer": "c.code", "name": "c.name", "type": "t.type", "handler": "t.handler", "content": "t.content", "note": "t.note"}
    choices = {"status": [vocab.label("status", k, lang) for k in vocab.FIELDS["status"]]}
    return _sheet_columns(reader, filters, lang, table="ticket t", sheet_fields=fields.TICKET, texts=texts, choices=choices)


def _measure(reader: Reader, filters: Any) -> tuple[int, dict[str, float], int, dict[str, float]]:
    """Row counts and widest values of both sheets, from two SQL aggregates (no rows fetched)."""
    d = reader.dialect
    text_keys = [k for k in CUSTOMER_COLUMNS if k not in ENUMS and k not in DATES and k not in ("tags", "amount") and k not in NUMBERS]
    exprs = ["count(*)", *(f"max({d.display_width(f'c.{k}')})" for k in text_keys)]
    exprs.append(f"max({d.display_width(_tags_sql(d))})")
    exprs.append("max(length(CAST(c.amount AS TEXT)))")
    where, params = _where(d, filters)
    row = reader.one(f"SELECT {', '.join(exprs)} FROM customer c WHERE {where}", params) or (0,)
    n_customers = int(row[0])
    widths = {k: float(v or 0) for k, v in zip([*text_keys, "tags", "amount"], row[1:], strict=True)}

    fu_keys = ("content", "by", "next_plan")
    fu_exprs = ["count(*)", *(f"max({d.display_width(f'f.{chr(34)}{k}{chr(34)}')})" for k in fu_keys)]
    fu = reader.one(
        f"SELECT {', '.join(fu_exprs)} FROM follow_up f JOIN customer c ON c.id = f.customer_id WHERE {where}", params
    ) or (0,)
    fu_widths = {k: float(v or 0) for k, v in zip(fu_keys, fu[1:], strict=True)}
    return n_customers, widths, int(fu[0]), fu_widths


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


# --------------------------------------------------------------------------- writing


def _column_width(key: str, measured: dict[str, float], lang: str) -> float:
    if key in ENUMS:
        values = [vocab.label(ENUMS[key], k, lang) for k in vocab.FIELDS[ENUMS[key]]]
        widest = max(writers.display_width(v) for v in values)
    elif key in DATES:
        widest = 10.0
    else:
        widest = measured.get(key, 8.0)
    return min(widest + 2, MAX_COLUMN_WIDTH)


def _custom_columns(custom: Sequence[fields.Field]) -> list[writers.Column]:
    """A column per custom field: its label, a drop-down for a choice field."""
    kinds = {"date": "date", "number": "number", "money": "number"}
    return [
        writers.Column(header=f.zh, kind=kinds.get(f.kind, "text"), width=min(max(writers.display_width(f.zh), 10.0) + 2, MAX_COLUMN_WIDTH),
                       choices=f.choices)
        for f in custom
    ]  # fmt: skip


def _columns(
    keys: Sequence[str], measured: dict[str, float], lang: str, *, template: bool = False
) -> list[writers.Column]:
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


def export_file(
    conn: Any,
    target: Path,
    *,
    fmt: str,
    filters: Any,
    cadence: dict[str, int],
    lang: str,
    mask: bool = False,
) -> ExportResult:
    """Write the export to ``target`` atomically (temp file + rename, 0600)."""
    if fmt == "xlsx":
        return _export_xlsx(conn, target, filters=filters, cadence=cadence, lang=lang, mask=mask)
    if fmt == "csv":
        with _output(target, fmt) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            n = write_csv(conn, text, filters=filters, cadence=cadence, lang=lang, mask=mask)
            text.flush()
            text.detach()
        return ExportResult(str(target), fmt, n)
    if fmt == "json":
        with _output(target, fmt) as raw:
            n = _write_json_array(raw, json_objects(conn, filters, cadence, mask=mask))
        return ExportResult(str(target), fmt, n)
    raise UsageError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")  # pragma: no cover


def _write_json_array(raw: IO[bytes], objects: Iterable[bytes | str]) -> int:
    """The same JSON as ``crm list --format json`` (one object per line), into a binary file."""
    n = 0
    for obj in objects:
        raw.write((b"[\n" if n == 0 else b",\n") + (obj if isinstance(obj, bytes) else obj.encode("utf-8")))
        n += 1
    raw.write(b"\n]\n" if n else b"[]\n")
    return n


def write_csv(
    conn: Any,
    stream: IO[str],
    *,
    filters: Any,
    cadence: dict[str, int],
    lang: str,
    mask: bool = False,
    lineterminator: str = "\r\n",
) -> int:
    """Write the customers as CSV to a text stream; return how many."""
    from crmcli.services import custom_fields

    custom = custom_fields.definitions(conn)
    heads = [header(k, lang) for k in CUSTOMER_COLUMNS] + [f.zh for f in custom]
    rows = customer_rows(conn, filters, cadence, lang=lang, fmt="csv", mask=mask, custom=custom)
    # Labels, dates and amounts come from SQL and never start with = + - @.
    text_columns = [i for i, k in enumerate(CUSTOMER_COLUMNS) if k not in ENUMS and k not in DATES and k not in NUMBERS]
    text_columns += [len(CUSTOMER_COLUMNS) + i for i, f in enumerate(custom) if f.kind in ("prose", "choice")]
    try:
        return writers.write_csv(stream, heads, rows, text_columns=text_columns, lineterminator=lineterminator)
    finally:
        # A reader that went away (`| head`) raises here: close the cursor while the
        # connection is still open, not later from the garbage collector.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _export_xlsx(
    conn: Any, target: Path, *, filters: Any, cadence: dict[str, int], lang: str, mask: bool
) -> ExportResult:
    n_customers, widths, n_follow_ups, fu_widths = _measure(conn, filters)
    limit = writers.EXCEL_MAX_ROWS - 1
    if n_customers > limit:
        raise CrmError(
            f"{n_customers:,} customers do not fit in an Excel sheet ({writers.EXCEL_MAX_ROWS:,} rows at most); "
            f"export them to csv instead: crm export {Path(target).with_suffix('.csv').name}"
        )
    n_deals, deal_columns = _deal_columns(conn, filters, lang)
    n_tickets, ticket_columns = _ticket_columns(conn, filters, lang)
    for n, what in ((n_follow_ups, "follow-ups"), (n_deals, "opportunities"), (n_tickets, "tickets")):
        if n > limit:
            raise CrmError(
                f"{n:,} {what} do not fit in an Excel sheet ({writers.EXCEL_MAX_ROWS:,} rows at most); "
                "narrow the export with filters (--since, --owner, --stage ...) or export customers to csv"
            )
    if mask:
        widths["phone"] = max(widths.get("phone", 0), 11)
    fu_widths.update(code=widths.get("code", 10), name=widths.get("name", 10))
    from crmcli.services import custom_fields

    custom = custom_fields.definitions(conn)
    sheets = [
        writers.Sheet(
            title=_title("customers", lang),
            columns=_columns(CUSTOMER_COLUMNS, widths, lang) + _custom_columns(custom),
            rows=customer_rows(conn, filters, cadence, lang=lang, fmt="xlsx", mask=mask, custom=custom),
        ),
        writers.Sheet(
            title=_title("follow_ups", lang),
            columns=_columns(FOLLOW_UP_COLUMNS, fu_widths, lang),
            rows=conn.stream(*follow_up_select(conn.dialect, filters, lang=lang, fmt="xlsx")),
        ),
        writers.Sheet(
            title=_title("deals", lang),
            columns=deal_columns,
            rows=conn.stream(*deal_select(conn.dialect, filters, lang=lang, fmt="xlsx")),
        ),
        writers.Sheet(
            title=_title("tickets", lang),
            columns=ticket_columns,
            rows=conn.stream(*ticket_select(conn.dialect, filters, lang=lang, fmt="xlsx")),
        ),
    ]
    with _output(target, "xlsx") as fh:
        counts = writers.write_xlsx(fh, sheets)
    return ExportResult(str(target), "xlsx", counts[0], counts[1], counts[2], counts[3])


# --------------------------------------------------------------------------- template

_EXAMPLE = {
    "zh": {
        "code": "示例", "name": "ABC科技有限公司", "contact": "张伟", "title": "采购经理",
        "phone": "13812345678", "email": "zhangwei@abc.com", "industry": "互联网", "source": "展会推广",
        "owner": "李娜", "need": "企业定制化办公软件", "tags": "高预算;华东", "notes": "",
        "content": "电话沟通方案, 客户要求报价", "by": "李娜", "next_plan": "发送报价单",
    },
    "en": {
        "code": "EXAMPLE", "name": "ABC Technology Co., Ltd.", "contact": "Zhang Wei", "title": "Purchasing manager",
        "phone": "13812345678", "email": "zhangwei@abc.com", "industry": "Internet", "source": "Trade show",
        "owner": "Li Na", "need": "Custom office software", "tags": "big budget;east", "notes": "",
        "content": "Walked through the proposal; asked for a quote", "by": "Li Na", "next_plan": "Send the quote",
    },
}  # fmt: skip
_EXAMPLE_ENUMS = {"level": "key", "stage": "intent", "method": "phone", "feedback": "positive"}
_EXAMPLE_DATES = {"created_at": dt.date(2024, 5, 8), "date": dt.date(2024, 5, 10), "next_date": dt.date(2024, 5, 17)}

_HELP = {
    "zh": [
        "客户信息导入模板 (crm import 文件.xlsx)",
        "",
        "1. 每行一个客户。带 * 的列必填: 客户名称、联系电话。",
        "2. 第 2 行 (灰色斜体, 客户编号为“示例”) 是示例: 导入时自动跳过, 也可以删除。",
        "3. 客户编号可以留空, 导入时自动生成 (C + 年月 + 3 位流水号, 如 C202405001)。",
        "4. 客户等级、当前销售阶段、跟进方式、客户反馈: 请从下拉菜单选择。",
        "   客户等级: 重点客户 / 普通客户 / 潜力客户; 当前销售阶段: 潜在客户 / 意向客户 / 谈判中 / 成交客户 / 流失客户。",
        "5. 日期写成 2024-05-08; 金额可写 50000、5万 或 ¥1,200.50。",
        "6. 联系电话、客户编号两列是文本格式, 长号码不会变成科学计数法。",
        "7. 多个标签用分号 (;) 分隔。",
        "8. 填了跟进日期、跟进内容等列的行, 导入时同时记一条跟进记录。",
        "9. 同名同电话的客户不会重复创建; 用 --on-duplicate update 可以更新已有客户。",
    ],
    "en": [
        "Customer import template (crm import FILE.xlsx)",
        "",
        "1. One customer per row. Columns marked * are required: Name and Phone.",
        "2. Row 2 (grey italics, Code \"EXAMPLE\") is an example: import skips it; you may delete it.",
        "3. Code may be left empty: import gives one (C + year-month + 3-digit serial, e.g. C202405001).",
        "4. Level, Stage, Method and Feedback: pick a value from the drop-down list.",
        "   Level: Key / Normal / Potential; Stage: Potential / Intent / Negotiating / Won / Lost.",
        "5. Write dates as 2024-05-08; amounts as 50000, 5万 or ¥1,200.50.",
        "6. Phone and Code are Text columns, so long numbers never turn into scientific notation.",
        "7. Separate several tags with semicolons (;).",
        "8. A row with Follow-up date, Content, ... filled in also records that follow-up.",
        "9. A customer with the same name and phone is never created twice; "
        "--on-duplicate update updates the existing one.",
    ],
}


def write_template(target: Path, *, lang: str, custom: Sequence[fields.Field] = ()) -> ExportResult:
    """An empty import workbook: headers (* on required), drop-downs, an example row, instructions;
    the custom fields' columns after the built-in ones."""
    example: list[Any] = []
    for key in TEMPLATE_COLUMNS:
        if key in ENUMS:
            example.append(vocab.label(ENUMS[key], _EXAMPLE_ENUMS[key], lang))
        elif key in _EXAMPLE_DATES:
            example.append(_EXAMPLE_DATES[key])
        elif key == "amount":
            example.append(50000)
        else:
            example.append(_EXAMPLE[lang].get(key) or None)
    measured = {k: writers.display_width(str(v)) for k, v in zip(TEMPLATE_COLUMNS, example, strict=True) if v}
    measured["phone"] = 16.0
    measured["notes"] = max(measured.get("notes", 0), 20.0)
    help_lines = _HELP[lang]
    sheets = [
        writers.Sheet(
            title=_title("customers", lang),
            columns=_columns(TEMPLATE_COLUMNS, measured, lang, template=True) + _custom_columns(custom),
            example_rows=[example + [None] * len(custom)],
        ),
        writers.Sheet(
            title=_title("help", lang),
            columns=[writers.Column(header=_title("help", lang), width=100.0)],
            rows=[[line or None] for line in help_lines],
            freeze=False,
            autofilter=False,
        ),
    ]
    with _output(target, "xlsx") as fh:
        writers.write_xlsx(fh, sheets)
    return ExportResult(str(target), "xlsx", 0)
