"""Files that hold several tables without being a workbook: our export's JSON document, and a
directory of CSV files (``crm export DIR/``). Both are read as a workbook whose sheets are the
tables, so the importer treats them as it treats the export's xlsx (issue 18).

The JSON document (``services.exporter``) is ``{"format": "crmcli-export", "version": N,
"custom_fields": [...], "customers": [...], "follow_ups": [...], ...}``; a bare array of customer
objects (``crm list --format json``) is read as its customers. Its shape is checked before any
row is read: the first wrong key or value is named with its path (``$.customers[3].phonee``). A
document of a newer format version is refused, naming its version. Each table becomes rows under
a header of its columns' English labels, which the importer's header matching knows; values are
the canonical keys, ISO dates and numbers the document holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crmcli.errors import ParseError
from crmcli.i18n import N_, Text
from crmcli.io.file_kinds import SUPPORTED


class ShapeError(ParseError):
    """A JSON document of the wrong shape, naming the first wrong key and its path."""


# --------------------------------------------------------------------------- what a document may hold


def _table_fields() -> dict[str, dict[str, Any]]:
    """Table -> key -> the Field that describes its values (kind), for every table of the document."""
    from crmcli import export_layout as t
    from crmcli import fields

    out: dict[str, dict[str, Any]] = {}
    customer = {f.key: f for f in fields.CUSTOMER if f.in_json}
    for key in ("next_plan", "last_method", "overdue_days"):  # what `list --format json` adds (information)
        customer[key] = fields.get(key) or fields.Field(key, key, key)
    out["customers"] = customer
    follow = {"code": fields.CUSTOMER_BY_KEY["code"], "name": fields.CUSTOMER_BY_KEY["name"], **fields.FOLLOW_UP_BY_KEY}
    out["follow_ups"] = {k: follow[k] for k in t.FOLLOW_UP_COLUMNS}
    for table in ("stage_changes", "deals", "tickets", "custom_fields"):
        out[table] = {f.key: f for f in t.TABLES[table][2]}
    return out


_SCALAR_KINDS = {"money": (int, float), "number": (int, float), "bool": (bool,)}


_A_NUMBER, _TEXT, _TRUE_FALSE = Text(N_("a number")), Text(N_("text")), "true/false"
_TYPE_NAMES = {bool: _TRUE_FALSE, int: _A_NUMBER, float: _A_NUMBER, str: _TEXT, list: Text(N_("a list")), dict: Text(N_("an object"))}


def _type_name(v: Any) -> Any:
    if v is None:
        return "null"
    return _TYPE_NAMES.get(type(v), type(v).__name__)


def _check_value(where: str, f: Any, v: Any) -> None:
    if v is None:
        return
    if f.kind in ("tags",) or f.key == "choices":
        if isinstance(v, str) and f.key == "choices":
            return
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ShapeError(N_("{where}: expected a list of text, got {v}"), where=where, v=_type_name(v))
        return
    if f.kind == "custom":
        if not isinstance(v, dict):
            raise ShapeError(N_("{where}: expected an object of field values, got {v}"), where=where, v=_type_name(v))
        for k, x in v.items():
            if isinstance(x, dict | list):
                raise ShapeError(N_("{where}.{k}: expected text or a number, got {x}"), where=where, k=k, x=_type_name(x))
        return
    wanted = _SCALAR_KINDS.get(f.kind, (str,))
    if isinstance(v, bool) and bool not in wanted:
        raise ShapeError(N_("{where}: expected {value}, got true/false"), where=where, value=_A_NUMBER if int in wanted else _TEXT)
    if not isinstance(v, wanted):
        if f.kind in ("phone", "code") and isinstance(v, int | float):  # a phone or a code written as a number
            return
        raise ShapeError(N_("{where}: expected {value}, got {v}"), where=where, value=_A_NUMBER if int in wanted else _TRUE_FALSE if bool in wanted else _TEXT, v=_type_name(v))


def check_document(doc: Any) -> dict[str, list[dict[str, Any]]]:
    """The document's tables (table -> objects), once its shape is checked; ShapeError at the first wrong key."""
    from crmcli import export_layout as t

    shapes = _table_fields()
    if isinstance(doc, list):
        doc = {"format": t.EXPORT_FORMAT, "version": t.EXPORT_VERSION, "customers": doc}
    if not isinstance(doc, dict):
        raise ShapeError(N_("$: expected an object (crm export's JSON document) or an array of customers, got {doc}"), doc=_type_name(doc))
    if doc.get("format") != t.EXPORT_FORMAT:
        raise ShapeError(N_("$.format: expected \"{export_format}\", got {value}"), export_format=t.EXPORT_FORMAT, value=json.dumps(doc.get('format'), ensure_ascii=False))
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ShapeError(N_("$.version: expected a whole number, got {version}"), version=json.dumps(version, ensure_ascii=False))
    if version > t.EXPORT_VERSION:
        raise ShapeError(N_("export format version {version} is newer than this crm reads (version {export_version}); upgrade crm to import it"), version=version, export_version=t.EXPORT_VERSION)
    tables: dict[str, list[dict[str, Any]]] = {}
    for key, value in doc.items():
        if key in ("format", "version"):
            continue
        if key not in shapes:
            raise ShapeError(N_("$.{key}: unknown key; a document has: format, version, {shapes}"), key=key, shapes=', '.join(shapes))
        if not isinstance(value, list):
            raise ShapeError(N_("$.{key}: expected a list, got {value}"), key=key, value=_type_name(value))
        allowed = shapes[key]
        for i, obj in enumerate(value):
            where = f"$.{key}[{i}]"
            if not isinstance(obj, dict):
                raise ShapeError(N_("{where}: expected an object, got {obj}"), where=where, obj=_type_name(obj))
            for k, v in obj.items():
                f = allowed.get(k)
                if f is None:
                    raise ShapeError(N_("{where}.{k}: unknown key; {key} have: {allowed}"), where=where, k=k, key=key, allowed=', '.join(allowed))
                _check_value(f"{where}.{k}", f, v)
        tables[key] = value
    return tables


# --------------------------------------------------------------------------- documents as sheets


def _cell(v: Any) -> Any:
    return "" if v is None else v


def _sheets(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[list[Any]]]:
    """Each table as rows: a header of English labels, then one row per object."""
    from crmcli import export_layout as t

    out: dict[str, list[list[Any]]] = {}
    customers = tables.get("customers", [])
    custom_keys = list(dict.fromkeys([*(d.get("key") for d in tables.get("custom_fields", [])),
                                      *(k for c in customers for k in (c.get("fields") or {}))]))  # fmt: skip
    joins = {"tags": t.TAG_JOIN, "main_products": t.PRODUCT_JOIN}
    head = [t.header(k, "en") for k in t.CUSTOMER_COLUMNS] + [str(k) for k in custom_keys]
    rows = [head]
    for c in customers:
        row = []
        for k in t.CUSTOMER_COLUMNS:
            v = c.get(k)
            row.append(joins[k].join(v) if k in joins and isinstance(v, list) else _cell(v))
        values = c.get("fields") or {}
        rows.append(row + [_cell(values.get(k)) for k in custom_keys])
    out["customers"] = rows
    for table in ("follow_ups", "stage_changes", "deals", "tickets", "custom_fields"):
        if table not in tables:
            continue
        keys = t.FOLLOW_UP_COLUMNS if table == "follow_ups" else tuple(f.key for f in t.TABLES[table][2])
        labels = [t.header(k, "en") for k in keys] if table == "follow_ups" else [f.label("en") for f in t.TABLES[table][2]]
        body = [labels]
        for obj in tables[table]:
            values = [obj.get(k) for k in keys]
            if table == "custom_fields":
                values = [t.CHOICE_JOIN.join(v) if isinstance(v, list) else v for v in values]
            body.append([_cell(v) for v in values])
        out[table] = body
    return out


_CACHE: dict[tuple[str, int, int], dict[str, list[list[Any]]]] = {}


def looks_like_json(path: Path, head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return path.suffix.lower() == ".json" or text[:1] == b"{" or (text[:1] == b"[" and text[1:].lstrip()[:1] in (b"{", b"]"))


def _document(path: Path) -> dict[str, list[list[Any]]]:
    from crmcli.io.readers import ReadError

    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        try:
            with open(path, encoding="utf-8-sig") as fh:
                doc = json.load(fh)
        except UnicodeDecodeError:
            raise ReadError(N_("{name} is not valid UTF-8 JSON"), name=path.name) from None
        except json.JSONDecodeError as exc:
            raise ReadError(N_("{name} is not valid JSON: {msg} at line {lineno}, column {colno}"), name=path.name, msg=exc.msg, lineno=exc.lineno, colno=exc.colno) from None
        try:
            tables = check_document(doc)
        except ShapeError as exc:
            raise ReadError(N_("{name}: {exc}"), name=path.name, exc=exc) from None
        _CACHE.clear()
        _CACHE[key] = _sheets(tables)
    return _CACHE[key]


def _table(path: Path, kind: str, names: list[str], name: str, rows: Any, total: int | None, **extra: Any) -> Any:
    from crmcli.io.readers import Table

    return Table(path=path, kind=kind, sheet=name, rows=rows, total_rows=total, sheets=names, **extra)


def open_json(path: Path, sheet: str | None, checked: Callable[[], None] | None = None) -> Any:
    """One table of the JSON document as a sheet (the customers unless ``sheet`` names another)."""
    from crmcli.io.readers import ReadError

    if checked:
        checked()
    sheets = _document(path)
    names = list(sheets)
    name = sheet or names[0]
    if name not in sheets:
        raise ReadError(N_("--sheet {name}: {name2} has no table '{name}'; tables: {names}"), name=name, name2=path.name, names=', '.join(names))
    rows = sheets[name]
    return _table(path, "json", names, name, iter([list(r) for r in rows]), len(rows))


# --------------------------------------------------------------------------- a directory of CSV files


def _csv_files(path: Path) -> list[Path]:
    from crmcli import export_layout as t

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".tsv") and p.is_file() and not p.name.endswith(".rejects.csv"))
    first = {f"{t.title('customers', lang)}.csv" for lang in ("zh", "en")} | {"customers.csv"}
    return sorted(files, key=lambda p: (p.name not in first, p.name))


def open_directory(path: Path, sheet: str | None, checked: Callable[[], None] | None = None) -> Any:
    """One CSV file of the directory as a sheet (the customers' file first, else by name)."""
    from crmcli.io.file_kinds import check_directory_version
    from crmcli.io.readers import ReadError, open_table

    check_directory_version(path)
    files = _csv_files(path)
    if not files:
        raise ReadError(N_("{path} is a directory without CSV files; {supported}"), path=path, supported=SUPPORTED)
    names = [p.name for p in files]
    name = sheet or names[0]
    if name not in names:
        raise ReadError(N_("--sheet {name}: {path} has no file '{name}'; files: {names}"), name=name, path=path, names=', '.join(names))
    table = open_table(path / name, None, checked)
    table.kind, table.sheet, table.sheets = "csvdir", name, names
    return table
