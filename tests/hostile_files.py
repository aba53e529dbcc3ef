"""Hostile input files, built by hand in milliseconds: shared by tests/test_preflight.py and
bench/bench_hostile.py (which builds the full-size ones: a 2 GB line, 910 MB of shared strings).

Each builder writes one file and returns its path; ``HOSTILE`` lists them with a word the one
``Error:`` line must contain. The workbooks are the smallest calamine reads: a header row
(客户名称, 联系电话), one customer, then whatever makes the file hostile.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c><c r="B1" t="inlineStr"><is><t>联系电话</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>A公司</t></is></c><c r="B2" t="inlineStr"><is><t>13800000001</t></is></c></row>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>'
)


def sheet_xml(body: str = "", header: str = HEADER) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>{header}{body}</sheetData></worksheet>'.encode()


def write_xlsx(path: Path, sheet: bytes, shared: bytes | Callable[[io.RawIOBase], None] | None = None) -> Path:
    """A workbook of one sheet; ``shared`` is sharedStrings.xml, or a function streaming it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        if callable(shared):
            info = zipfile.ZipInfo("xl/sharedStrings.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as fh:
                shared(fh)  # type: ignore[arg-type]
        elif shared is not None:
            zf.writestr("xl/sharedStrings.xml", shared)
    return path


# --------------------------------------------------------------------------- xlsx


def xfd_cell(d: Path) -> Path:
    """One cell at XFD1048576: calamine asks for 512 GiB and aborts the process."""
    return write_xlsx(d / "xfd-cell.xlsx", sheet_xml('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


def xfd_rows(d: Path, rows: int = 2000) -> Path:
    """``rows`` rows with a cell in column XFD: 1.2 GB in calamine for 2,000 of them."""
    body = "".join(f'<row r="{i}"><c r="A{i}"><v>1</v></c><c r="XFD{i}"><v>1</v></c></row>' for i in range(3, rows + 3))
    return write_xlsx(d / "xfd-rows.xlsx", sheet_xml(body))


def cells_without_r(d: Path) -> Path:
    """Cells placed by counting (no r): the one after XFC3 lands in XFD, another in row 1,048,576."""
    body = '<row r="3"><c r="XFC3"><v>1</v></c><c><v>1</v></c></row><row r="1048576"><c><v>1</v></c></row>'
    return write_xlsx(d / "cells-without-r.xlsx", sheet_xml(body))


def prefixed_cell(d: Path) -> Path:
    """<x:c> is a cell to calamine too: it reads local names."""
    body = '<row r="3"><x:c xmlns:x="urn:x" r="XFD1048576"><x:v>1</x:v></x:c></row>'
    return write_xlsx(d / "prefixed-cell.xlsx", sheet_xml(body))


def shared_strings_bomb(d: Path, megabytes: int = 24) -> Path:
    """sharedStrings.xml inflating about 70:1 (the real one: a 13 MB workbook, 910 MB of strings, 1 GB in calamine).

    Each string is a long run of one character and a few that differ, so deflate packs it
    well, but not past the 100:1 the zip-bomb check looks for.
    """

    def write(fh: io.RawIOBase) -> None:
        fh.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {NS}>'.encode())
        block = bytearray()
        i = 0
        written = 0
        while written < megabytes << 20:
            noise = os.urandom(1).hex()
            block += f"<si><t>{noise}{'备' * 170}{i}</t></si>".encode()
            i += 1
            if len(block) > 1 << 20:
                fh.write(bytes(block))
                written += len(block)
                block.clear()
        fh.write(bytes(block) + b"</sst>")

    sheet = sheet_xml('<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"><v>1</v></c></row>')
    return write_xlsx(d / "shared-strings-bomb.xlsx", sheet, write)


def shared_strings_count(d: Path) -> Path:
    """uniqueCount says 10^11: calamine reserves room for that many strings first (2.4 TB)."""
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst {NS} uniqueCount="100000000000"><si><t>x</t></si></sst>'.encode()
    )
    return write_xlsx(d / "shared-strings-count.xlsx", sheet_xml(), shared)


def zip_bomb(d: Path, megabytes: int = 300) -> Path:
    """One cell of ``megabytes`` MB of 'A', packed about 1000:1 (the zip-bomb check's case)."""

    path = d / "zip-bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            fh.write(
                sheet_xml().removesuffix(b"</sheetData></worksheet>") + b'<row r="3"><c r="A3" t="inlineStr"><is><t>'
            )
            chunk = b"A" * (1 << 20)
            for _ in range(megabytes):
                fh.write(chunk)
            fh.write(b"</t></is></c></row></sheetData></worksheet>")
    return path


# --------------------------------------------------------------------------- ods

ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="客户"><table:table-row>'
    '<table:table-cell office:value-type="string"><text:p>客户名称</text:p></table:table-cell>'
    '<table:table-cell office:value-type="string"><text:p>联系电话</text:p></table:table-cell></table:table-row>'
)
ODS_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>"
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)


def write_ods(path: Path, rows: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", ODS_HEAD + rows + ODS_TAIL)
        zf.writestr("META-INF/manifest.xml", MANIFEST)
    return path


def ods_repeated_cells(d: Path) -> Path:
    """2,000 rows each repeating one cell over 16,384 columns: 2.8 GB in calamine from 1.6 KB."""
    row = '<table:table-row><table:table-cell office:value-type="float" office:value="1" table:number-columns-repeated="16384"/></table:table-row>'
    return write_ods(d / "repeated-cells.ods", row * 2000)


def ods_repeated_rows(d: Path) -> Path:
    """One row of 20 cells repeated to row 1,048,576: 1.3 GB from 600 bytes."""
    row = (
        '<table:table-row table:number-rows-repeated="1048575"><table:table-cell office:value-type="float" '
        'office:value="1" table:number-columns-repeated="20"/></table:table-row>'
    )
    return write_ods(d / "repeated-rows.ods", row)


def ods_spaces(d: Path) -> Path:
    """<text:s text:c="2000000000"/>: two billion spaces, 3.8 GB."""
    row = '<table:table-row><table:table-cell office:value-type="string"><text:p><text:s text:c="2000000000"/></text:p></table:table-cell></table:table-row>'
    return write_ods(d / "spaces.ods", row)


# --------------------------------------------------------------------------- xls, xlsb


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (version 3) holding ``streams``, each at least 4,096 bytes."""
    sector, end, free = 512, 0xFFFFFFFE, 0xFFFFFFFF
    data: list[bytes] = []
    fat = [0xFFFFFFFD, end]  # sector 0: the FAT, sector 1: the directory
    entries = [("Root Entry", 5, end, 0)]
    for name, body in streams.items():
        size = max(len(body), 4096)
        body = body.ljust(-(-size // sector) * sector, b"\0")
        first, n = 2 + len(data), len(body) // sector
        data += [body[k * sector : (k + 1) * sector] for k in range(n)]
        fat += [first + k + 1 if k < n - 1 else end for k in range(n)]
        entries.append((name, 2, first, size))
    directory = b""
    for i, (name, kind, start, size) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\0\0"
        child = 1 if i == 0 and len(entries) > 1 else free
        right = i + 1 if 0 < i < len(entries) - 1 else free
        directory += (
            raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1) + struct.pack("<III", free, right, child)
            + b"\0" * 36 + struct.pack("<IQ", start, size)
        )  # fmt: skip
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0) + struct.pack("<I", 0) + b"\xff" * 432
    )  # fmt: skip
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat).ljust(sector, b"\xff")
    return header + fat_bytes + directory.ljust(sector, b"\0") + b"".join(data)


def _rec(typ: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def xls_bytes(cells: list[tuple[int, int, str | float]], dimensions: tuple[int, int, int, int] | None = None) -> bytes:
    """A BIFF8 workbook of one sheet: LABEL cells for text, NUMBER for numbers."""

    def bof(dt: int) -> bytes:
        return _rec(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0, 0, 0, 0))

    body = b""
    for row, col, value in cells:
        if isinstance(value, str):
            body += _rec(0x0204, struct.pack("<HHHHB", row, col, 0, len(value), 1) + value.encode("utf-16-le"))
        else:
            body += _rec(0x0203, struct.pack("<HHHd", row, col, 0, value))
    dims = _rec(0x0200, struct.pack("<IIHHH", *dimensions, 0)) if dimensions else b""
    sheet = bof(0x10) + dims + body + _rec(0x000A)
    glob_len = len(bof(0x05) + _rec(0x0085, b"\0" * 8 + b"S") + _rec(0x000A))
    glob = bof(0x05) + _rec(0x0085, struct.pack("<IBBBB", glob_len, 0, 0, 1, 0) + b"S") + _rec(0x000A)
    return cfb({"Workbook": glob + sheet})


XLS_OK: list[tuple[int, int, str | float]] = [
    (0, 0, "客户名称"),
    (0, 1, "联系电话"),
    (1, 0, "A公司"),
    (1, 1, "13800000001"),
]


def xls_dimensions(d: Path) -> Path:
    """A DIMENSIONS record of 4 billion rows: calamine reserves 43 TB and aborts."""
    path = d / "dimensions.xls"
    path.write_bytes(xls_bytes(XLS_OK, dimensions=(0, 0xFFFFFFFF, 0, 255)))
    return path


def xls_far_cell(d: Path) -> Path:
    """A number at IV65536, the far corner of an .xls: 1.1 GB in calamine from 5 KB."""
    path = d / "far-cell.xls"
    path.write_bytes(xls_bytes([*XLS_OK, (65535, 255, 1.0)]))
    return path


def _b12(typ: int, data: bytes = b"") -> bytes:
    head = bytes([typ]) if typ < 0x80 else bytes([(typ & 0x7F) | 0x80, typ >> 7])
    n, size = len(data), b""
    while True:
        size += bytes([(n & 0x7F) | (0x80 if n >> 7 else 0)])
        n >>= 7
        if not n:
            return head + size + data


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def write_xlsb(path: Path, cells: list[tuple[int, int, str | float]]) -> Path:
    sheet = _b12(0x0081) + _b12(0x0094, struct.pack("<IIII", 0, 1, 0, 1)) + _b12(0x0091)
    row = None
    for r, c, v in cells:
        if r != row:
            sheet += _b12(0x0000, struct.pack("<IIHBBB", r, 0, 300, 0, 0, 0) + b"\0" * 4)
            row = r
        value = _wide(v) if isinstance(v, str) else struct.pack("<d", v)
        sheet += _b12(0x0006 if isinstance(v, str) else 0x0005, struct.pack("<II", c, 0) + value)
    sheet += _b12(0x0092)
    workbook = (
        _b12(0x0083)
        + _b12(0x008F)
        + _b12(0x009C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide("客户"))
        + _b12(0x0090)
        + _b12(0x0084)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_rels/.rels", RELS.replace("workbook.xml", "workbook.bin"))
        zf.writestr("xl/_rels/workbook.bin.rels", WORKBOOK_RELS.replace("sheet1.xml", "sheet1.bin"))
        zf.writestr("xl/workbook.bin", workbook)
        zf.writestr("xl/worksheets/sheet1.bin", sheet)
    return path


def xlsb_far_cell(d: Path) -> Path:
    """XFD1048576 in an .xlsb: 512 GiB, abort."""
    return write_xlsb(d / "far-cell.xlsb", [*XLS_OK, (1048575, 16383, 1.0)])


# --------------------------------------------------------------------------- text


def long_line(d: Path, megabytes: int = 24) -> Path:
    """One line of ``megabytes`` MB (the bench: 2 GB, written in 1 MiB pieces)."""
    path = d / "long-line.csv"
    with path.open("wb") as fh:
        fh.write("客户名称,联系电话\n".encode())
        chunk = b"A" * (1 << 20)
        for _ in range(megabytes):
            fh.write(chunk)
        fh.write(b",13800000001\n")
    return path


def wide_line(d: Path, columns: int = 1_000_000) -> Path:
    path = d / "wide.csv"
    path.write_bytes(",".join(f"c{i}" for i in range(columns)).encode() + b"\n1,2\n")
    return path


def multiline_row(d: Path) -> Path:
    """One row of 3 million quoted cells, each holding a line break: no line is long, the row is."""
    path = d / "multiline-row.csv"
    path.write_bytes("客户名称,联系电话\n".encode() + b'"a\n",' * 3_000_000 + b"x\n")
    return path


def big_cell(d: Path) -> Path:
    path = d / "big-cell.csv"
    path.write_bytes("客户名称,联系电话\n".encode() + b"A" * (5 << 20) + b",13800000001\n")
    return path


def mixed_encoding(d: Path) -> Path:
    """UTF-8 throughout but for row 20 (line 21), saved from a GBK program: GB18030 reads it all, as mojibake.

    (Every Chinese run is an even number of characters, six bytes in UTF-8: read two bytes at a
    time, each pair is a valid GB18030 character, so nothing stops a GB18030 reading.)
    """
    lines = ["Customer_Name,Phone,Source"] + [f"华东贸易有限公司{i},138{i:08d},展会推广" for i in range(1, 41)]
    data = [line.encode("utf-8") for line in lines]
    data[20] = lines[20].encode("gbk")
    path = d / "mixed-encoding.csv"
    path.write_bytes(b"\r\n".join(data) + b"\r\n")
    return path


# --------------------------------------------------------------------------- not files


def fifo(d: Path) -> Path:
    path = d / "pipe.csv"
    os.mkfifo(path)
    return path


def socket_file(d: Path) -> Path:
    import socket

    path = d / "sock.csv"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    return path


# name -> (builder, a word its one Error: line must contain)
HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "xlsx: one cell at XFD1048576": (xfd_cell, "past the limit"),
    "xlsx: 2,000 rows reaching XFD": (xfd_rows, "past the limit"),
    "xlsx: cells without r placed at XFD and row 1,048,576": (cells_without_r, "past the limit"),
    "xlsx: prefixed cell at XFD1048576": (prefixed_cell, "past the limit"),
    "xlsx: shared strings at 70:1": (shared_strings_bomb, "shared strings"),
    "xlsx: shared strings count of 10^11": (shared_strings_count, "declares"),
    "ods: cells repeated over 16,384 columns": (ods_repeated_cells, "past the limit"),
    "ods: a row repeated a million times": (ods_repeated_rows, "repeat into"),
    "ods: two billion spaces": (ods_spaces, "spaces"),
    "xls: DIMENSIONS of 4 billion rows": (xls_dimensions, "DIMENSIONS"),
    "xls: one number at IV65536": (xls_far_cell, "strewn"),
    "xlsb: one cell at XFD1048576": (xlsb_far_cell, "past the limit"),
    "csv: one 24 MB line": (long_line, "longer than 8 MiB"),
    "csv: a million columns": (wide_line, "16,384 columns"),
    "csv: a row of 3 million quoted line breaks": (multiline_row, "longer than 8 MiB"),
    "csv: a 5 MB cell": (big_cell, "cell longer than"),
    "csv: UTF-8 with a GBK row": (mixed_encoding, "line 21"),
}
