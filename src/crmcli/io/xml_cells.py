"""Cell positions in a worksheet part read exactly as calamine's XlsxCellReader (quick-xml) finds them.

Used when the fast check of ``sheet_area`` cannot vouch for a part: cells or rows without
``r`` (placed by counting), cells written another way, cells in no order. Tags are read as
quick-xml reads them -- a tag ends at the first '>' outside quotes, names are matched by their
local part, comments, CDATA and processing instructions hold no cells -- and empty cells are
skipped as calamine skips them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from crmcli.i18n import N_
from crmcli.io.cell_area import (
    GRID_COLS,
    GRID_ROWS,
    Box,
    Harmless,
    cell_name,
    cell_r,
    outside_grid,
    parse_ref,
    raw_attrs,
    split_ref,
    with_end,
)
from crmcli.io.preflight import ReadError

CARRY_MAX = 64 * 1024 * 1024  # one XML construct longer than this is not a spreadsheet's

_RELEVANT = rb"(?:[^ \t\r\n>:]*:)?(?:c|row|sheetData)"
BODY = rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*"
# Text, comments, CDATA, processing instructions and every tag but those of sheetData, rows
# and cells (by local name, as calamine matches them), consumed in C; a tag ends at the first
# '>' outside quotes, as quick-xml reads it.
_SKIP = (
    rb"(?:[^<]++|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|</(?!" + _RELEVANT + rb"[ \t\r\n]*>)[^>]*>"
    rb"|<(?![!?/])(?!" + _RELEVANT + rb"(?:[ \t\r\n>]|/>))" + BODY + rb">)*+"
)
_TOKEN = re.compile(
    _SKIP
    + rb"(?:<(/?)("
    + _RELEVANT
    + rb")(?=[ \t\r\n/>])("
    + BODY
    + rb")>(?=([^<]*</(?:[^ \t\r\n>:]*:)?c[ \t\r\n]*>))?|(<))",
    re.S,
)
_SKIP_ONLY = re.compile(_SKIP, re.S)
INCOMPLETE = re.compile(
    rb"<(?:!--(?:(?!-->).)*|!\[CDATA\[(?:(?!\]\]>).)*|\?(?:(?!\?>).)*|![^>]*|/[^>]*|"
    + BODY
    + rb"(?:\"[^\"]*|'[^']*)?)\Z",
    re.S,
)
_SIMPLE_CELL = re.compile(rb" r=\"([A-Za-z]+)([0-9]+)\"(?: [st]=\"[^\"]*\")*\Z")


class Exact:
    """Cell positions as calamine's XlsxCellReader finds them (rows and cells without ``r``
    are placed by counting), for cells that hold a value."""

    def __init__(self, book: str, where: str) -> None:
        self.book, self.where = book, where
        self.row = self.col = 0
        self.in_sheet = False
        self.box = Box()

    def run(self, chunks: Iterator[bytes]) -> Box | None:
        """The non-empty cells' rectangle; None when calamine would stop with an error first.

        Until sheetData begins nothing counts (calamine skips to it), so markup this does not
        know is stepped over: a part that is no XML at all (an image, vbaProject.bin) has no
        cells. Inside sheetData, markup no workbook has is refused.
        """
        carry = b""
        try:
            for chunk in with_end(chunks):
                final = chunk is None
                buf = carry + (chunk or b"")
                pos = 0
                while m := _TOKEN.match(buf, pos):
                    if m[5] is not None:  # a '<' that starts nothing known: cut by the chunk, or not XML
                        at = m.start(5)
                        if not final and INCOMPLETE.match(buf, at):
                            pos = at
                            break
                        if self.in_sheet:
                            what = "a DOCTYPE" if buf[at : at + 3].upper() == b"<!D" else "markup that is not XML"
                            raise ReadError(N_("{book}, {where}: {what} inside its cells; refusing it"), book=self.book, where=self.where, what=what)
                        pos = at + 1
                        continue
                    pos = m.end()
                    if self.token(m[1], m[2], m[3], m[4] is not None):
                        return self.box
                skipped = _SKIP_ONLY.match(buf, pos) if pos < len(buf) else None
                carry = buf[skipped.end() :] if skipped is not None else b""
                if len(carry) > CARRY_MAX:
                    if self.in_sheet:
                        raise ReadError(N_("{book}, {where}: one XML tag or comment longer than 64 MiB"), book=self.book, where=self.where)
                    carry = carry[1:]
        except Harmless:
            return None
        return self.box if self.in_sheet else None

    def token(self, end: bytes, name: bytes, body: bytes, empty: bool) -> bool:
        """Handle one tag; True when calamine stops reading cells here."""
        local = name.split(b":", 1)[1] if b":" in name else name  # quick-xml: after the first colon
        if end:
            if self.in_sheet and local == b"sheetData":
                return True
            if self.in_sheet and local == b"row":
                self.row, self.col = (self.row + 1) & 0xFFFFFFFF, 0
            return False
        closed = body.endswith(b"/")
        attrs = body[:-1] if closed else body
        if local == b"sheetData":
            if not self.in_sheet:
                self.in_sheet = True
                return closed
            return False
        if not self.in_sheet:
            return False
        if local == b"row":
            for item in raw_attrs(attrs):
                if item is None:
                    raise Harmless
                if item[0] == b"r":
                    parts = split_ref(item[1])
                    if parts is None or not parts[1]:
                        raise Harmless
                    row = parse_ref(b"A", parts[1])
                    if row is None:
                        raise Harmless
                    self.row = row[0]
                    break
            if closed:
                self.row, self.col = (self.row + 1) & 0xFFFFFFFF, 0
            return False
        self.cell(attrs, not closed and not empty)
        return False

    def cell(self, attrs: bytes, value: bool) -> None:
        simple = _SIMPLE_CELL.match(attrs)
        ref = simple[1] + simple[2] if simple else cell_r(attrs, harmless=True)
        if ref is None:
            row, col = self.row, self.col
        else:
            parts = split_ref(ref)
            pos = parse_ref(*parts) if parts and parts[0] and parts[1] else None
            if pos is None:
                raise Harmless
            row, col = pos
        if value:
            if row >= GRID_ROWS or col >= GRID_COLS:
                raise outside_grid(self.book, self.where, ref if ref is not None else cell_name(row, col))
            self.box.add(row, col)
        self.col = (col + 1) & 0xFFFFFFFF
