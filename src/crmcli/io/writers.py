"""Writing export files: atomic replacement, CSV and xlsx sheets, formula neutralisation.

Nothing here knows about customers: the exporter hands over column descriptions
and rows of plain values (str, int, float, None; dates as ``datetime.date`` or
as Excel serial numbers).

* Where the bytes go is the caller's business: files are written through
  ``crmcli.safe_files`` (temporary file, 0600, fsync, rename).
* No exported cell can run as a formula (OWASP "CSV injection"): in CSV a text
  value starting with ``= + - @``, tab or CR gets a leading ``'`` (the
  importer strips it again); in xlsx every string is written as a string cell,
  and the one openpyxl would turn into a formula (a leading ``=``) is forced back
  to text.
* xlsx goes through openpyxl's write-only mode (rows streamed to disk, flat
  memory). Column widths must be known before the first row, so the caller
  passes them (the exporter measures them with one SQL aggregate).
"""

from __future__ import annotations

import csv
import datetime as dt
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crmcli.errors import CrmError
from crmcli.i18n import N_

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# A value starting with one of these can be read as a formula by a spreadsheet (OWASP's
# list, and spec §9's: the importer strips the ' again before exactly these).
FORMULA_PREFIXES = frozenset("=+-@\t\r")
EXCEL_MAX_ROWS = 1_048_576  # rows per sheet, the header included
EXCEL_MAX_WIDTH = 255.0  # Excel's widest column
EXCEL_MAX_CELL = 32_767  # characters in one cell: openpyxl would cut the rest without a word
# Characters XML 1.0 cannot hold (openpyxl refuses them).
_ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A string openpyxl would not store as a plain string: a leading '=' (a formula), one of
# Excel's error literals (an error cell), or a character XML cannot hold.
_NOT_PLAIN_RE = re.compile(r"^=|^#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A)$|[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel counts days from 1899-12-30 (its 1900 leap-year bug shifts Jan-Feb 1900 by one).
_EXCEL_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"


def neutralize(value: str) -> str:
    """``value`` made safe for a CSV cell: a leading ``'`` when it could start a formula."""
    # Also "'=..." and "''-...": import strips one "'" from quotes followed by a prefix.
    if value and value.lstrip("'")[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


def clean_text(value: str) -> str:
    """``value`` without the control characters an XML cell cannot hold (openpyxl refuses them)."""
    return _ILLEGAL_XML_RE.sub("", value) if _ILLEGAL_XML_RE.search(value) else value


def display_width(text: str) -> float:
    """Columns ``text`` takes in a spreadsheet: East Asian (3-byte UTF-8) characters count double.

    The longest line counts for text with line breaks.
    """
    if "\n" in text:
        return max(display_width(line) for line in text.split("\n"))
    n = len(text)
    return n + (len(text.encode("utf-8")) - n) / 2


def excel_serial(day: dt.date) -> int:
    """The Excel (1900 system) serial number of a calendar date."""
    serial = day.toordinal() - _EXCEL_EPOCH_ORDINAL
    return serial - 1 if serial < 61 else serial


# --------------------------------------------------------------------------- csv


def write_csv(
    fh: IO[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    text_columns: Sequence[int] | None = None,
    lineterminator: str = "\r\n",
) -> int:
    """Write a header and rows to a text stream; return the number of data rows.

    Strings are neutralised (see ``neutralize``); None is an empty cell; numbers
    are written as Python prints them. ``text_columns``: the only columns that can
    hold free text (a cheaper check per row); default all.
    """
    writer = csv.writer(fh, lineterminator=lineterminator)
    writer.writerow(header)
    count = 0
    prefixes = FORMULA_PREFIXES
    pick: Callable[[Sequence[Any]], Sequence[Any]]
    if text_columns is None:
        pick = tuple
    elif len(text_columns) == 1:
        only = text_columns[0]

        def pick(row: Sequence[Any]) -> Sequence[Any]:
            return (row[only],)
    else:
        pick = operator.itemgetter(*text_columns)

    def safe(row: Sequence[Any]) -> Sequence[Any]:
        nonlocal count
        count += 1
        for v in pick(row):
            if v and v.__class__ is str and (v[0] in prefixes or (v[0] == "'" and v.lstrip("'")[:1] in prefixes)):
                return [(neutralize(x) if x.__class__ is str else x) for x in row]
        return row

    safe_rows: Iterable[Sequence[Any]] = map(safe, rows)
    if "\r" not in lineterminator:
        # csv quotes a field only for the characters of *its* line terminator: with "\n", a CR
        # inside a cell would go out unquoted and a reader would start a new row there -- one
        # that may begin with "=". Such a CR becomes a LF, which is quoted.
        safe_rows = (
            [x.replace("\r\n", "\n").replace("\r", "\n") if x.__class__ is str and "\r" in x else x for x in row]
            for row in safe_rows
        )
    writer.writerows(safe_rows)
    return count


# --------------------------------------------------------------------------- xlsx


@dataclass
class Column:
    """One column of a sheet.

    ``kind``: ``text`` (a string cell), ``code`` (a string cell formatted as Text, so
    that what is typed into it later stays text: codes and phones), ``date`` (a real
    date cell; the value is a ``date`` or an Excel serial number), ``number``.
    ``choices`` adds a drop-down list (data validation) to the column.
    """

    header: str
    kind: str = "text"
    width: float = 10.0
    choices: Sequence[str] = ()
    required: bool = False


@dataclass
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]] = ()
    # Rows styled grey and italic after the header (the template's example row).
    example_rows: Sequence[Sequence[Any]] = ()
    note: str | None = None  # the drop-downs' prompt text
    freeze: bool = True
    autofilter: bool = True
    on_row: Callable[[int], None] | None = field(default=None, repr=False)  # called with each row number


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _choices_formula(choices: Sequence[str]) -> str:
    # A literal list: Excel caps it at 255 characters, far above our vocabularies.
    return '"' + ",".join(c.replace('"', '""') for c in choices) + '"'


def _prepare_sheet(ws: WriteOnlyWorksheet, sheet: Sheet) -> None:
    for i, col in enumerate(sheet.columns, 1):
        width = min(max(col.width, display_width(col.header) + 3), EXCEL_MAX_WIDTH)
        ws.column_dimensions[_column_letter(i)].width = round(width, 1)
    if sheet.freeze:
        ws.freeze_panes = "A2"


def _add_validations(ws: WriteOnlyWorksheet, sheet: Sheet, last_row: int) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    end = EXCEL_MAX_ROWS
    for i, col in enumerate(sheet.columns, 1):
        if not col.choices:
            continue
        dv = DataValidation(
            type="list",
            formula1=_choices_formula(col.choices),
            allow_blank=True,
            showDropDown=False,  # (sic) False shows the in-cell arrow
            showErrorMessage=True,
            errorStyle="warning",  # other accepted spellings (aliases) can still be typed
            errorTitle=col.header,
            error=" / ".join(col.choices),
            showInputMessage=bool(sheet.note),
            promptTitle=col.header if sheet.note else None,
            prompt=sheet.note,
        )
        letter = _column_letter(i)
        dv.add(f"{letter}2:{letter}{end}")
        ws.data_validations.append(dv)
    if sheet.autofilter:
        ws.auto_filter.ref = f"A1:{_column_letter(len(sheet.columns))}{max(last_row, 1)}"


class CellTooLong(Exception):
    """A value longer than an Excel cell holds (the caller names the row and column)."""

    def __init__(self, column: int, length: int) -> None:
        super().__init__(column, length)
        self.column, self.length = column, length


def too_long_error(sheet: str, row: int, column: str, length: int) -> CrmError:
    return CrmError(N_("sheet '{sheet}', row {row:,}, column {column}: {length:,} characters, more than an Excel cell holds ({excel_max_cell:,}); nothing was written (export to .csv or .json, which keep it whole)"), sheet=sheet, row=row, column=column, length=length, excel_max_cell=EXCEL_MAX_CELL)


class _RowMaker:
    """Turns a row of plain values into what ``append`` takes, cheaply.

    openpyxl's write-only ``append`` costs ~15 us per cell; a styled cell costs more
    because each one is a new ``WriteOnlyCell``. Styled cells (dates, Text-formatted
    codes and phones) are therefore one reusable ``WriteOnlyCell`` per column whose
    value is reset for each row: ``append`` serialises the row before returning.
    """

    def __init__(self, ws: WriteOnlyWorksheet, columns: Sequence[Column]) -> None:
        from openpyxl.cell import WriteOnlyCell

        self.ws = ws
        self.WriteOnlyCell = WriteOnlyCell
        self.date_cells: list[tuple[int, Any]] = []
        self.code_cells: list[tuple[int, Any]] = []
        for i, col in enumerate(columns):
            if col.kind == "date":
                cell = WriteOnlyCell(ws)
                cell.number_format = DATE_FORMAT
                self.date_cells.append((i, cell))
            elif col.kind == "code":
                cell = WriteOnlyCell(ws)
                cell.number_format = TEXT_FORMAT
                self.code_cells.append((i, cell))
        self.styled = {i for i, _ in (*self.date_cells, *self.code_cells)}

    def text_cell(self, value: str, number_format: str | None = None) -> Any:
        """A string cell that stays a string, whatever it starts with."""
        cell = self.WriteOnlyCell(self.ws)
        cell.value = _ILLEGAL_XML_RE.sub("", value)
        cell.data_type = "s"  # after the assignment: a leading '=' made it a formula
        if number_format:
            cell.number_format = number_format
        return cell

    def __call__(self, values: Sequence[Any]) -> list[Any]:
        row = list(values)
        search = _NOT_PLAIN_RE.search
        for i, v in enumerate(row):
            if v.__class__ is str:
                if len(v) > EXCEL_MAX_CELL:
                    raise CellTooLong(i, len(v))
                # Only '=' turns a string into an openpyxl formula; + - @ stay strings anyway.
                if i not in self.styled and search(v):
                    row[i] = self.text_cell(v)
        for i, cell in self.code_cells:
            v = row[i]
            if v is None or v == "":
                row[i] = None
            elif v.__class__ is str and search(v):
                row[i] = self.text_cell(v, TEXT_FORMAT)
            else:
                cell.value = v if v.__class__ is str else str(v)
                row[i] = cell
        for i, cell in self.date_cells:
            v = row[i]
            if v is None or v == "":
                row[i] = None
                continue
            if v.__class__ is str:  # ISO text, as SQLite stores dates
                try:
                    v = dt.date.fromisoformat(v)
                except ValueError:  # not a date after all: keep the text
                    row[i] = self.text_cell(v)
                    continue
            cell.value = excel_serial(v) if isinstance(v, dt.date) else v
            row[i] = cell
        return row


def _fast_values_to_row(ws: Any) -> Callable[[Sequence[Any], int], Iterator[Any]]:
    """A leaner ``WriteOnlyWorksheet._values_to_row`` for the rows ``_RowMaker`` makes.

    openpyxl's own version finds out that a value is a ready-made cell by letting the
    assignment fail (a ValueError whose message formats the cell's repr), then allocates
    a fresh cell after every styled one: ~8 us per date or Text cell, a third of the
    time of a 100k-customer export. Here a ready-made cell is recognised by its class;
    plain str/int/float values share one cell as in openpyxl; anything else gets its own
    cell, exactly as openpyxl would build it. If openpyxl renames the method, the
    attribute set below is simply never called and openpyxl's own path runs.
    """
    from openpyxl.cell.cell import Cell

    def values_to_row(values: Sequence[Any], row_idx: int) -> Iterator[Any]:
        plain = Cell(ws, row=row_idx, column=1)
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            cls = value.__class__
            if cls is str or cls is int or cls is float:
                plain.value = value
                plain.column = col_idx
                yield plain
            elif cls is Cell:
                value.column = col_idx
                value.row = row_idx
                yield value
            else:
                yield Cell(ws, row=row_idx, column=col_idx, value=value)

    return values_to_row


def write_xlsx(fh: IO[bytes], sheets: Sequence[Sheet], *, keywords: str | None = None) -> list[int]:
    """Write a workbook of ``sheets`` to ``fh``; return the number of data rows of each.

    ``keywords`` go into the workbook's properties (an export says its format version there).

    Each sheet has a bold header row, frozen, with an auto-filter; column widths
    as given; drop-downs on columns with choices. More rows than Excel's limit is a
    CrmError (checked as rows are written; callers should count first).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    if keywords is not None:
        wb.properties.keywords = keywords
    counts: list[int] = []
    try:
        for sheet in sheets:
            ws = wb.create_sheet(sheet.title)
            _prepare_sheet(ws, sheet)
            bold = Font(bold=True)
            header = []
            for col in sheet.columns:
                cell = WriteOnlyCell(ws, value=col.header + ("*" if col.required else ""))
                cell.data_type = "s"
                cell.font = bold
                header.append(cell)
            ws.append(header)
            ws._values_to_row = _fast_values_to_row(ws)  # type: ignore[union-attr]
            make = _RowMaker(ws, sheet.columns)
            n = 0
            if sheet.example_rows:
                grey = Font(italic=True, color="808080")
                for values in sheet.example_rows:
                    row = []
                    for col, v in zip(sheet.columns, values, strict=True):
                        cell = WriteOnlyCell(ws, value=v)
                        if col.kind == "date" and isinstance(v, dt.date):
                            cell.number_format = DATE_FORMAT
                        elif col.kind == "code":
                            cell.number_format = TEXT_FORMAT
                        if isinstance(v, str):
                            cell.data_type = "s"
                        cell.font = grey
                        row.append(cell)
                    ws.append(row)
                    n += 1
            limit = EXCEL_MAX_ROWS - 1
            on_row = sheet.on_row
            append = ws.append
            for values in sheet.rows:
                n += 1
                if n > limit:
                    raise CrmError(N_("sheet '{title}' has more than {limit:,} rows, Excel's limit; export to csv instead (crm export FILE.csv)"), title=sheet.title, limit=limit)
                try:
                    append(make(values))
                except CellTooLong as exc:
                    raise too_long_error(sheet.title, n + 1, sheet.columns[exc.column].header, exc.length) from None
                if on_row is not None:
                    on_row(n)
            _add_validations(ws, sheet, n + 1)
            counts.append(n)
        from crmcli import safe_files

        wb.save(safe_files.ForZip(fh))
    finally:
        _cleanup(wb)
    return counts


def _cleanup(wb: Any) -> None:
    """Remove openpyxl's per-sheet temporary files now (it would at exit) when a save failed."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        out = getattr(writer, "out", None)
        if isinstance(out, str) and os.path.exists(out):
            rows = getattr(ws, "_rows", None)
            try:
                if rows is not None:
                    rows.close()  # ends the row generator while its file is still open
            except Exception:  # noqa: BLE001 - best effort on an error path
                pass
            try:
                writer.close()  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - best effort on an error path
                pass
            try:
                writer.cleanup()  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001
                Path(out).unlink(missing_ok=True)
