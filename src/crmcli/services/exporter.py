"""Export: every table a user has, to an xlsx workbook, a directory of CSV files or a JSON document.

Spec §7, §9 and issue 18. What each table holds, and the SQL of its rows, is ``export_tables``;
the workbook's column descriptions are ``export_sheets``; the import template is
``export_template``. This module writes the bytes: atomically (a temporary file renamed when
complete, 0600; see ``safe_files``), streamed from the database cursor.

* xlsx: one sheet per table (customers, follow-ups, stage changes, opportunities, tickets, and
  the custom fields' definitions), the export format's version in the workbook's keywords.
* a single CSV file (or ``-``): the customers, as ``crm list`` shows them.
* a directory of CSV files (``crm export DIR/``): one file per table, named by its sheet title.
* json: one document, ``{"format": "crmcli-export", "version": 1, "custom_fields": [...],
  "customers": [...], "follow_ups": [...], "stage_changes": [...], "deals": [...],
  "tickets": [...]}``; the customers are exactly what ``crm list --format json`` prints, the
  other tables' objects have their sheet's columns as keys with canonical values.

Each of the three imports back (``crm import FILE|DIR``) into the same records.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crmcli import fields
from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_
from crmcli.io import writers
from crmcli.services import export_sheets as sheets
from crmcli.services.export_tables import (
    CUSTOM_FIELD_COLUMNS,
    CUSTOMER_COLUMNS,
    DATES,
    DEAL_COLUMNS,
    ENUMS,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    FOLLOW_UP_COLUMNS,
    NUMBERS,
    SHEET_TITLES,
    STAGE_COLUMNS,
    TABLES,
    TICKET_COLUMNS,
    custom_field_rows,
    customer_rows,
    header,
    json_objects,
    table_rows,
    title,
)  # fmt: skip

__all__ = [
    "CUSTOMER_COLUMNS", "DATES", "ENUMS", "FOLLOW_UP_COLUMNS", "NUMBERS", "SHEET_TITLES", "ExportResult", "check_target",
    "customer_rows", "export_file", "header", "json_objects", "resolve_format", "write_csv", "write_json", "write_template",
]  # fmt: skip

FORMATS = ("xlsx", "csv", "json")
EXTENSIONS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json"}
DIRECTORY = "dir"  # a directory of CSV files: `crm export DIR/`
# The record tables of the customers, in the order of the sheets and of the JSON document.
RECORD_TABLES = {"follow_ups": FOLLOW_UP_COLUMNS, "stage_changes": STAGE_COLUMNS, "deals": DEAL_COLUMNS, "tickets": TICKET_COLUMNS}
MARKER = f"{EXPORT_FORMAT} {EXPORT_VERSION}"  # the workbook's keywords: what an import checks the version by


def is_directory_target(target: str) -> bool:
    return target.endswith(("/", os.sep)) or Path(target).is_dir()


def resolve_format(target: str, fmt: str | None, *, template: bool = False) -> str:
    """The output format: ``--format`` if given, else the file's extension; ``-`` means csv; a
    directory (an existing one, or a name ending in ``/``) means one CSV file per table."""
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(N_("{format} {fmt}: choose one of {formats}"), options=["format"], fmt=fmt, formats=', '.join(FORMATS))
    if target == "-":
        fmt = fmt or "csv"
        if fmt == "xlsx":
            raise UsageError(N_("an xlsx workbook cannot be written to stdout; give a FILE.xlsx"))
        if template:
            raise UsageError(N_("{template} writes a workbook; give a FILE.xlsx"), options=["template"])
        return fmt
    if is_directory_target(target):
        if template or fmt not in (None, "csv"):
            raise UsageError(N_("'{target}' is a directory: it takes one CSV file per table; name a file for {format} {value}"), options=["format"], target=target, value=fmt or 'xlsx')
        return DIRECTORY
    if fmt is None:
        fmt = EXTENSIONS.get(Path(target).suffix.lower())
        if fmt is None:
            if template:
                return "xlsx"
            raise UsageError(N_("cannot tell the format of '{target}': name it .xlsx, .csv or .json, end it with / for a directory of CSV files, or give {format}"), options=["format"], target=target)
    if template and fmt != "xlsx":
        raise UsageError(N_("{template} writes an xlsx workbook; give a FILE.xlsx"), options=["template"])
    return fmt


def _replaceable(fmt: str) -> Any:
    from crmcli import safe_files

    return safe_files.replaceable_workbook if fmt == "xlsx" else safe_files.replaceable_text


def check_target(target: Path, fmt: str) -> None:
    """Refuse, before any work, a target the export must not write (see ``safe_files``)."""
    from crmcli import safe_files

    if fmt == DIRECTORY:
        if target.exists() and not target.is_dir():
            raise CrmError(N_("{target} exists and is not a directory"), target=target)
        if not target.exists() and not target.parent.is_dir():
            raise CrmError(N_("cannot write {target}: directory {parent} does not exist"), target=target, parent=target.parent)
        return
    reason = safe_files.refusal(target) or (_replaceable(fmt)(target) if target.exists() else None)
    if reason:
        raise CrmError(N_("{reason}"), reason=reason)


def output(target: Path, fmt: str) -> Any:
    from crmcli import safe_files

    return safe_files.open_for_writing(target, check=_replaceable(fmt))


@dataclass
class ExportResult:
    target: str
    format: str
    customers: int
    follow_ups: int | None = None  # the tables beside the customers (not in a single CSV file)
    deals: int | None = None
    tickets: int | None = None
    stage_changes: int | None = None
    files: list[str] = field(default_factory=list)  # a directory export: the files written


def _custom(conn: Any) -> list[fields.Field]:
    from crmcli.services import custom_fields

    return custom_fields.definitions(conn)


def export_file(
    conn: Any, target: Path, *, fmt: str, filters: Any, cadence: dict[str, int], lang: str, mask: bool = False
) -> ExportResult:
    """Write the export to ``target`` atomically (temp file + rename, 0600)."""
    if fmt == "xlsx":
        return _export_xlsx(conn, target, filters=filters, cadence=cadence, lang=lang, mask=mask)
    if fmt == DIRECTORY:
        return _export_directory(conn, target, filters=filters, cadence=cadence, lang=lang, mask=mask)
    if fmt == "csv":
        with output(target, fmt) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            n = write_csv(conn, text, filters=filters, cadence=cadence, lang=lang, mask=mask)
            text.flush()
            text.detach()
        return ExportResult(str(target), fmt, n)
    if fmt == "json":
        with output(target, fmt) as raw:
            return write_json(conn, raw, target=str(target), filters=filters, cadence=cadence, mask=mask)
    raise UsageError(N_("{format} {fmt}: choose one of {formats}"), options=["format"], fmt=fmt, formats=', '.join(FORMATS))  # pragma: no cover


# --------------------------------------------------------------------------- json


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if v.__class__.__name__ == "Decimal":  # PostgreSQL's numeric
        return _json_value(float(v))
    return v


def write_json(conn: Any, raw: IO[bytes], *, target: str, filters: Any, cadence: dict[str, int], mask: bool) -> ExportResult:
    """The JSON document (see the module's docstring), streamed into a binary file, one record a line."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    custom = _custom(conn)
    raw.write(f'{{"format":"{EXPORT_FORMAT}","version":{EXPORT_VERSION},\n"custom_fields":'.encode())
    defs = [dict(zip(CUSTOM_FIELD_COLUMNS, row, strict=True)) for row in custom_field_rows(custom)]
    raw.write(dumps([{**d, "choices": d["choices"].split(",") if d["choices"] else []} for d in defs]).encode())
    counts = {"customers": _json_array(raw, "customers", json_objects(conn, filters, cadence, mask=mask))}
    for table, keys in RECORD_TABLES.items():
        rows = table_rows(conn, table, filters, lang="en", fmt="json")
        counts[table] = _json_array(raw, table, (dumps({k: _json_value(v) for k, v in zip(keys, row, strict=True)}) for row in rows))
    raw.write(b"}\n")
    return ExportResult(target, "json", counts["customers"], counts["follow_ups"], counts["deals"], counts["tickets"], counts["stage_changes"])


def _json_array(raw: IO[bytes], key: str, objects: Iterable[bytes | str]) -> int:
    raw.write(f',\n"{key}":['.encode())
    n = 0
    for obj in objects:
        raw.write((b"\n" if n == 0 else b",\n") + (obj if isinstance(obj, bytes) else obj.encode("utf-8")))
        n += 1
    raw.write(b"\n]" if n else b"]")
    return n


# --------------------------------------------------------------------------- csv


def write_csv(
    conn: Any, stream: IO[str], *, filters: Any, cadence: dict[str, int], lang: str, mask: bool = False, lineterminator: str = "\r\n",
) -> int:  # fmt: skip
    """Write the customers as CSV to a text stream; return how many."""
    custom = _custom(conn)
    heads = [header(k, lang) for k in CUSTOMER_COLUMNS] + [f.zh for f in custom]
    rows = customer_rows(conn, filters, cadence, lang=lang, fmt="csv", mask=mask, custom=custom)
    # Labels, dates and amounts come from SQL and never start with = + - @.
    text_columns = [i for i, k in enumerate(CUSTOMER_COLUMNS) if k not in ENUMS and k not in DATES and k not in NUMBERS]
    text_columns += [len(CUSTOMER_COLUMNS) + i for i, f in enumerate(custom) if f.kind in ("prose", "choice")]
    return _write_csv_rows(stream, heads, rows, text_columns=text_columns, lineterminator=lineterminator)


def _write_csv_rows(stream: IO[str], heads: Sequence[str], rows: Iterable[Sequence[Any]], **options: Any) -> int:
    try:
        return writers.write_csv(stream, heads, rows, **options)
    finally:
        # A reader that went away (`| head`) raises here: close the cursor while the
        # connection is still open, not later from the garbage collector.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _export_directory(conn: Any, target: Path, *, filters: Any, cadence: dict[str, int], lang: str, mask: bool) -> ExportResult:
    """One CSV file per table in ``target`` (made if missing), each written to a temporary file;
    all are renamed into place only once every one is complete."""
    from crmcli import safe_files

    made = not target.exists()
    if made:
        target.mkdir(mode=0o700)
    pending: list[safe_files.PendingFile] = []
    try:
        custom = _custom(conn)
        counts: dict[str, int] = {}
        for table in TABLES:
            name = target / f"{title(table, lang)}.csv"
            tmp = safe_files.PendingFile(name, check=safe_files.replaceable_text)
            pending.append(tmp)
            with open(tmp.path, "w", encoding="utf-8-sig", newline="") as fh:
                if table == "customers":
                    counts[table] = write_csv(conn, fh, filters=filters, cadence=cadence, lang=lang, mask=mask)
                elif table == "custom_fields":
                    heads = [f.label(lang) for f in fields.CUSTOM_FIELD]
                    counts[table] = _write_csv_rows(fh, heads, custom_field_rows(custom))
                else:
                    heads = [f.label(lang) for f in TABLES[table][2]] if table != "follow_ups" else [header(k, lang) for k in FOLLOW_UP_COLUMNS]
                    counts[table] = _write_csv_rows(fh, heads, table_rows(conn, table, filters, lang=lang, fmt="csv"))
        from crmcli import export_layout

        tmp = safe_files.PendingFile(target / export_layout.MANIFEST, check=safe_files.replaceable_text)
        pending.append(tmp)
        files = {table: f"{title(table, lang)}.csv" for table in TABLES}
        tmp.path.write_text(json.dumps(export_layout.manifest(files), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for tmp in pending:
            tmp.commit()
    except BaseException:
        for tmp in pending:
            tmp.abort()
        if made:
            try:
                target.rmdir()
            except OSError:
                pass
        raise
    return ExportResult(str(target), DIRECTORY, counts["customers"], counts["follow_ups"], counts["deals"], counts["tickets"],
                        counts["stage_changes"], files=[str(p.target) for p in pending])  # fmt: skip


# --------------------------------------------------------------------------- xlsx


def _export_xlsx(conn: Any, target: Path, *, filters: Any, cadence: dict[str, int], lang: str, mask: bool) -> ExportResult:
    n_customers, widths, n_follow_ups, fu_widths = sheets.measure(conn, filters)
    limit = writers.EXCEL_MAX_ROWS - 1
    if n_customers > limit:
        raise CrmError(N_("{n_customers:,} customers do not fit in an Excel sheet ({excel_max_rows:,} rows at most); export them to csv instead: crm export {name}"), n_customers=n_customers, excel_max_rows=writers.EXCEL_MAX_ROWS, name=Path(target).with_suffix('.csv').name)
    n_stages, stage_columns = sheets.stage_columns(conn, filters, lang)
    n_deals, deal_columns = sheets.deal_columns(conn, filters, lang)
    n_tickets, ticket_columns = sheets.ticket_columns(conn, filters, lang)
    for n, what in ((n_follow_ups, "follow-ups"), (n_stages, "stage changes"), (n_deals, "opportunities"), (n_tickets, "tickets")):
        if n > limit:
            raise CrmError(N_("{n:,} {what} do not fit in an Excel sheet ({excel_max_rows:,} rows at most); narrow the export with filters ({since}, {owner}, {stage} ...) or export to a directory of csv files: crm export DIR/"), options=["since", "owner", "stage"], n=n, what=what, excel_max_rows=writers.EXCEL_MAX_ROWS)
    if mask:
        widths["phone"] = max(widths.get("phone", 0), 11)
    custom = _custom(conn)

    def rows(table: str) -> Iterable[Sequence[Any]]:
        return table_rows(conn, table, filters, lang=lang, fmt="xlsx")

    book = [
        writers.Sheet(
            title=title("customers", lang),
            columns=sheets.columns(CUSTOMER_COLUMNS, widths, lang) + sheets.custom_columns(custom),
            rows=customer_rows(conn, filters, cadence, lang=lang, fmt="xlsx", mask=mask, custom=custom),
        ),
        writers.Sheet(title=title("follow_ups", lang), columns=sheets.follow_up_columns(fu_widths, widths, lang), rows=rows("follow_ups")),
        writers.Sheet(title=title("stage_changes", lang), columns=stage_columns, rows=rows("stage_changes")),
        writers.Sheet(title=title("deals", lang), columns=deal_columns, rows=rows("deals")),
        writers.Sheet(title=title("tickets", lang), columns=ticket_columns, rows=rows("tickets")),
        writers.Sheet(title=title("custom_fields", lang), columns=sheets.custom_field_columns(custom, lang), rows=custom_field_rows(custom)),
    ]
    with output(target, "xlsx") as fh:
        counts = writers.write_xlsx(fh, book, keywords=MARKER)
    return ExportResult(str(target), "xlsx", counts[0], counts[1], counts[3], counts[4], counts[2])


def write_template(target: Path, *, lang: str, custom: Sequence[fields.Field] = ()) -> ExportResult:
    """An empty import workbook (``export_template``)."""
    from crmcli.services.export_template import write_template as write

    return write(target, lang=lang, custom=custom)
