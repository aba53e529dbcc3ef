"""The limits on what calamine may allocate for a sheet, and the pieces every reader of them shares.

Calamine builds a sheet as one rectangle spanning its non-empty cells, 32 bytes a cell (56 for
.ods, with formulas), however few cells there are. ``judge`` refuses a rectangle past
``MAX_AREA`` cells (24 Mi: Excel's 1,048,576 rows x 24 columns, 768 MiB) -- real sheets of 100k
rows x 30 columns (3 M) and 1M rows x 20 columns (21 M) fit, 2,000 rows reaching XFD (32.8 M) do
not -- or past ``SPARSE_AREA`` (4 Mi, 128 MiB) with fewer than one cell in ``SPARSE_RATIO`` (16)
holding a value. The rest reads attributes and cell references exactly as calamine does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.io.preflight import ReadError, quote

MAX_AREA = 24 * 1024 * 1024  # cells calamine may allocate for one sheet (32 bytes each)
SPARSE_AREA = 4 * 1024 * 1024  # a rectangle past this ...
SPARSE_RATIO = 16  # ... must have at least one cell in 16 holding a value
GRID_ROWS, GRID_COLS = 1_048_576, 16_384  # Excel's grid, A1:XFD1048576
MIN_CELL_BYTES = 20  # the shortest cell with a value: <c r="A1"><v>1</v></c>


def col_name(col: int) -> str:
    name = ""
    col += 1
    while col > 0:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return name


def cell_name(row: int, col: int) -> str:
    return f"{col_name(col)}{row + 1}"


@dataclass
class Box:
    """The rectangle spanned by cells (0-based, inclusive) and how many of them hold a value."""

    r0: int = 1 << 40
    r1: int = -1
    c0: int = 1 << 40
    c1: int = -1
    cells: int = 0

    def add(self, row: int, col: int, n: int = 1) -> None:
        self.r0, self.r1 = min(self.r0, row), max(self.r1, row)
        self.c0, self.c1 = min(self.c0, col), max(self.c1, col)
        self.cells += n

    def area(self) -> int:
        return 0 if self.r1 < 0 else (self.r1 - self.r0 + 1) * (self.c1 - self.c0 + 1)

    def span(self) -> str:
        return f"{cell_name(self.r0, self.c0)}:{cell_name(self.r1, self.c1)}"


def judge(book: str, where: str, box: Box, cell_bytes: int = 32) -> None:
    """Refuse a sheet whose rectangle is past MAX_AREA, or past SPARSE_AREA and mostly empty."""
    area = box.area()
    need = _("reading it would take {value:,.1f} GiB").format(value=area * cell_bytes / (1 << 30))
    if area > MAX_AREA:
        raise ReadError(N_("{book}, {where}: its cells span {value}, {area:,} cells, past the limit of {max_area:,} (1,048,576 rows x 24 columns); {need}"), book=book, where=where, value=box.span(), area=area, max_area=MAX_AREA, need=need)
    if area > SPARSE_AREA and box.cells * SPARSE_RATIO < area:
        raise ReadError(N_("{book}, {where}: its {cells:,} cells with a value are strewn over {value} ({area:,} cells, fewer than 1 in {sparse_ratio} filled); {need}"), book=book, where=where, cells=box.cells, value=box.span(), area=area, sparse_ratio=SPARSE_RATIO, need=need)


def outside_grid(book: str, where: str, ref: bytes | str) -> ReadError:
    text = ref.decode("ascii", "replace") if isinstance(ref, bytes) else ref
    return ReadError(N_("{book}, {where}: cell {text} lies outside Excel's grid (A1:XFD1048576)"), book=book, where=where, text=quote(text))


REF = re.compile(rb"([A-Za-z]+)([0-9]+)\"")


def parse_ref(letters: bytes, digits: bytes) -> tuple[int, int] | None:
    """calamine's get_row_column: (row, col) 0-based with u32 arithmetic; None when it errs."""
    col = 0
    for ch in letters.upper():
        col = (col * 26 + ch - 64) & 0xFFFFFFFF
    row = 0
    for d in digits:
        row = (row * 10 + d - 48) & 0xFFFFFFFF
    if row == 0 or col == 0:
        return None
    return row - 1, col - 1


ASCII_WS = b" \t\n\x0c\r"


def raw_attrs(raw: bytes) -> Iterator[tuple[bytes, bytes] | None]:
    """calamine's RawAttrIter: (key, value) pairs, None for the error that ends the iteration."""
    pos, n = 0, len(raw)
    while True:
        while pos < n and raw[pos] in ASCII_WS:
            pos += 1
        if pos >= n:
            return
        eq = raw.find(b"=", pos)
        if eq < 0:
            yield None
            return
        key = raw[pos:eq].rstrip(ASCII_WS)
        pos = eq + 1
        while pos < n and raw[pos] in ASCII_WS:
            pos += 1
        if pos >= n or raw[pos] not in b"\"'":
            yield None
            return
        end = raw.find(raw[pos : pos + 1], pos + 1)
        value = raw[pos + 1 :] if end < 0 else raw[pos + 1 : end]
        pos = n if end < 0 else end + 1
        yield key, value


def cell_r(attrs: bytes, harmless: bool = False) -> bytes | None:
    """The r calamine reads from a cell's attributes: get_attrs!(r, s, t) keeps the last r seen
    before all three are found. A malformed attribute is calamine's error (``Harmless`` when
    asked; otherwise the r so far, to be measured all the same)."""
    ref, found = None, 0
    for item in raw_attrs(attrs):
        if item is None:
            if harmless:
                raise Harmless
            break
        if item[0] in (b"r", b"s", b"t"):
            ref = item[1] if item[0] == b"r" else ref
            found += 1
            if found == 3:
                break
    return ref


def split_ref(value: bytes) -> tuple[bytes, bytes] | None:
    """The letters and digits of a reference as calamine accepts it (any other byte is an error)."""
    m = re.fullmatch(rb"([A-Za-z]*)([0-9]*)", value)
    return (m[1], m[2]) if m else None


class Harmless(Exception):
    """calamine stops reading this part with an error: it allocates nothing for it."""


def with_end(chunks: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None
