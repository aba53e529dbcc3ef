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
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crmcli.io.preflight import MAX_CELL_CHARS, ReadError, open_regular, quote

MAX_AREA = 24 * 1024 * 1024  # cells calamine may allocate for one sheet (32 bytes each)
SPARSE_AREA = 4 * 1024 * 1024  # a rectangle past this ...
SPARSE_RATIO = 16  # ... must have at least one cell in 16 holding a value
GRID_ROWS, GRID_COLS = 1_048_576, 16_384  # Excel's grid, A1:XFD1048576
MIN_CELL_BYTES = 20  # the shortest cell with a value: <c r="A1"><v>1</v></c>

SST_FREE = 16 * 1024 * 1024  # shared strings up to this size need no further look
SST_RATIO = 20  # larger ones inflating more than this are a bomb (real ones pack 3-8:1)
SST_MAX_STRINGS = 32 * 1024 * 1024  # strings calamine keeps (24 bytes each before their text)

CHUNK = 1 << 20
_OVERLAP = 4200  # bytes searched again at each chunk boundary (a tag name is < 4096 here)
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


# --------------------------------------------------------------------------- zip parts


def part_chunks(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The inflated bytes of one zip member, CHUNK at a time, never past its declared size.

    Deflated members are inflated with zlib straight from the file (no CRC pass: the sizes
    are what matter here); a member that inflates past the size its directory declares, which
    the zip-bomb checks trust, is refused. Other methods go through zipfile.
    """
    book = path.name
    if info.compress_type != zipfile.ZIP_DEFLATED:
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, zlib.error) as exc:
            raise ReadError(f"{book} is damaged or incomplete: cannot read part {info.filename} ({exc})") from None
        return
    with open_regular(path) as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise ReadError(f"{book} is damaged or incomplete: part {info.filename} has no local header")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        left, produced = info.compress_size, 0
        inflater = zlib.decompressobj(-15)
        pending = b""
        while True:
            if not pending:
                pending = fh.read(min(left, 1 << 18))
                left -= len(pending)
            try:
                out = inflater.decompress(pending, CHUNK)
            except zlib.error as exc:
                raise ReadError(f"{book} is damaged or incomplete: cannot inflate part {info.filename} ({exc})") from None
            pending = inflater.unconsumed_tail
            produced += len(out)
            if produced > info.file_size:
                raise ReadError(
                    f"{book}: part {info.filename} inflates past the {info.file_size:,} bytes its zip directory "
                    "declares; refusing a workbook that lies about its size"
                )
            if out:
                yield out
            if inflater.eof or (not out and not pending and left <= 0):
                return


def _utf16(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A UTF-16 part re-encoded as UTF-8, so that the byte patterns below apply to it."""
    import codecs

    first = next(chunks, b"")
    enc = None
    if first[:2] in (b"\xff\xfe", b"\xfe\xff"):
        enc = "utf-16"
    elif first[:2] == b"<\x00":
        enc = "utf-16-le"
    elif first[:2] == b"\x00<":
        enc = "utf-16-be"
    if enc is None:
        yield first
        yield from chunks
        return
    decoder = codecs.getincrementaldecoder(enc)(errors="replace")
    yield decoder.decode(first).encode("utf-8", "surrogatepass")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8", "surrogatepass")


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


def _num_gt(n: int) -> bytes:
    """A decimal number (leading zeros allowed) greater than ``n`` >= 0."""
    s = str(n).encode()
    alts = [rb"[1-9][0-9]{%d,}" % len(s)]
    for i in range(len(s)):
        d = s[i] - 48
        if d < 9:
            rest = len(s) - i - 1
            alts.append(s[:i] + b"[%d-9]" % (d + 1) + (b"[0-9]{%d}" % rest if rest else b""))
    return b"0*(?:" + b"|".join(alts) + b")"


def _letters_gt(col: int) -> bytes:
    """Column letters (either case) naming a column after ``col`` (0-based)."""
    if col < 0:
        return rb"[A-Za-z]+(?=[0-9])"
    name = col_name(col).encode()
    alts = [rb"[A-Za-z]{%d,}" % (len(name) + 1)]
    for i in range(len(name)):
        ch = name[i]
        if ch < ord("Z"):
            prefix = b"".join(b"[%c%c]" % (c, c + 32) for c in name[:i])
            rest = len(name) - i - 1
            alts.append(prefix + b"[%c-Z%c-z]" % (ch + 1, ch + 33) + (b"[A-Za-z]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(alts) + b")(?=[0-9])"


_FAST: dict[tuple[int, int], re.Pattern[bytes]] = {}


def _fast_pattern(col: int, row: int) -> re.Pattern[bytes]:
    """A cell reference beyond (row, col), or a cell tag in any form but ``<c r="``."""
    key = (col, row)
    pat = _FAST.get(key)
    if pat is None:
        rows = rb"[A-Za-z]+[0-9]+\"" if row < 0 else rb"[A-Za-z]+" + _num_gt(row + 1) + rb"\""
        pat = re.compile(
            rb"<(?:c r=\"(?:" + _letters_gt(col) + rb"|" + rows + rb")"
            rb"|c(?! r=\")[ \t\r\n/>]|[^ \t\r\n/>:]*:c[ \t\r\n/>]|[^ \t\r\n/>]{4096})"
        )
        if len(_FAST) > 256:
            _FAST.clear()
        _FAST[key] = pat
    return pat


def _round_up(row: int) -> int:
    """A bound a little past ``row`` (3 significant digits), so the pattern changes rarely."""
    if row < 1000:
        return row
    step = 10 ** (len(str(row)) - 3)
    return (row // step + 1) * step - 1


def fast_bounds(book: str, where: str, chunks: Iterator[bytes]) -> tuple[int, int, int] | None:
    """(last row, last column, bytes) bounding every cell, or None when only an exact look will do.

    Every cell is taken to hold a value and the rectangle to start at A1: an upper bound.
    """
    col, row = -1, -1
    pat = _fast_pattern(col, row)
    tail = b""
    size = 0
    moves = 0
    for chunk in chunks:
        size += len(chunk)
        buf = tail + chunk
        i = buf.rfind(b'<c r="')
        if i >= 0 and (m := _REF.match(buf, i + 6)) and (pos := parse_ref(m[1], m[2])):
            if pos[0] < GRID_ROWS and _round_up(pos[0]) > row:
                row = _round_up(pos[0])
                pat = _fast_pattern(col, row)
        at = 0
        while hit := pat.search(buf, at):
            if not hit[0].startswith(b'<c r="'):
                return None
            m = _REF.match(buf, hit.start() + 6)
            pos = parse_ref(m[1], m[2]) if m else None
            at = hit.end()
            if pos is None:
                continue  # calamine stops at this cell with an error: nothing is allocated
            if pos[0] >= GRID_ROWS or pos[1] >= GRID_COLS:
                raise outside_grid(book, where, m[1] + m[2] if m else b"")
            moves += 1
            if moves > 1000:
                return None  # cells in no order: measure exactly
            col, row = max(col, pos[1]), max(row, _round_up(pos[0]))
            pat = _fast_pattern(col, row)
        tail = buf[-_OVERLAP:]
    return row, col, size


def sheet_ok(book: str, where: str, chunks_factory: object) -> None:
    """Refuse a worksheet part whose cells calamine could not hold (see the module docstring)."""
    make = chunks_factory  # called again for the exact pass
    fast = fast_bounds(book, where, _utf16(make()))  # type: ignore[operator]
    if fast is not None:
        row, col, size = fast
        area = (row + 1) * (col + 1)
        if area <= SPARSE_AREA or (area <= MAX_AREA and size >= area // SPARSE_RATIO * MIN_CELL_BYTES):
            return
    box = _Exact(book, where).run(_utf16(make()))  # type: ignore[operator]
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
        carry = b""
        try:
            for chunk in _with_end(chunks):
                final = chunk is None
                buf = carry + (chunk or b"")
                pos = 0
                while m := _TOKEN.match(buf, pos):
                    if m[5] is not None:  # a '<' that starts nothing known: unfinished here, or malformed
                        if not final and _INCOMPLETE.match(buf, m.start(5)):
                            pos = m.start(5)
                            break
                        raise ReadError(f"{self.book}, {self.where}: not well-formed XML near byte {m.start(5):,} of a chunk")
                    pos = m.end()
                    if self.token(m[1], m[2], m[3], m[4] is not None):
                        return self.box
                carry = buf[_SKIP_ONLY.match(buf, pos).end() :] if pos < len(buf) else b""
                if len(carry) > _CARRY_MAX:
                    raise ReadError(f"{self.book}, {self.where}: one XML tag or comment longer than 64 MiB")
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
        ref: bytes | None
        if simple:
            ref = simple[1] + simple[2]
        else:  # get_attrs!(r, s, t): the last r seen before all three were found
            ref, found = None, 0
            for item in raw_attrs(attrs):
                if item is None:
                    raise _Harmless
                if item[0] in (b"r", b"s", b"t"):
                    ref = item[1] if item[0] == b"r" else ref
                    found += 1
                    if found == 3:
                        break
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


# --------------------------------------------------------------------------- ods

_ODS_NAMES = rb"(?:table:table|table:table-row|table:table-cell|table:covered-table-cell|text:s)"
_ODS_SKIP = (
    rb"(?:[^<]++|<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|</(?!" + _ODS_NAMES + rb"[ \t\r\n]*>)[^>]*>"
    rb"|<(?![!?/])(?!" + _ODS_NAMES + rb"(?:[ \t\r\n>]|/>))" + _BODY + rb">)*+"
)
_ODS_TOKEN = re.compile(_ODS_SKIP + rb"(?:<(/?)(" + _ODS_NAMES + rb")(?=[ \t\r\n/>])(" + _BODY + rb")>|(<))", re.S)
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
            raise _Harmless
        if item[0] == key:
            digits = item[1][1:] if item[1].startswith(b"+") else item[1]
            if not digits.isdigit() or len(digits) > 19:
                raise _Harmless
            return int(digits)
    return default


class _Ods:
    """content.xml as calamine's read_table / read_row / get_range expand it."""

    def __init__(self, book: str, size: int) -> None:
        self.book, self.size = book, size
        self.table: _OdsTable | None = None
        self.tables = 0
        # the open row: repeats, cells pushed, first and last cell with a value, text, empty cells waiting
        self.row: list[int] | None = None
        self.first: int | None = None
        # the open cell: start offset, repeats, spaces (text:s), is text, has a value
        self.cell: tuple[int, int, int, bool, bool] | None = None
        self.offset = 0

    def run(self, chunks: Iterator[bytes]) -> None:
        carry = b""
        try:
            for chunk in _with_end(chunks):
                final = chunk is None
                buf = carry + (chunk or b"")
                pos = 0
                while m := _ODS_TOKEN.match(buf, pos):
                    if m[4] is not None:
                        if not final and _INCOMPLETE.match(buf, m.start(4)):
                            pos = m.start(4)
                            break
                        return  # malformed: calamine stops with an error, having allocated nothing
                    pos = m.end()
                    self.token(m[1], m[2], m[3], self.offset + m.start(), self.offset + m.end())
                skip = _ODS_SKIP_ONLY.match(buf, pos).end() if pos < len(buf) else len(buf)
                carry = buf[skip:]
                self.offset += skip
                if len(carry) > _CARRY_MAX:
                    raise ReadError(f"{self.book}, part content.xml: one XML tag or comment longer than 64 MiB")
            self.finish_table()
        except _Harmless:
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
                    raise ReadError(f"{self.book}, part content.xml: a cell of more than {MAX_CELL_CHARS:,} spaces (text:s)")
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
        where = f"part content.xml, table {self.tables}"
        if t.materialized > MAX_AREA:
            raise ReadError(f"{self.book}, {where}: {t.materialized:,} cells before its rows are repeated, past the limit of {MAX_AREA:,}")
        if t.first_row is None:
            return
        box = Box(t.first_row, t.last_row - 1, t.c0, t.c1, t.values)
        judge(self.book, where, box, cell_bytes=56)
        area = box.area()
        if area > SPARSE_AREA and self.size < area // SPARSE_RATIO * MIN_CELL_BYTES:
            raise ReadError(
                f"{self.book}, {where}: {self.size:,} bytes of XML repeat into {box.span()} ({area:,} cells); "
                f"reading it would take {area * 56 / (1 << 30):,.1f} GiB"
            )
        if t.text > ODS_MAX_TEXT and t.text > 2 * self.size:
            raise ReadError(
                f"{self.book}, {where}: its repeated cells copy {t.text / 1e6:,.0f} MB of text from a "
                f"{self.size / 1e6:,.1f} MB part; refusing it"
            )


def check_ods(path: Path, zf: zipfile.ZipFile) -> None:
    """Every table of content.xml (calamine reads them all when it opens the file)."""
    for info in zf.infolist():
        if info.filename == "content.xml":
            _Ods(path.name, info.file_size).run(_utf16(part_chunks(path, zf, info)))


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
            sheet_ok(path.name, f"part {info.filename}", lambda info=info: part_chunks(path, zf, info))
