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

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.io import columns, preflight
from crmcli.io.preflight import ReadError
from crmcli.io.zip_parts import check_zip

HEADER_SCAN = 30
CSV_FIELD_LIMIT = preflight.MAX_CELL_CHARS  # a 1 MB cell is rejected with a reason; a 5 MB one refuses the file

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


Cell = Any  # str | float | int | bool | date | datetime | time | timedelta
Row = list[Cell]


@dataclass
class Table:
    """An opened sheet: its rows as an iterator, and what the importer needs to know about them."""

    path: Path
    kind: str  # xlsx | xls | ods | csv
    sheet: str | None
    rows: Iterator[Row]
    total_rows: int | None = None  # for the progress bar
    encoding: str | None = None
    delimiter: str | None = None
    col_offset: int = 0  # index of the first column yielded (calamine skips empty leading columns)
    has_nul: bool = False  # the text holds NUL characters somewhere
    from_csv: bool = False  # cells are text, and "'=..." neutralisation is undone
    close: Callable[[], None] = field(default=lambda: None)
    sheets: list[str] = field(default_factory=list)  # a workbook's visible worksheets, in order


# --------------------------------------------------------------------------- sniffing


def _head(path: Path, n: int = 8192) -> bytes:
    """The first ``n`` bytes; ReadError for a missing file, a directory, a device, a FIFO or a socket."""
    try:
        with preflight.open_regular(path) as fh:
            return fh.read(n)
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror}") from None


def _cfb_is_encrypted(path: Path) -> bool:
    """An encrypted .xlsx is an OLE compound file holding EncryptionInfo/EncryptedPackage streams."""
    needles = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
    with preflight.open_regular(path) as fh:
        data = fh.read(4 * 1024 * 1024)
    return any(n in data for n in needles)


def sniff(path: Path) -> str:
    """What the file really is: xlsx | ods | xls | encrypted | zip | damaged-zip | csv (text) | empty."""
    head = _head(path)
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
        raise ReadError(f"{path.name} is password-protected; save an unprotected copy and import that") from None
    except pc.CalamineError as exc:
        raise ReadError(f"{path.name} is not a readable {kind} workbook: {_first_line(exc)}") from None
    except BaseException as exc:
        raise _panic(exc, path) from None
    names = list(wb.sheet_names)
    try:
        if sheet is not None:
            if sheet not in names:
                raise ReadError(f"{path.name} has no sheet '{sheet}'; sheets: {', '.join(names)}")
            chosen = sheet
        else:
            chosen = _default_sheet(wb, names)
        ws = wb.get_sheet_by_name(chosen)
    except pc.PasswordError:
        raise ReadError(f"{path.name} is password-protected; save an unprotected copy and import that") from None
    except pc.CalamineError as exc:
        raise ReadError(f"{path.name}: cannot read sheet: {_first_line(exc)}") from None
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
        raise ReadError("the workbook has no sheets")
    return names[0]


def _panic(exc: BaseException, path: Path) -> BaseException:
    """A Rust panic inside calamine (pyo3's PanicException, a BaseException) as our one-line error;
    anything else (KeyboardInterrupt, our own errors) as it was."""
    if type(exc).__name__ != "PanicException":
        return exc
    return ReadError(f"{path.name} is not a readable workbook: the reader failed on it ({preflight.quote(_first_line(exc), 80)})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------- text files


def _valid(path: Path, encoding: str, skip: int = 0) -> bool:
    """Does the whole file decode strictly? Streamed, so a 350 MB CSV costs no memory."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with preflight.open_regular(path) as fh:
            fh.seek(skip)
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    decoder.decode(b"", final=True)
                    return True
                decoder.decode(chunk)
    except UnicodeDecodeError:
        return False


# Control characters no text file holds (tab, line breaks, VT, FF and a final Ctrl-Z may appear).
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f]")


def _utf16_without_bom(head: bytes, *, utf8_too: bool = False) -> str | None:
    """Excel's "Unicode text" always has a BOM; without one, guess only from a clear NUL pattern.

    In UTF-16 every ASCII character (commas, line breaks, digits) has a NUL byte on one side
    while a CJK character has none or, rarely (一 is U+4E00), one on the other side: a file of
    Chinese text has few NULs, but nearly all on one side. A UTF-8 file with stray NUL bytes
    has them on both, and binary data decodes to control characters. ``utf8_too``: the file is
    valid UTF-8 as well (UTF-16 Chinese never is, ASCII in UTF-16 always is); then it is taken
    for UTF-16 only if that reading has line breaks and delimiters, which UTF-8 text with
    NUL-terminated records read two bytes at a time does not.
    """
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    for enc, nuls, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls >= 0.05 * half and nuls >= 4 * others:
            text = codecs.getincrementaldecoder(enc)(errors="replace").decode(sample)
            if _CONTROL_RE.search(text):
                continue
            if not utf8_too or (("\n" in text or "\r" in text) and any(d in text for d in ",\t;")):
                return enc
    return None


def detect_encoding(path: Path) -> tuple[str, int]:
    """(codec, bytes of BOM to skip) for a text file, or ReadError when it is none we accept."""
    head = _head(path, 65536)
    if head.startswith(codecs.BOM_UTF8):
        if not _valid(path, "utf-8", 3):
            line = preflight.mixed_encoding(path, 3, any_line=True)
            where = f"line {line:,} is not" if line else "it is not"
            raise ReadError(f"{path.name} starts with a UTF-8 BOM but {where} valid UTF-8; save it again as CSV UTF-8")
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF32_LE) or head.startswith(codecs.BOM_UTF32_BE):
        raise ReadError(f"{path.name} is UTF-32 text; save it as CSV UTF-8")
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        enc = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        if not _valid(path, enc, 2):
            raise ReadError(f"{path.name} starts with a UTF-16 BOM but is not valid UTF-16; save it again as CSV UTF-8")
        return enc, 2
    utf8: bool | None = None  # is the whole file valid UTF-8? (streamed: read once at most)
    if b"\x00" in head:
        utf8 = _valid(path, "utf-8")
        enc16 = _utf16_without_bom(head, utf8_too=utf8)
        if enc16 and _valid(path, enc16):
            return enc16, 0
        nuls = head.count(0)
        if nuls > 64 and nuls * 100 > len(head):  # a stray NUL in a cell rejects that row; this many is no CSV
            raise ReadError(
                f"{path.name} is not text we can read: {nuls:,} of its first {len(head):,} bytes are NUL "
                "(a binary file, or UTF-16 without its byte-order mark?); save it as 'CSV UTF-8' or as .xlsx"
            )
    if utf8 if utf8 is not None else _valid(path, "utf-8"):
        return "utf-8", 0
    mixed = preflight.mixed_encoding(path)
    if mixed is not None:
        raise ReadError(
            f"{path.name} mixes encodings: line {mixed:,} is not UTF-8 while other lines are UTF-8 text; "
            "save it again as 'CSV UTF-8'"
        )
    if _valid(path, "gb18030"):
        return "gb18030", 0
    raise ReadError(
        f"{path.name} is not text in UTF-8, UTF-16 or GB18030/GBK (is it a spreadsheet or a binary file?); "
        "save it as 'CSV UTF-8' or as .xlsx"
    )


def _delimiter(first_line: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    tabs, commas, semis = first_line.count("\t"), first_line.count(","), first_line.count(";")
    if tabs > commas and tabs >= semis:
        return "\t"
    if semis > 0 and commas == 0:
        return ";"
    return ","


def _open_text(path: Path, checked: Callable[[], None] | None = None) -> Table:
    # lines and columns measured on the raw bytes first: nothing is decoded or parsed before
    scan = preflight.scan_text(path)
    if checked:
        checked()
    encoding, skip = detect_encoding(path)
    fh = preflight.open_regular(path)
    fh.seek(skip)
    text = io.TextIOWrapper(fh, encoding=encoding, errors="strict", newline="")
    utf16 = encoding.startswith("utf-16")
    # rows that may run over several lines (quoted line breaks, or lines UTF-16 hid from the byte
    # scan) go through the guard; other files' rows are their lines, measured already
    guard = preflight.RowGuard(text, path.name, measured=not utf16) if scan.quoted or utf16 else None
    lines: Iterator[str] = guard.lines() if guard else iter(text)
    first = next(lines, "")
    hint = first.strip().lower()
    if len(hint) == 5 and hint.startswith("sep="):
        # Excel's "sep=;" first line names the delimiter and is not data
        delimiter = first.strip()[4]
        rest: Iterator[str] = itertools.chain(["\n"], lines)  # an empty row keeps the row numbers
    else:
        rest = itertools.chain([first], lines)
        delimiter = _delimiter(first, path.suffix.lower())
    # In UTF-8 and GB18030 a NUL byte is a NUL character; in UTF-16 every ASCII letter has
    # one, so there each row is checked after decoding.
    has_nul = scan.has_nul or utf16
    # the csv module's limit is per process: set it to ours (a 1 MB cell is then rejected row by row)
    csv.field_size_limit(CSV_FIELD_LIMIT)

    def rows() -> Iterator[Row]:
        reader = csv.reader(rest, delimiter=delimiter)
        try:
            yield from (guard.rows(reader) if guard else reader)
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise ReadError(
                    f"{path.name}, line {reader.line_num:,}: a cell longer than {CSV_FIELD_LIMIT:,} characters "
                    "(the limit for one cell); is it really a CSV file?"
                ) from None
            raise ReadError(f"{path.name}, line {reader.line_num}: cannot read CSV ({preflight.quote(exc, 80)})") from None
        except UnicodeDecodeError as exc:  # validated above; only if the file changed meanwhile
            raise ReadError(f"{path.name} is not valid {encoding}: {exc.reason}") from None

    return Table(
        path=path, kind="csv", sheet=None, rows=rows(), encoding=encoding, delimiter=delimiter,
        has_nul=has_nul, from_csv=True, close=text.close,
    )  # fmt: skip


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
        head = _head(path, 64)
        if bundles.looks_like_json(path, head):
            return bundles.open_json(path, sheet, checked)
        what = file_kinds.what_else(head)
        if what is not None and suffix in WORKBOOK_SUFFIXES:
            raise ReadError(f"{path.name} is not an Excel workbook: it is {what}; {file_kinds.SUPPORTED}")
        if what is not None:
            raise ReadError(f"{path.name} is {what}, not a table; {file_kinds.SUPPORTED}")
    if kind == "empty":
        raise ReadError(f"{path.name} is empty (0 bytes)")
    if kind == "encrypted":
        raise ReadError(f"{path.name} is an encrypted (password-protected) workbook; save an unprotected copy and import that")
    if kind == "zip":
        raise ReadError(f"{path.name} is {file_kinds.what_zip(path)}, not an Excel (.xlsx) or OpenDocument (.ods) workbook; {file_kinds.SUPPORTED}")
    if kind == "xlsx":
        file_kinds.check_workbook_version(path)
    if kind == "damaged-zip":
        raise ReadError(f"{path.name} is damaged or incomplete (a truncated download or copy?): its zip directory cannot be read")
    if kind == "csv":
        if suffix in WORKBOOK_SUFFIXES:
            raise ReadError(
                f"{path.name} is not an Excel workbook: its content is not a {suffix} file "
                "(is it a CSV or text file with the wrong name?)"
            )
        if sheet is not None:
            raise ReadError(f"--sheet {sheet}: {path.name} is a CSV file and has no sheets")
        return _open_text(path, checked)
    return _open_workbook(path, kind, sheet, checked)


@dataclass
class Located:
    """A table with its header row found: the header, and the data rows after it."""

    table: Table
    header: columns.Header
    header_row_number: int  # 1-based row number of the header in the file
    data: Iterator[tuple[int, Row]]  # (1-based row number, cells)


def peek(table: Table, n: int = HEADER_SCAN) -> list[Row]:
    """The first ``n`` rows, left in ``table.rows`` to be read again (which table a file is for)."""
    head = list(itertools.islice(table.rows, n))
    table.rows = itertools.chain(head, table.rows)
    return head


def locate_header(table: Table, mapping: dict[str, str], known: dict[str, str] | None = None, *, no_header: bool = False) -> Located:
    """Find the header among the first rows: the row with the most known column names
    (``known``: another kind of row's header table, ``columns.build_table``).

    ``no_header`` (spec §12): the sheet has none; its columns are named by letter (A, B, ...,
    as Excel shows them) for ``--map A=name``, and every row is data.
    """
    head: list[Row] = []
    for row in table.rows:
        head.append(row)
        if len(head) >= HEADER_SCAN:
            break
    if not any(any(_nonblank(c) for c in row) for row in head):
        if head:
            raise ReadError(f"{table.path.name}: no data: the first {len(head)} rows are empty")
        raise ReadError(f"{table.path.name} has no rows" + (f" (sheet '{table.sheet}')" if table.sheet else ""))
    if no_header:
        width = max((i + 1 for row in head for i, c in enumerate(row) if _nonblank(c)), default=0)
        letters: list[object] = [columns.column_letter(i + table.col_offset) for i in range(width)]
        header = columns.match(letters, mapping, col_offset=table.col_offset, known=known)
        header.unknown = []  # a letter is no column name: the columns not mapped are reported as headerless
        for col in header.columns:
            if col.field is None:
                col.header = f"column {col.header}"
        return Located(table=table, header=header, header_row_number=0, data=zip(itertools.count(1), itertools.chain(head, table.rows)))
    best, best_score = -1, 0
    for i, row in enumerate(head):
        s = columns.score(row, mapping, known)
        if s > best_score:
            best, best_score = i, s
    nonblank_cols = max((sum(1 for c in row if _nonblank(c)) for row in head), default=0)
    if best < 0 or (best_score < 2 and nonblank_cols > 1):
        raise ReadError(
            f"{table.path.name}: no header row found in the first {len(head)} rows; expected column names such as "
            f"客户名称, 联系电话 (or Customer_Name, Phone). {_first_row(head, table.col_offset)}"
        )
    header = columns.match(head[best], mapping, col_offset=table.col_offset, known=known)
    header.row_index = best
    rest = head[best + 1 :]

    # (row number, cells), numbered in C: no Python frame per row on a 100k-row sheet
    data = zip(itertools.count(best + 2), itertools.chain(rest, table.rows))
    return Located(table=table, header=header, header_row_number=best + 1, data=data)


def _first_row(head: list[Row], col_offset: int) -> str:
    """The first row's cells by column letter, and the --map that would name them (spec §12)."""
    row = next(r for r in head if any(_nonblank(c) for c in r))
    cells = [(columns.column_letter(i + col_offset), _shown_cell(c)) for i, c in enumerate(row) if _nonblank(c)]
    shown = ", ".join(f"{letter}={text!r}" for letter, text in cells[:12]) + (", ..." if len(cells) > 12 else "")
    a = cells[0][0]
    b = cells[1][0] if len(cells) > 1 else "B"
    return (
        f"Its first row: {shown}. If that row is a header, name its columns with --map 'HEADER=field'; if the sheet has "
        f"no header row, name the columns by letter: --no-header --map {a}=name --map {b}=phone"
    )


def _shown_cell(cell: Cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = " ".join(str(cell).split())
    return text if len(text) <= 24 else text[:24] + "..."


def _nonblank(cell: Cell) -> bool:
    if cell is None:
        return False
    if isinstance(cell, str):
        return bool(cell.strip())
    return True


def formula_cells(path: Path, sheet: str | None) -> set[tuple[int, int]] | None:
    """(row, column) 0-based of formula cells with no cached value in an .xlsx sheet, or None.

    Used only to explain a rejected row ("a formula with no saved value"): calamine reads such a
    cell as empty and never evaluates it. Skipped for sheets over 50 MB of XML.
    """
    import re

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
    import re

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
