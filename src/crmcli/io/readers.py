"""Reading spreadsheets and CSV files as rows of cells (spec §9).

* Nothing reads a file before its pre-flight: it must be a regular file (``preflight``); a
  zip-based workbook's directory is checked for bombs and DOCTYPEs (``zip_parts``) and the
  cells of its sheets for what calamine would allocate (``sheet_area``, ``ods_area``; .xls and
  .xlsb: ``binary_area``); a text file's lines, columns and cells are bounded before it is
  decoded (``preflight``).
* Workbooks (.xlsx/.xlsm/.xls/.ods) are read with python-calamine, never openpyxl (16x slower).
  Calamine returns floats for all numbers, ``''`` for empty cells, dates for date cells,
  and ``''`` for a formula without a cached value (it never evaluates formulas).
* CSV/TSV is decoded strictly: a BOM (UTF-8, UTF-16), else UTF-8, else GB18030 (which covers
  GBK and GB2312), else UTF-16 without BOM when the NUL pattern says so; a file that is none of
  these is refused, never decoded with replacement characters, and so is one mixing UTF-8
  Chinese lines with lines in another encoding (GB18030 would read it all, as mojibake). The delimiter is tab for .tsv
  and for a header line with more tabs than commas, else comma (or ';' when the header has
  only semicolons).
* What a file *is* comes from its first bytes, not its name: a workbook renamed to .csv, a text
  file renamed to .xlsx, an encrypted workbook (an OLE container holding EncryptedPackage) and
  a zip that is not a workbook each get their own message.
* The header row is the row among the first ``HEADER_SCAN`` rows with the most known column
  names (at least two, or one when the file has a single column); title rows and merged banners
  above it are skipped.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crmcli.i18n import N_
from crmcli.io import preflight

# What the readers' callers use, each defined in the module of its job: the table type, the
# header row's search, CSV/TSV files.
from crmcli.io.header_row import HEADER_SCAN, Located, locate_header, peek  # noqa: E402,F401
from crmcli.io.preflight import ReadError
from crmcli.io.table import Cell, Row, Table  # noqa: F401
from crmcli.io.text_files import CSV_FIELD_LIMIT, detect_encoding, open_text  # noqa: F401
from crmcli.io.zip_parts import check_zip

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --------------------------------------------------------------------------- sniffing


def _cfb_is_encrypted(path: Path) -> bool:
    """An encrypted .xlsx is an OLE compound file holding EncryptionInfo/EncryptedPackage streams."""
    needles = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
    with preflight.open_regular(path) as fh:
        data = fh.read(4 * 1024 * 1024)
    return any(n in data for n in needles)


def sniff(path: Path) -> str:
    """What the file really is: xlsx | ods | xls | encrypted | zip | damaged-zip | csv (text) | empty."""
    head = preflight.read_head(path)
    if not head:
        return "empty"
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
                    return "xlsx"
                if "content.xml" in names:
                    return "ods"
        except (zipfile.BadZipFile, OSError, ValueError):
            return "damaged-zip"  # a zip's start but no readable directory: truncated or damaged
        return "zip"
    if head.startswith(_CFB_MAGIC):
        return "encrypted" if _cfb_is_encrypted(path) else "xls"
    return "csv"


# --------------------------------------------------------------------------- workbooks


def _open_workbook(path: Path, kind: str, sheet: str | None, checked: Callable[[], None] | None = None) -> Table:
    import python_calamine as pc

    if kind in ("xlsx", "ods"):
        check_zip(path, kind)
    elif kind == "xls":
        from crmcli.io import binary_area

        binary_area.check_xls(path)
    if checked:
        checked()
    suffix = path.suffix.lower()
    expected = {"xlsx": (".xlsx", ".xlsm", ".xlsb"), "ods": (".ods",), "xls": (".xls",)}[kind]
    try:
        if suffix in expected:
            wb = pc.CalamineWorkbook.from_path(str(path))
        else:  # renamed: let calamine sniff the bytes
            with preflight.open_regular(path) as fh:
                wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
    except pc.PasswordError:
        raise ReadError(N_("{name} is password-protected; save an unprotected copy and import that"), name=path.name) from None
    except pc.CalamineError as exc:
        raise ReadError(N_("{name} is not a readable {kind} workbook: {exc}"), name=path.name, kind=kind, exc=_first_line(exc)) from None
    except BaseException as exc:
        raise _panic(exc, path) from None
    names = list(wb.sheet_names)
    try:
        if sheet is not None:
            if sheet not in names:
                raise ReadError(N_("{name} has no sheet '{sheet}'; sheets: {names}"), name=path.name, sheet=sheet, names=', '.join(names))
            chosen = sheet
        else:
            chosen = _default_sheet(wb, names)
        ws = wb.get_sheet_by_name(chosen)
    except pc.PasswordError:
        raise ReadError(N_("{name} is password-protected; save an unprotected copy and import that"), name=path.name) from None
    except pc.CalamineError as exc:
        raise ReadError(N_("{name}: cannot read sheet: {exc}"), name=path.name, exc=_first_line(exc)) from None
    except BaseException as exc:
        raise _panic(exc, path) from None
    start = ws.start
    end = ws.end
    total = None if end is None else end[0] + 1
    col_offset = 0 if start is None else start[1]

    def rows() -> Iterator[Row]:
        if start is None:
            return iter(())
        return iter(ws.iter_rows())

    return Table(path=path, kind=kind, sheet=chosen, rows=rows(), total_rows=total, col_offset=col_offset, close=wb.close,
                 sheets=_visible_sheets(wb, names))  # fmt: skip


def _visible_sheets(wb: Any, names: list[str]) -> list[str]:
    """The workbook's visible worksheets (hidden sheets of lookup lists are not the user's data)."""
    try:
        return [str(m.name) for m in wb.sheets_metadata if str(m.visible).endswith("Visible") and "WorkSheet" in str(m.typ)]
    except Exception:  # noqa: BLE001 - metadata is a nicety: then every sheet
        return list(names)


def _default_sheet(wb: Any, names: list[str]) -> str:
    """The first visible worksheet (a hidden first sheet of lookup lists is common)."""
    try:
        for meta in wb.sheets_metadata:
            if str(meta.visible).endswith("Visible") and "WorkSheet" in str(meta.typ):
                return str(meta.name)
    except Exception:  # noqa: BLE001 - metadata is a nicety; any failure falls back to the first sheet
        pass
    if not names:
        raise ReadError(N_("the workbook has no sheets"))
    return names[0]


def _panic(exc: BaseException, path: Path) -> BaseException:
    """A Rust panic inside calamine (pyo3's PanicException, a BaseException) as our one-line error;
    anything else (KeyboardInterrupt, our own errors) as it was."""
    if type(exc).__name__ != "PanicException":
        return exc
    return ReadError(N_("{name} is not a readable workbook: the reader failed on it ({value})"), name=path.name, value=preflight.quote(_first_line(exc), 80))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- entry points


def open_table(path: Path, sheet: str | None = None, checked: Callable[[], None] | None = None) -> Table:
    """Open ``path`` as a table of rows, whatever its name says; ReadError with a clear message.

    ``checked`` is called once the file has passed its pre-flight, before calamine or the csv
    module reads it.
    """
    from crmcli.io import bundles, file_kinds

    if path.is_dir():  # a directory of CSV files (crm export DIR/): one sheet a file
        return bundles.open_directory(path, sheet, checked)
    kind = sniff(path)
    suffix = path.suffix.lower()
    if kind == "csv":
        head = preflight.read_head(path, 64)
        if bundles.looks_like_json(path, head):
            return bundles.open_json(path, sheet, checked)
        what = file_kinds.what_else(head)
        if what is not None and suffix in WORKBOOK_SUFFIXES:
            raise ReadError(N_("{name} is not an Excel workbook: it is {what}; {supported}"), name=path.name, what=what, supported=file_kinds.SUPPORTED)
        if what is not None:
            raise ReadError(N_("{name} is {what}, not a table; {supported}"), name=path.name, what=what, supported=file_kinds.SUPPORTED)
    if kind == "empty":
        raise ReadError(N_("{name} is empty (0 bytes)"), name=path.name)
    if kind == "encrypted":
        raise ReadError(N_("{name} is an encrypted (password-protected) workbook; save an unprotected copy and import that"), name=path.name)
    if kind == "zip":
        raise ReadError(N_("{name} is {path}, not an Excel (.xlsx) or OpenDocument (.ods) workbook; {supported}"), name=path.name, path=file_kinds.what_zip(path), supported=file_kinds.SUPPORTED)
    if kind == "xlsx":
        file_kinds.check_workbook_version(path)
    if kind == "damaged-zip":
        raise ReadError(N_("{name} is damaged or incomplete (a truncated download or copy?): its zip directory cannot be read"), name=path.name)
    if kind == "csv":
        if suffix in WORKBOOK_SUFFIXES:
            raise ReadError(N_("{name} is not an Excel workbook: its content is not a {suffix} file (is it a CSV or text file with the wrong name?)"), name=path.name, suffix=suffix)
        if sheet is not None:
            raise ReadError(N_("--sheet {sheet}: {name} is a CSV file and has no sheets"), sheet=sheet, name=path.name)
        return open_text(path, checked)
    return _open_workbook(path, kind, sheet, checked)


def formula_cells(path: Path, sheet: str | None) -> set[tuple[int, int]] | None:
    """(row, column) 0-based of formula cells with no cached value in an .xlsx sheet, or None.

    Used only to explain a rejected row ("a formula with no saved value"): calamine reads such a
    cell as empty and never evaluates it. Skipped for sheets over 50 MB of XML.
    """

    try:
        with zipfile.ZipFile(path) as zf:
            target = _sheet_part(zf, sheet)
            if target is None:
                return None
            info = zf.getinfo(target)
            if info.file_size > 50 * 1000 * 1000:
                return None
            xml = zf.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    out: set[tuple[int, int]] = set()
    for m in re.finditer(r'<c\b[^>]*\br="([A-Z]+)([0-9]+)"[^>]*>(.*?)</c>', xml, re.S):
        inner = m.group(3)
        if "<f" in inner and not re.search(r"<v>[^<]+</v>", inner):
            col = 0
            for ch in m.group(1):
                col = col * 26 + ord(ch) - 64
            out.add((int(m.group(2)) - 1, col - 1))
    return out


def _sheet_part(zf: zipfile.ZipFile, sheet: str | None) -> str | None:

    try:
        wb = zf.read("xl/workbook.xml").decode("utf-8", errors="replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    except KeyError:
        return None
    sheets = re.findall(r'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"', wb)
    if not sheets:
        sheets = [(n, r) for r, n in re.findall(r'<sheet\b[^>]*?r:id="([^"]*)"[^>]*?name="([^"]*)"', wb)]
    rid = None
    for name, r in sheets:
        if sheet is None or _xml_unescape(name) == sheet:
            rid = r
            break
    if rid is None:
        return None
    for attrs in re.findall(r"<Relationship\b([^>]*)/?>", rels):
        if f'Id="{rid}"' in attrs:
            m = re.search(r'Target="([^"]*)"', attrs)
            if m:
                target = m.group(1).lstrip("/")
                return target if target.startswith("xl/") else "xl/" + target
    return None


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")
