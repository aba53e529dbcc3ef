"""What python-calamine would allocate for a workbook, found before it opens it.

Calamine builds a sheet as one rectangle spanning its non-empty cells, 32 bytes a cell, placed
by the cells' own references (``<c r="XFD1048576">``) whatever ``<dimension>`` says. One such
cell in a 2 KB file asks for 512 GiB and aborts the process; 2,000 rows with a cell in column
XFD take 1.2 GB. So every part of an .xlsx is streamed here first (zlib, 1 MiB at a time) and
the rectangle its cells span is measured:

* ``MAX_AREA`` cells (24 Mi, 768 MiB in calamine): Excel's 1,048,576 rows x 24 columns. Real
  sheets of 100k rows x 30 columns (3 M) or 1M rows x 20 columns (21 M) fit; 2,000 rows
  reaching XFD (32.8 M) do not. A reference outside Excel's grid is refused outright.
* Past ``SPARSE_AREA`` (4 Mi cells, 128 MiB) at least one cell in ``SPARSE_RATIO`` (16) must
  hold a value: a few cells strewn far apart cost the same memory as a full sheet.

The common case costs one regex search per MiB: while every cell is written ``<c r="..."``,
only references beyond the rectangle seen so far (or any other form of cell tag) match, and
the rectangle's rows grow from each chunk's last cell. Anything else -- cells without ``r``
(placed by counting, as calamine does), namespace prefixes, an area past the limits -- is
measured again exactly by ``_Exact``, which follows calamine's (quick-xml's) reading of tags,
attributes, comments and CDATA, and skips empty cells as calamine does.

Shared strings (``sharedStrings.xml``) are held whole by calamine, which also reserves room for
the ``uniqueCount`` the part declares: the declared count, the part's size and compression
ratio and, when it is large, the strings themselves are checked (``check_shared_strings``).
.ods content is measured by ``_ods_area`` (repeated rows and columns, as calamine expands them).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crmcli.io.preflight import MAX_CELL_CHARS, ReadError, quote
from crmcli.io.zip_parts import part_chunks, read_ahead, utf16_as_utf8

MAX_AREA = 24 * 1024 * 1024  # cells calamine may allocate for one sheet (32 bytes each)
SPARSE_AREA = 4 * 1024 * 1024  # a rectangle past this ...
SPARSE_RATIO = 16  # ... must have at least one cell in 16 holding a value
GRID_ROWS, GRID_COLS = 1_048_576, 16_384  # Excel's grid, A1:XFD1048576
MIN_CELL_BYTES = 20  # the shortest cell with a value: <c r="A1"><v>1</v></c>

SST_FREE = 16 * 1024 * 1024  # shared strings up to this size need no further look
SST_RATIO = 20  # larger ones inflating more than this are a bomb (real ones pack 3-8:1)
SST_MAX_STRINGS = 32 * 1024 * 1024  # strings calamine keeps (24 bytes each before their text)

# 8 MiB a regex call: the search holds the GIL some 20 ms at a time, so while the database is
# opened in the main thread, the check (on the import's critical path) gets most of it.
FAST_CHUNK = 8 << 20
_TAG_MAX = 4096  # a cell tag longer than this (a prefix that long, say) is left to the exact reading
_CARRY_MAX = 64 * 1024 * 1024  # one XML construct longer than this is not a spreadsheet's


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
    need = f"reading it would take {area * cell_bytes / (1 << 30):,.1f} GiB"
    if area > MAX_AREA:
        raise ReadError(
            f"{book}, {where}: its cells span {box.span()}, {area:,} cells, past the limit of {MAX_AREA:,} "
            f"(1,048,576 rows x 24 columns); {need}"
        )
    if area > SPARSE_AREA and box.cells * SPARSE_RATIO < area:
        raise ReadError(
            f"{book}, {where}: its {box.cells:,} cells with a value are strewn over {box.span()} ({area:,} cells, "
            f"fewer than 1 in {SPARSE_RATIO} filled); {need}"
        )


def outside_grid(book: str, where: str, ref: bytes | str) -> ReadError:
    text = ref.decode("ascii", "replace") if isinstance(ref, bytes) else ref
    return ReadError(f"{book}, {where}: cell {quote(text)} lies outside Excel's grid (A1:XFD1048576)")


# --------------------------------------------------------------------------- xlsx cells: fast

_REF = re.compile(rb"([A-Za-z]+)([0-9]+)\"")


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


def _num_le(n: int) -> bytes:
    """A decimal number (leading zeros allowed) not greater than ``n`` >= 1, then a quote.

    Possessive, each alternative ending at the quote: a number of another length fails at
    once instead of being tried again one digit shorter (this runs for every cell).
    """
    s = str(n).encode()
    alts = [rb"[0-9]{1,%d}+\"" % (len(s) - 1)] if len(s) > 1 else []
    for i in range(len(s)):
        d = s[i] - 48
        if d > 0 and not (i == 0 and d == 1):
            rest = len(s) - i - 1
            alts.append(s[:i] + b"[%s-%d]" % (b"1" if i == 0 else b"0", d - 1) + (b"[0-9]{%d}" % rest if rest else b"") + b'"')
    alts.append(s + b'"')
    return b"0*+(?:" + b"|".join(alts) + b")"


def _letters_le(col: int) -> bytes:
    """Column letters (either case) naming column ``col`` (0-based) or one before it."""
    name = col_name(col).encode()
    alts = [rb"[A-Za-z]{1,%d}" % (len(name) - 1)] if len(name) > 1 else []
    for i in range(len(name)):
        ch = name[i]
        if ch > ord("A"):
            prefix = b"".join(b"[%c%c]" % (c, c + 32) for c in name[:i])
            rest = len(name) - i - 1
            alts.append(prefix + b"[A-%ca-%c]" % (ch - 1, ch + 31) + (b"[A-Za-z]{%d}" % rest if rest else b""))
    alts.append(b"".join(b"[%c%c]" % (c, c + 32) for c in name))
    return b"(?:" + b"|".join(alts) + b")"


_FAST: dict[tuple[int, int], re.Pattern[bytes]] = {}


def _fast_pattern(col: int, row: int) -> re.Pattern[bytes]:
    """A ``<c`` tag other than ``<c r="REF" [s=".."] [t=".."]>`` with REF within (row, col).

    Only those forms: another attribute could be a second r, which calamine would read
    instead (it keeps the last r until it has seen r, s and t). One regex pass a MiB.
    """
    key = (col, row)
    pat = _FAST.get(key)
    if pat is None:
        inside = rb"(?!)" if col < 0 or row < 0 else _letters_le(col) + _num_le(row + 1)
        tail = rb"(?:/?>| t=\"[^\"]*+\"/?>| s=\"[^\"]*+\"(?: t=\"[^\"]*+\")?/?>)"
        pat = re.compile(rb"<c(?=[ \t\r\n/>])(?! r=\"" + inside + tail + rb")")
        if len(_FAST) > 256:
            _FAST.clear()
        _FAST[key] = pat
    return pat


# <prefix:c ...> is a cell to calamine too (it reads local names): found from each ':'
_PREFIXED = re.compile(rb":c[ \t\r\n/>]")


def _prefixed_cells(buf: bytes, limit: int) -> Iterator[int]:
    """Offsets of the 'c' of each ':c' followed by a delimiter (one memchr per colon; a regex
    pass when colons are many, as in Excel's rows with x14ac:dyDescent)."""
    i = buf.find(b":", 0, limit)
    n = 0
    while i >= 0:
        if buf[i + 1 : i + 2] == b"c" and buf[i + 2 : i + 3] in (b" ", b"\t", b"\r", b"\n", b"/", b">"):
            yield i + 1
        n += 1
        if n > 64:
            yield from (m.start() + 1 for m in _PREFIXED.finditer(buf, i + 1, limit + 2))
            return
        i = buf.find(b":", i + 1, limit)


def _round_up(row: int) -> int:
    """A bound a little past ``row`` (3 significant digits), so the pattern changes rarely."""
    if row < 1000:
        return row
    step = 10 ** (len(str(row)) - 3)
    return (row // step + 1) * step - 1


def fast_bounds(book: str, where: str, chunks: Iterator[bytes]) -> tuple[int, int, int] | None:
    """(last row, last column, bytes) bounding every cell, or None when only an exact look will do.

    Every cell is taken to hold a value and the rectangle to start at A1: an upper bound.
    A tag is looked at whole: those beginning in the last 4 KiB of a chunk are looked at
    again with the start of the next (a tag longer than that is left to the exact reading).
    """
    state = [-1, -1, 0]  # column and row bounds, moves
    size = 0
    tail = b""
    for chunk in chunks:
        size += len(chunk)
        i = len(chunk)
        for _ in range(3):  # the last cell of the chunk may be cut in two: then the one before it
            i = chunk.rfind(b'<c r="', 0, i)
            if i < 0 or (m := _REF.match(chunk, i + 6)):
                break
        if i >= 0 and m and (pos := parse_ref(m[1], m[2])) and pos[0] < GRID_ROWS:
            state[1] = max(state[1], _round_up(pos[0]))
        if tail and not _fast_search(book, where, tail + chunk[: 2 * _TAG_MAX], 0, len(tail), state):
            return None
        if not _fast_search(book, where, chunk, 0, len(chunk) - _TAG_MAX, state):
            return None
        tail = chunk[-_TAG_MAX:]
    if tail and not _fast_search(book, where, tail, 0, len(tail), state):
        return None
    return state[1], state[0], size


_TAG_NAME = re.compile(rb"<(?!/)[^ \t\r\n>:]*:\Z")
_TAG_REST = re.compile(rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


def _fast_search(book: str, where: str, buf: bytes, lo: int, hi: int, state: list[int]) -> bool:
    """Look at the cell tags of ``buf`` beginning in [lo, hi) for cells beyond the bounds in
    ``state``, growing them; False when the part must be looked at exactly."""
    pat = _fast_pattern(state[0], state[1])
    at = lo
    while (hit := pat.search(buf, at)) and hit.start() < hi:
        at = hit.end() + 1
        if not _fast_cell(book, where, buf, hit.start() + 2, state):
            return False
        pat = _fast_pattern(state[0], state[1])
    for i in _prefixed_cells(buf, min(len(buf) - 2, hi + _TAG_MAX)):
        lt = buf.rfind(b"<", max(0, i - _TAG_MAX), i)
        if lt < 0:
            if i >= _TAG_MAX:
                return False  # a tag name this long: look exactly
            continue
        if lo <= lt < hi and _TAG_NAME.match(buf, lt, i) and not _fast_cell(book, where, buf, i + 1, state):
            return False
    return True


def _fast_cell(book: str, where: str, buf: bytes, at: int, state: list[int]) -> bool:
    """The cell tag whose name ends at ``at``: grow the bounds to its r; False: look exactly."""
    rest = _TAG_REST.match(buf, at)
    if rest is None:
        return False  # a tag past the end of this buffer (4 KiB long): look exactly
    body = rest[0][:-1]
    ref = _cell_r(body[:-1] if body.endswith(b"/") else body)
    if ref is None:
        return False  # a cell without r: placed by counting
    parts = _split_ref(ref)
    pos = parse_ref(*parts) if parts and parts[0] and parts[1] else None
    if pos is None:
        return True  # calamine stops at this cell with an error: nothing is allocated
    if pos[0] >= GRID_ROWS or pos[1] >= GRID_COLS:
        raise outside_grid(book, where, ref)
    if pos[1] <= state[0] and pos[0] <= state[1]:
        return True
    state[2] += 1
    if state[2] > 1000:
        return False  # cells in no order: measure exactly
    state[0], state[1] = max(state[0], pos[1]), max(state[1], _round_up(pos[0]))
    return True


def sheet_ok(book: str, where: str, chunks_factory: object) -> None:
    """Refuse a worksheet part whose cells calamine could not hold (see the module docstring)."""
    make = chunks_factory  # called again for the exact pass
    fast = fast_bounds(book, where, utf16_as_utf8(read_ahead(make())))  # type: ignore[operator]
    if fast is not None:
        row, col, size = fast
        area = (row + 1) * (col + 1)
        if area <= SPARSE_AREA or (area <= MAX_AREA and size >= area // SPARSE_RATIO * MIN_CELL_BYTES):
            return
    box = _Exact(book, where).run(utf16_as_utf8(make()))  # type: ignore[operator]
    if box is not None:
        judge(book, where, box)


# --------------------------------------------------------------------------- xlsx cells: exact

_RELEVANT = rb"(?:[^ \t\r\n>:]*:)?(?:c|row|sheetData)"
_BODY = rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*"
# Text, comments, CDATA, processing instructions and every tag but those of sheetData, rows
# and cells (by local name, as calamine matches them), consumed in C; a tag ends at the first
# '>' outside quotes, as quick-xml reads it.
_SKIP = (
    rb"(?:[^<]++|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|</(?!" + _RELEVANT + rb"[ \t\r\n]*>)[^>]*>"
    rb"|<(?![!?/])(?!" + _RELEVANT + rb"(?:[ \t\r\n>]|/>))" + _BODY + rb">)*+"
)
_TOKEN = re.compile(
    _SKIP + rb"(?:<(/?)(" + _RELEVANT + rb")(?=[ \t\r\n/>])(" + _BODY + rb")>(?=([^<]*</(?:[^ \t\r\n>:]*:)?c[ \t\r\n]*>))?|(<))",
    re.S,
)
_SKIP_ONLY = re.compile(_SKIP, re.S)
_INCOMPLETE = re.compile(
    rb"<(?:!--(?:(?!-->).)*|!\[CDATA\[(?:(?!\]\]>).)*|\?(?:(?!\?>).)*|![^>]*|/[^>]*|" + _BODY + rb"(?:\"[^\"]*|'[^']*)?)\Z",
    re.S,
)
_SIMPLE_CELL = re.compile(rb" r=\"([A-Za-z]+)([0-9]+)\"(?: [st]=\"[^\"]*\")*\Z")
_ASCII_WS = b" \t\n\x0c\r"


def raw_attrs(raw: bytes) -> Iterator[tuple[bytes, bytes] | None]:
    """calamine's RawAttrIter: (key, value) pairs, None for the error that ends the iteration."""
    pos, n = 0, len(raw)
    while True:
        while pos < n and raw[pos] in _ASCII_WS:
            pos += 1
        if pos >= n:
            return
        eq = raw.find(b"=", pos)
        if eq < 0:
            yield None
            return
        key = raw[pos:eq].rstrip(_ASCII_WS)
        pos = eq + 1
        while pos < n and raw[pos] in _ASCII_WS:
            pos += 1
        if pos >= n or raw[pos] not in b"\"'":
            yield None
            return
        end = raw.find(raw[pos : pos + 1], pos + 1)
        value = raw[pos + 1 :] if end < 0 else raw[pos + 1 : end]
        pos = n if end < 0 else end + 1
        yield key, value


def _cell_r(attrs: bytes, harmless: bool = False) -> bytes | None:
    """The r calamine reads from a cell's attributes: get_attrs!(r, s, t) keeps the last r seen
    before all three are found. A malformed attribute is calamine's error (``_Harmless`` when
    asked; otherwise the r so far, to be measured all the same)."""
    ref, found = None, 0
    for item in raw_attrs(attrs):
        if item is None:
            if harmless:
                raise _Harmless
            break
        if item[0] in (b"r", b"s", b"t"):
            ref = item[1] if item[0] == b"r" else ref
            found += 1
            if found == 3:
                break
    return ref


def _split_ref(value: bytes) -> tuple[bytes, bytes] | None:
    """The letters and digits of a reference as calamine accepts it (any other byte is an error)."""
    m = re.fullmatch(rb"([A-Za-z]*)([0-9]*)", value)
    return (m[1], m[2]) if m else None


class _Harmless(Exception):
    """calamine stops reading this part with an error: it allocates nothing for it."""


class _Exact:
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
            for chunk in _with_end(chunks):
                final = chunk is None
                buf = carry + (chunk or b"")
                pos = 0
                while m := _TOKEN.match(buf, pos):
                    if m[5] is not None:  # a '<' that starts nothing known: cut by the chunk, or not XML
                        at = m.start(5)
                        if not final and _INCOMPLETE.match(buf, at):
                            pos = at
                            break
                        if self.in_sheet:
                            what = "a DOCTYPE" if buf[at : at + 3].upper() == b"<!D" else "markup that is not XML"
                            raise ReadError(f"{self.book}, {self.where}: {what} inside its cells; refusing it")
                        pos = at + 1
                        continue
                    pos = m.end()
                    if self.token(m[1], m[2], m[3], m[4] is not None):
                        return self.box
                carry = buf[_SKIP_ONLY.match(buf, pos).end() :] if pos < len(buf) else b""
                if len(carry) > _CARRY_MAX:
                    if self.in_sheet:
                        raise ReadError(f"{self.book}, {self.where}: one XML tag or comment longer than 64 MiB")
                    carry = carry[1:]
        except _Harmless:
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
                    raise _Harmless
                if item[0] == b"r":
                    parts = _split_ref(item[1])
                    if parts is None or not parts[1]:
                        raise _Harmless
                    row = parse_ref(b"A", parts[1])
                    if row is None:
                        raise _Harmless
                    self.row = row[0]
                    break
            if closed:
                self.row, self.col = (self.row + 1) & 0xFFFFFFFF, 0
            return False
        self.cell(attrs, not closed and not empty)
        return False

    def cell(self, attrs: bytes, value: bool) -> None:
        simple = _SIMPLE_CELL.match(attrs)
        ref = simple[1] + simple[2] if simple else _cell_r(attrs, harmless=True)
        if ref is None:
            row, col = self.row, self.col
        else:
            parts = _split_ref(ref)
            pos = parse_ref(*parts) if parts and parts[0] and parts[1] else None
            if pos is None:
                raise _Harmless
            row, col = pos
        if value:
            if row >= GRID_ROWS or col >= GRID_COLS:
                raise outside_grid(self.book, self.where, ref if ref is not None else cell_name(row, col))
            self.box.add(row, col)
        self.col = (col + 1) & 0xFFFFFFFF


def _with_end(chunks: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None


# --------------------------------------------------------------------------- shared strings

_SST = re.compile(rb"<(?:[^ \t\r\n>:/]*:)?sst[ \t\r\n]" + _BODY + rb">", re.S)


def check_shared_strings(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse shared strings calamine could not hold: a declared count it would reserve room for
    but the part cannot hold, a large part that inflates like a bomb, too many strings."""
    book, where = path.name, f"part {info.filename}"
    size = info.file_size
    chunks = part_chunks(path, zf, info)
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 65536:
            break
    m = _SST.search(head)
    if m:
        for item in raw_attrs(m[0][m[0].index(b"sst") + 3 : -1]):
            if item is not None and item[0] == b"uniqueCount" and item[1].isdigit():
                declared = int(item[1])
                if declared > SST_MAX_STRINGS or declared > size // 5 + 16:
                    raise ReadError(
                        f"{book}, {where}: declares {declared:,} shared strings, more than "
                        f"{min(SST_MAX_STRINGS, size // 5 + 16):,} (what {size:,} bytes can hold, at most {SST_MAX_STRINGS:,})"
                    )
    if size <= SST_FREE:
        return
    ratio = size / max(info.compress_size, 1)
    if ratio > SST_RATIO:
        raise ReadError(
            f"{book}, {where}: {size / 1e6:,.0f} MB of shared strings packed {ratio:,.0f}:1 (real ones pack under "
            f"{SST_RATIO}:1); refusing a workbook that looks like a zip bomb"
        )
    strings, gap, since = 0, 0, 0
    for chunk in _chain_first(head, chunks):
        found = chunk.count(b"<si>") + chunk.count(b"<si ") + chunk.count(b":si>") + chunk.count(b":si ")
        strings += found
        if found:
            first = min((i for i in (chunk.find(b"si>"), chunk.find(b"si ")) if i >= 0), default=0)
            last = max(chunk.rfind(b"si>"), chunk.rfind(b"si "))
            gap, since = max(gap, since + first), len(chunk) - last
        else:
            since += len(chunk)
        gap = max(gap, since)
        if strings > SST_MAX_STRINGS:
            raise ReadError(f"{book}, {where}: more than {SST_MAX_STRINGS:,} shared strings")
        if gap > MAX_CELL_CHARS * 3:
            raise ReadError(f"{book}, {where}: a shared string longer than {MAX_CELL_CHARS:,} characters")


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


# --------------------------------------------------------------------------- entry point


def check_xlsx(path: Path, zf: zipfile.ZipFile) -> None:
    """Shared strings, then every part of the workbook as a worksheet calamine might open.

    Which part a sheet name leads to is calamine's business (relationships, case-folded
    names); every part is measured instead, so no reading of them can lead around the check.
    Parts that hold no cells cost one pass of zlib and a regex search.
    """
    seen: dict[str, str] = {}
    for info in zf.infolist():
        key = info.filename.replace("\\", "/").lower()
        if key in seen:
            raise ReadError(f"{path.name}: parts {quote(seen[key])} and {quote(info.filename)} have the same name; refusing it")
        seen[key] = info.filename
    for info in zf.infolist():
        if info.filename.replace("\\", "/").lower().endswith("sharedstrings.xml"):
            check_shared_strings(path, zf, info)
    for info in zf.infolist():
        if info.file_size and not info.is_dir():
            sheet_ok(path.name, f"part {info.filename}", lambda info=info: part_chunks(path, zf, info, FAST_CHUNK))
