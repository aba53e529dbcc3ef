"""The cells of an .xlsx, measured before python-calamine opens it (limits: ``cell_area``).

Calamine builds a sheet as one rectangle spanning its non-empty cells, placed by the cells' own
references (``<c r="XFD1048576">``) whatever ``<dimension>`` says: one such cell in a 2 KB file
asks for 512 GiB and aborts the process; 2,000 rows with a cell in column XFD take 1.2 GB. So
every part of the workbook is streamed through zlib first (whichever sheet is opened, no
reading of the relationships can lead around the check) and the rectangle its cells span is
measured against ``cell_area.judge``.

The common case costs zlib and one regex pass per MiB:
while every cell is written ``<c r="REF" [s=".."] [t=".."]>``, only references beyond the
rectangle seen so far match, and the rectangle's rows grow from each chunk's last cell. Any
other cell -- without ``r`` (placed by counting), prefixed, with other attributes (one could be
a second r, which calamine would read instead), or cells in no order, or a rectangle past the
limits -- sends the part to ``xml_cells.Exact``, which reads it exactly as calamine does.

Shared strings (``sharedStrings.xml``) are held whole by calamine, which also reserves room for
the ``uniqueCount`` the part declares: the declared count, the part's size and compression
ratio and, when it is large, the strings themselves are checked (``check_shared_strings``).
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from crmcli.i18n import N_
from crmcli.io import xml_cells
from crmcli.io.cell_area import (  # noqa: F401 - the limits are read from here too
    GRID_COLS,
    GRID_ROWS,
    MAX_AREA,
    MIN_CELL_BYTES,
    REF,
    SPARSE_AREA,
    SPARSE_RATIO,
    Box,
    cell_r,
    col_name,
    judge,
    outside_grid,
    parse_ref,
    raw_attrs,
    split_ref,
)
from crmcli.io.preflight import MAX_CELL_CHARS, ReadError, quote
from crmcli.io.zip_parts import part_chunks, utf16_as_utf8

SST_FREE = 16 * 1024 * 1024  # shared strings up to this size need no further look
SST_RATIO = 20  # larger ones inflating more than this are a bomb (real ones pack 3-8:1)
SST_MAX_STRINGS = 32 * 1024 * 1024  # strings calamine keeps (24 bytes each before their text)
# 1 MiB a regex call: larger chunks saved no time and raised the import's peak memory by 13 MB
# (inflating in a thread ahead of the search saved none either: zlib kept the GIL)
FAST_CHUNK = 1 << 20
_TAG_MAX = 4096  # a cell tag longer than this (a prefix that long, say) is left to the exact reading


# --------------------------------------------------------------------------- xlsx cells: fast


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
            alts.append(
                s[:i] + b"[%s-%d]" % (b"1" if i == 0 else b"0", d - 1) + (b"[0-9]{%d}" % rest if rest else b"") + b'"'
            )
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


def fast_bounds(
    book: str, where: str, chunks: Iterator[bytes], fixed: tuple[int, int] | None = None
) -> tuple[int, int, int, int] | None:
    """(row bound, last column, bytes, last row seen) bounding every cell, or None when only an
    exact look will do. ``fixed`` (column, row): bounds that may not grow.

    Every cell is taken to hold a value and the rectangle to start at A1: an upper bound. The
    row bound runs a little ahead of the rows (``_round_up``); the last row seen is exact.
    A tag is looked at whole: those beginning in the last 4 KiB of a chunk are looked at
    again with the start of the next (a tag longer than that is left to the exact reading).
    """
    # column and row bounds, moves, last row seen, whether the bounds are fixed
    state = [-1, -1, 0, -1, 0] if fixed is None else [fixed[0], fixed[1], 0, fixed[1], 1]
    size = 0
    tail = b""
    for chunk in chunks:
        size += len(chunk)
        i = len(chunk)
        for _ in range(3):  # the last cell of the chunk may be cut in two: then the one before it
            i = chunk.rfind(b'<c r="', 0, i)
            if i < 0 or (m := REF.match(chunk, i + 6)):
                break
        if i >= 0 and m and (pos := parse_ref(m[1], m[2])) and pos[0] < GRID_ROWS and not state[4]:
            state[1], state[3] = max(state[1], _round_up(pos[0])), max(state[3], pos[0])
        if tail and not _fast_search(book, where, tail + chunk[: 2 * _TAG_MAX], 0, len(tail), state):
            return None
        if not _fast_search(book, where, chunk, 0, len(chunk) - _TAG_MAX, state):
            return None
        tail = chunk[-_TAG_MAX:]
    if tail and not _fast_search(book, where, tail, 0, len(tail), state):
        return None
    return state[1], state[0], size, state[3]


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
    ref = cell_r(body[:-1] if body.endswith(b"/") else body)
    if ref is None:
        return False  # a cell without r: placed by counting
    parts = split_ref(ref)
    pos = parse_ref(*parts) if parts and parts[0] and parts[1] else None
    if pos is None:
        return True  # calamine stops at this cell with an error: nothing is allocated
    if pos[0] >= GRID_ROWS or pos[1] >= GRID_COLS:
        raise outside_grid(book, where, ref)
    if pos[1] <= state[0] and pos[0] <= state[1]:
        return True
    state[2] += 1
    if state[2] > 1000 or state[4]:
        return False  # cells in no order, or past fixed bounds: measure exactly
    state[0], state[1], state[3] = max(state[0], pos[1]), max(state[1], _round_up(pos[0])), max(state[3], pos[0])
    return True


def _fits(row: int, col: int, size: int) -> bool:
    """Does a rectangle from A1 to (row, col) pass ``judge``, the density judged from the bytes?"""
    area = (row + 1) * (col + 1)
    return area <= SPARSE_AREA or (area <= MAX_AREA and size >= area // SPARSE_RATIO * MIN_CELL_BYTES)


def sheet_ok(book: str, where: str, chunks_factory: Callable[[], Iterator[bytes]]) -> None:
    """Refuse a worksheet part whose cells calamine could not hold (see the module docstring)."""
    make = chunks_factory  # called again for another pass
    fast = fast_bounds(book, where, utf16_as_utf8(make()))
    if fast is not None:
        row, col, size, last = fast
        if _fits(row, col, size):
            return
        # near the limit the rounded row bound may be too coarse: check again with the last row
        # seen as a fixed bound (a million-row sheet: one more fast pass, not an exact one)
        if last < row and _fits(last, col, size):
            if fast_bounds(book, where, utf16_as_utf8(make()), fixed=(col, last)) is not None:
                return
    box = xml_cells.Exact(book, where).run(utf16_as_utf8(make()))
    if box is not None:
        judge(book, where, box)


# --------------------------------------------------------------------------- shared strings

_SST = re.compile(rb"<(?:[^ \t\r\n>:/]*:)?sst[ \t\r\n]" + xml_cells.BODY + rb">", re.S)


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
                    raise ReadError(N_("{book}, {where}: declares {declared:,} shared strings, more than {value:,} (what {size:,} bytes can hold, at most {sst_max_strings:,})"), book=book, where=where, declared=declared, value=min(SST_MAX_STRINGS, size // 5 + 16), size=size, sst_max_strings=SST_MAX_STRINGS)
    if size <= SST_FREE:
        return
    ratio = size / max(info.compress_size, 1)
    if ratio > SST_RATIO:
        raise ReadError(N_("{book}, {where}: {value:,.0f} MB of shared strings packed {ratio:,.0f}:1 (real ones pack under {sst_ratio}:1); refusing a workbook that looks like a zip bomb"), book=book, where=where, value=size / 1e6, ratio=ratio, sst_ratio=SST_RATIO)
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
            raise ReadError(N_("{book}, {where}: more than {sst_max_strings:,} shared strings"), book=book, where=where, sst_max_strings=SST_MAX_STRINGS)
        if gap > MAX_CELL_CHARS * 3:
            raise ReadError(N_("{book}, {where}: a shared string longer than {max_cell_chars:,} characters"), book=book, where=where, max_cell_chars=MAX_CELL_CHARS)


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
            raise ReadError(N_("{name}: parts {value} and {filename} have the same name; refusing it"), name=path.name, value=quote(seen[key]), filename=quote(info.filename))
        seen[key] = info.filename
    for info in zf.infolist():
        if info.filename.replace("\\", "/").lower().endswith("sharedstrings.xml"):
            check_shared_strings(path, zf, info)
    for info in zf.infolist():
        if info.file_size and not info.is_dir():
            sheet_ok(path.name, f"part {info.filename}", functools.partial(part_chunks, path, zf, info, FAST_CHUNK))
