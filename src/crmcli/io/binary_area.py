"""What python-calamine would allocate for a binary workbook (.xls, .xlsb), found before it opens it.

Calamine reads every sheet of an .xls when it opens the file: for each one it reserves room for
the rectangle the sheet's DIMENSIONS record declares, then builds one rectangle spanning its
cells (and another for its formulas). Cell records carry 16-bit rows and columns, so a cell at
column 65,535 of row 65,535 asks for 4 billion cells and aborts the process. The compound file
is read here (its FAT, the Workbook stream) and every sheet's records are walked with the same
limits as .xlsx sheets (``sheet_area.judge``).

An .xlsb keeps its sheets as BIFF12 records in the zip: 32-bit columns, rows up to 1,048,576.
Every part under xl/worksheets/ (where calamine looks for them) is walked the same way, and a
record longer than ``MAX_RECORD`` (calamine sizes its buffer from the header first) refused.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

from crmcli.i18n import N_
from crmcli.io.cell_area import GRID_COLS, GRID_ROWS, MAX_AREA, Box, cell_name, judge
from crmcli.io.preflight import ReadError, open_regular
from crmcli.io.zip_parts import part_chunks

_END, _FREE = 0xFFFFFFFE, 0xFFFFFFFF
_CELL_RECORDS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD}  # Number, Label, RString, BoolErr, Rk, LabelSst
_FORMULA, _MULRK, _DIMENSIONS, _BOF, _EOF, _BOUNDSHEET = 0x0006, 0x00BD, 0x0200, 0x0809, 0x000A, 0x0085
MAX_STREAM = 512 * 1024 * 1024


class _Damaged(Exception):
    pass


def _streams(data: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of the streams of an OLE compound file called Workbook or Book."""
    if len(data) < 512:
        raise _Damaged
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if not 7 <= shift <= 16 or not 1 <= mini_shift < shift:
        raise _Damaged
    size = 1 << shift
    n_fat, dir_start = struct.unpack_from("<II", data, 44)
    cutoff, minifat_start, _, difat_start, n_difat = struct.unpack_from("<IIIII", data, 56)
    sectors = (len(data) - 512 + size - 1) // size

    def sector(i: int) -> bytes:
        if i >= sectors:
            raise _Damaged
        return data[512 + i * size : 512 + (i + 1) * size]

    fat_sectors = [x for x in struct.unpack_from("<109I", data, 76) if x not in (_END, _FREE)]
    nxt, guard = difat_start, 0
    while nxt not in (_END, _FREE) and guard <= n_difat + 1 and len(fat_sectors) < n_fat + 109:
        block = struct.unpack(f"<{size // 4}I", sector(nxt))
        fat_sectors += [x for x in block[:-1] if x not in (_END, _FREE)]
        nxt, guard = block[-1], guard + 1
    fat: list[int] = []
    for i in fat_sectors[: max(n_fat, 1)]:
        fat += struct.unpack(f"<{size // 4}I", sector(i))

    def chain(start: int, table: list[int]) -> list[int]:
        out: list[int] = []
        while start not in (_END, _FREE):
            if start >= len(table) or len(out) > len(table):
                raise _Damaged
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(sector(i) for i in chain(dir_start, fat))
    entries = [directory[k : k + 128] for k in range(0, len(directory) - 127, 128)]
    if not entries:
        raise _Damaged
    root_start, root_size = struct.unpack_from("<IQ", entries[0], 116)
    ministream = b"".join(sector(i) for i in chain(root_start, fat))[: root_size & 0xFFFFFFFF]
    minifat: list[int] = []
    for i in chain(minifat_start, fat) if minifat_start not in (_END, _FREE) else []:
        minifat += struct.unpack(f"<{size // 4}I", sector(i))
    msize = 1 << mini_shift
    found = []
    for entry in entries[1:]:
        name_len = struct.unpack_from("<H", entry, 64)[0]
        name = entry[: max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        if entry[66] != 2 or name.lower() not in ("workbook", "book"):
            continue
        start, length = struct.unpack_from("<IQ", entry, 116)
        length &= 0xFFFFFFFF
        if length > MAX_STREAM:
            raise _Damaged
        if length < cutoff:
            body = b"".join(ministream[i * msize : (i + 1) * msize] for i in chain(start, minifat))
        else:
            body = b"".join(sector(i) for i in chain(start, fat))
        found.append((name, body[:length]))
    return found


def _records(stream: bytes, pos: int):  # type: ignore[no-untyped-def]
    """(type, data) of the BIFF records from ``pos`` (Continue records are not needed here)."""
    n = len(stream)
    unpack = struct.unpack_from
    while pos + 4 <= n:
        typ, length = unpack("<HH", stream, pos)
        if pos + 4 + length > n:
            return  # calamine stops here with an error
        yield typ, stream[pos + 4 : pos + 4 + length]
        pos += 4 + length


def _sheet(book: str, where: str, stream: bytes, pos: int) -> None:
    cells, formulas = Box(), Box()
    depth = 0
    for typ, data in _records(stream, pos):
        if depth > 1:  # a chart or macro substream inside the sheet: calamine skips it
            depth += typ == _BOF
            depth -= typ == _EOF
            continue
        if typ == _BOF:
            depth += 1
        elif typ == _EOF:
            break
        elif typ in _CELL_RECORDS or typ == _FORMULA:
            if len(data) >= 4:
                row, col = struct.unpack_from("<HH", data)
                if col >= GRID_COLS:
                    raise ReadError(N_("{book}, {where}: cell {value} lies outside Excel's grid (A1:XFD1048576)"), book=book, where=where, value=cell_name(row, col))
                cells.add(row, col)
                if typ == _FORMULA:
                    formulas.add(row, col)
        elif typ == _MULRK and len(data) >= 6:
            row, first = struct.unpack_from("<HH", data)
            last = struct.unpack_from("<H", data, len(data) - 2)[0]
            if last >= first and len(data) == 6 + 6 * (last - first + 1):
                if last >= GRID_COLS:
                    raise ReadError(N_("{book}, {where}: cell {value} lies outside Excel's grid (A1:XFD1048576)"), book=book, where=where, value=cell_name(row, last))
                cells.add(row, first, 0)
                cells.add(row, last, last - first + 1)
        elif typ == _DIMENSIONS and len(data) in (10, 14):
            if len(data) == 10:
                rf, rl, cf, cl = struct.unpack_from("<HHHH", data)
            else:
                rf, rl, cf, cl = struct.unpack_from("<IIHH", data)
            if cf > 0xFF or cl < cf:
                cf = 0
            r0, r1, c0, c1 = (rf, rl - 1, cf, cl - 1) if rl >= 1 and cl >= 1 else (rf, rf, cf, cf)
            rows, cols = (r1 - r0 + 1) & 0xFFFFFFFF, (c1 - c0 + 1) & 0xFFFFFFFF
            if rows * cols > MAX_AREA:
                raise ReadError(N_("{book}, {where}: its DIMENSIONS record declares {rows:,} x {cols:,} cells, past the limit of {max_area:,}"), book=book, where=where, rows=rows, cols=cols, max_area=MAX_AREA)
    judge(book, where, cells)
    judge(book, where + " (formulas)", formulas, cell_bytes=24)


def check_xls(path: Path) -> None:
    """Refuse an .xls whose sheets calamine could not hold; a file this cannot read is left to calamine."""
    with open_regular(path) as fh:
        data = fh.read()
    try:
        streams = _streams(data)
    except (_Damaged, struct.error):
        raise ReadError(N_("{name} is not a readable xls workbook: its compound file is damaged"), name=path.name) from None
    del data
    for name, stream in streams:
        sheets = [struct.unpack_from("<I", d)[0] for t, d in _records(stream, 0) if t == _BOUNDSHEET and len(d) >= 4]
        for i, pos in enumerate(sheets, 1):
            _sheet(path.name, f"stream {name}, sheet {i}", stream, pos)


# --------------------------------------------------------------------------- xlsb

MAX_RECORD = 16 * 1024 * 1024  # a BIFF12 record: real ones are kilobytes
_XLSB_CELLS = frozenset(range(0x0002, 0x000C))  # BrtCellRk ... BrtFmlaError (BrtCellBlank holds nothing)
_ROW_HEADER, _END_SHEET_DATA = 0x0000, 0x0092


def _record_at(buf: bytes, pos: int) -> tuple[int, int, int] | None:
    """(type, data offset, length) of the BIFF12 record header at ``pos``; None when cut short."""
    n = len(buf)
    if pos >= n:
        return None
    typ, i = buf[pos], pos + 1
    if typ & 0x80:
        if i >= n:
            return None
        typ, i = (typ & 0x7F) | ((buf[i] & 0x7F) << 7), i + 1
    length = 0
    for k in range(4):  # calamine's fill_buffer: up to four bytes of 7 bits
        if i >= n:
            return None
        b = buf[i]
        i += 1
        length |= (b & 0x7F) << (7 * k)
        if not b & 0x80:
            break
    return typ, i, length


def _biff12(book: str, where: str, chunks: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """(type, first 8 bytes of data) of each BIFF12 record, as calamine's RecordIter reads them."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        pos = 0
        while rec := _record_at(buf, pos):
            typ, start, length = rec
            if length > MAX_RECORD:
                raise ReadError(N_("{book}, {where}: a record of {length:,} bytes (real ones are kilobytes); refusing it"), book=book, where=where, length=length)
            if start + length > len(buf):
                break  # the rest comes with the next chunk
            yield typ, buf[start : start + min(length, 8)]
            pos = start + length
        buf = buf[pos:]


def _xlsb_sheet(book: str, where: str, chunks: Iterator[bytes]) -> None:
    cells = Box()
    row = 0
    for typ, head in _biff12(book, where, chunks):
        if typ == _ROW_HEADER and len(head) >= 4:
            row = struct.unpack_from("<I", head)[0]
            if row > GRID_ROWS:
                break  # calamine stops reading the sheet here
        elif typ in _XLSB_CELLS and len(head) >= 4:
            col = struct.unpack_from("<I", head)[0]
            if col >= GRID_COLS:
                raise ReadError(N_("{book}, {where}: a cell in column {value:,}, outside Excel's grid (A1:XFD1048576)"), book=book, where=where, value=col + 1)
            cells.add(row, col)
        elif typ == _END_SHEET_DATA:
            break
    judge(book, where, cells)


def check_xlsb(path: Path, zf: zipfile.ZipFile) -> None:
    """Every sheet part of an .xlsb (and the record sizes of the parts calamine reads whole)."""
    for info in zf.infolist():
        key = info.filename.replace("\\", "/").lower()
        where = f"part {info.filename}"
        if key.startswith(("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/")) and not key.endswith(".rels"):
            _xlsb_sheet(path.name, where, part_chunks(path, zf, info))
        elif key in ("xl/sharedstrings.bin", "xl/workbook.bin", "xl/styles.bin"):
            for _ in _biff12(path.name, where, part_chunks(path, zf, info)):
                pass
