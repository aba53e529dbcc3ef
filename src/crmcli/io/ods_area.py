"""What python-calamine would allocate for an .ods workbook, found before it opens it.

Calamine reads every table of content.xml when it opens the file. A cell can say it repeats
(``table:number-columns-repeated``, up to 16,384 columns) and a row too
(``table:number-rows-repeated``, up to 1,048,576 rows): calamine copies them out, each cell 56
bytes (its value and its formula) plus its text. A 1.6 KB file of 2,000 rows each repeating one
cell 16,384 times took 2.8 GB; one ``<text:s text:c="2000000000"/>`` (that many spaces) 3.8 GB.
So content.xml is walked here as calamine's read_table, read_row and get_range do, and a table
is refused past the limits of ``sheet_area`` (cells before and after rows repeat, the rectangle,
the bytes of XML behind it), when it copies more text than ``ODS_MAX_TEXT`` out of a much smaller
part, or when one cell holds more than MAX_CELL_CHARS spaces.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from crmcli.i18n import N_
from crmcli.io.cell_area import (
    GRID_COLS,
    GRID_ROWS,
    MAX_AREA,
    MIN_CELL_BYTES,
    SPARSE_AREA,
    SPARSE_RATIO,
    Box,
    Harmless,
    judge,
    raw_attrs,
    with_end,
)
from crmcli.io.preflight import MAX_CELL_CHARS, ReadError
from crmcli.io.xml_cells import BODY, CARRY_MAX, INCOMPLETE
from crmcli.io.zip_parts import part_chunks, utf16_as_utf8

_ODS_NAMES = rb"(?:table:table|table:table-row|table:table-cell|table:covered-table-cell|text:s)"
_ODS_SKIP = (
    rb"(?:[^<]++|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|</(?!" + _ODS_NAMES + rb"[ \t\r\n]*>)[^>]*>"
    rb"|<(?![!?/])(?!" + _ODS_NAMES + rb"(?:[ \t\r\n>]|/>))" + BODY + rb">)*+"
)
_ODS_TOKEN = re.compile(_ODS_SKIP + rb"(?:<(/?)(" + _ODS_NAMES + rb")(?=[ \t\r\n/>])(" + BODY + rb")>|(<))", re.S)
_ODS_SKIP_ONLY = re.compile(_ODS_SKIP, re.S)
ODS_MAX_TEXT = 256 * 1024 * 1024  # text calamine would copy into repeated cells, past the file's own size


class _OdsTable:
    """One table:table as calamine's read_table and get_range expand it."""

    def __init__(self) -> None:
        self.rows = 0  # rows read, repeats included (calamine caps them at 1,048,576)
        self.materialized = 0  # cells pushed while reading rows (before rows are repeated)
        self.first_row: int | None = None  # repeat-counted row where the first non-empty row begins
        self.last_row = 0  # ... and where the last one ends
        self.c0, self.c1 = 1 << 40, -1
        self.text = 0  # text copied into the expanded cells
        self.values = 0  # cells with a value, repeats included


def _int_attr(attrs: bytes, key: bytes, default: int) -> int:
    """A count attribute as calamine parses it (Rust's usize: digits, an optional '+')."""
    for item in raw_attrs(attrs):
        if item is None:
            raise Harmless
        if item[0] == key:
            digits = item[1][1:] if item[1].startswith(b"+") else item[1]
            if not digits.isdigit() or len(digits) > 19:
                raise Harmless
            return int(digits)
    return default


class _Ods:
    """content.xml as calamine's read_table / read_row / get_range expand it."""

    def __init__(self, book: str, size: int) -> None:
        self.book, self.size = book, size
        self.table: _OdsTable | None = None
        self.tables = 0
        self.done: list[_OdsTable] = []  # the tables read, as calamine expands them
        # the open row: repeats, cells pushed, first and last cell with a value, text, empty cells waiting
        self.row: list[int] | None = None
        self.first: int | None = None
        # the open cell: start offset, repeats, spaces (text:s), is text, has a value
        self.cell: tuple[int, int, int, bool, bool] | None = None
        self.offset = 0

    def run(self, chunks: Iterator[bytes]) -> None:
        carry = b""
        try:
            for chunk in with_end(chunks):
                final = chunk is None
                buf = carry + (chunk or b"")
                pos = 0
                while m := _ODS_TOKEN.match(buf, pos):
                    if m[4] is not None:
                        if not final and INCOMPLETE.match(buf, m.start(4)):
                            pos = m.start(4)
                            break
                        if buf[m.start(4) : m.start(4) + 3].upper() == b"<!D":  # quick-xml reads on past it
                            raise ReadError(N_("{book}, part content.xml: a DOCTYPE inside the document; refusing it"), book=self.book)
                        return  # not XML: calamine stops with an error, having allocated nothing
                    pos = m.end()
                    self.token(m[1], m[2], m[3], self.offset + m.start(), self.offset + m.end())
                skipped = _ODS_SKIP_ONLY.match(buf, pos) if pos < len(buf) else None
                skip = skipped.end() if skipped is not None else len(buf)
                carry = buf[skip:]
                self.offset += skip
                if len(carry) > CARRY_MAX:
                    raise ReadError(N_("{book}, part content.xml: one XML tag or comment longer than 64 MiB"), book=self.book)
            self.finish_table()
        except Harmless:
            return

    def token(self, end: bytes, name: bytes, body: bytes, start: int, stop: int) -> None:
        closed = body.endswith(b"/")
        attrs = body[:-1] if closed else body
        if name == b"table:table":
            self.finish_table()
            if not end and b"table:name" in attrs:
                self.table = _OdsTable()
                self.tables += 1
                if closed:
                    self.finish_table()
        elif self.table is None:
            return
        elif name == b"table:table-row":
            self.finish_row()
            if not end:
                self.row = [_int_attr(attrs, b"table:number-rows-repeated", 1), 0, -1, -1, 0, 0]
                self.first = None
                if closed:
                    self.finish_row()
        elif name == b"text:s":
            if self.cell is not None and not end:
                s, r, spaces, t, v = self.cell
                spaces += _int_attr(attrs, b"text:c", 1)
                if spaces > MAX_CELL_CHARS:
                    raise ReadError(N_("{book}, part content.xml: a cell of more than {max_cell_chars:,} spaces (text:s)"), book=self.book, max_cell_chars=MAX_CELL_CHARS)
                self.cell = (s, r, spaces, t, v)
        elif self.row is not None:  # table:table-cell or table:covered-table-cell
            if end:
                self.finish_cell(stop)
            else:
                self.finish_cell(start)
                value = b"office:" in attrs or b"table:formula" in attrs
                text = b'value-type="string"' in attrs or b"value-type='string'" in attrs
                self.cell = (start, _int_attr(attrs, b"table:number-columns-repeated", 1), 0, text, value)
                if closed:
                    self.finish_cell(stop)

    def finish_cell(self, stop: int) -> None:
        if self.cell is None or self.row is None:
            return
        start, repeats, spaces, is_text, value = self.cell
        self.cell = None
        row = self.row  # repeats, width, first, last, text, waiting
        # read_row: empty cells wait, and are pushed when another cell follows; 16,384 at most
        row[1] += min(row[5], GRID_COLS - row[1])
        n = min(repeats, GRID_COLS - row[1])
        if value:
            if n > 0:
                self.first = row[1] if self.first is None else self.first
                row[3] = row[1] + n - 1
                row[4] += ((stop - start if is_text else 0) + spaces) * n
            row[1] += n
            row[5] = 0
        else:
            row[5] = n

    def finish_row(self) -> None:
        if self.cell is not None:
            self.finish_cell(self.offset)
        row, self.row = self.row, None
        t = self.table
        if row is None or t is None:
            return
        reps, width, _, last, text, _ = row
        reps = min(reps, GRID_ROWS - t.rows)
        t.materialized += width
        if self.first is not None:
            if t.first_row is None:
                t.first_row = t.rows
            t.last_row = t.rows + reps
            t.c0, t.c1 = min(t.c0, self.first), max(t.c1, last)
            t.text += text * reps
            t.values += (last - self.first + 1) * reps
        t.rows += reps

    def finish_table(self) -> None:
        self.finish_row()
        t, self.table = self.table, None
        if t is None:
            return
        self.done.append(t)
        where = f"part content.xml, table {self.tables}"
        if t.materialized > MAX_AREA:
            raise ReadError(N_("{book}, {where}: {materialized:,} cells before its rows are repeated, past the limit of {max_area:,}"), book=self.book, where=where, materialized=t.materialized, max_area=MAX_AREA)
        if t.first_row is None:
            return
        box = Box(t.first_row, t.last_row - 1, t.c0, t.c1, t.values)
        judge(self.book, where, box, cell_bytes=56)
        area = box.area()
        if area > SPARSE_AREA and self.size < area // SPARSE_RATIO * MIN_CELL_BYTES:
            raise ReadError(N_("{book}, {where}: {size:,} bytes of XML repeat into {value} ({area:,} cells); reading it would take {value2:,.1f} GiB"), book=self.book, where=where, size=self.size, value=box.span(), area=area, value2=area * 56 / (1 << 30))
        if t.text > ODS_MAX_TEXT and t.text > 2 * self.size:
            raise ReadError(N_("{book}, {where}: its repeated cells copy {value:,.0f} MB of text from a {value2:,.1f} MB part; refusing it"), book=self.book, where=where, value=t.text / 1e6, value2=self.size / 1e6)


def check_ods(path: Path, zf: zipfile.ZipFile) -> None:
    """Every table of content.xml (calamine reads them all when it opens the file)."""
    for info in zf.infolist():
        if info.filename == "content.xml":
            _Ods(path.name, info.file_size).run(utf16_as_utf8(part_chunks(path, zf, info)))
