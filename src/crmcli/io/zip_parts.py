"""Reading workbook zips with bounded memory, and the checks made on their directory first.

``check_zip`` refuses a zip bomb (a part past 10 MB, or all parts past 20 MB, at more than
100:1, or past 1 GB at all) and an XML part whose prolog declares a DOCTYPE or ENTITY, then
hands .xlsx/.xlsb/.ods files to the cell-area checks (``sheet_area``, ``binary_area``,
``ods_area``). ``part_chunks`` streams one member, never past the size its directory declares.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from crmcli.i18n import N_
from crmcli.io.preflight import ReadError, open_regular

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB: no real CRM workbook comes near it
BOMB_SIZE = 20 * 1000 * 1000  # past 20 MB uncompressed ... (calamine holds ~3x a part's size: a 150 MB
# one-cell part at 1000:1 took it to 500 MB; real sheets compress ~7:1, far below BOMB_RATIO)
BOMB_RATIO = 100  # ... at more than 100:1 it is a zip bomb, not a spreadsheet
PART_BOMB_SIZE = 10 * 1000 * 1000  # one part past 10 MB at more than 100:1: a bomb too (real sheets pack 5-30:1)
PROLOG_LIMIT = 32 * 1024 * 1024
CHUNK = 1 << 20


def check_zip(path: Path, kind: str | None = None) -> None:
    """Refuse a zip bomb, an XML part with a DOCTYPE/ENTITY declaration, or (``kind`` xlsx or
    ods) sheets or shared strings calamine could not hold, before calamine sees the file."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadError(N_("{name} is not a readable workbook: damaged zip archive ({exc})"), name=path.name, exc=exc) from None
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos) or 1
        if total > MAX_UNCOMPRESSED or (total > BOMB_SIZE and total / packed > BOMB_RATIO):
            raise ReadError(N_("{name} would inflate to {value:,.0f} MB ({value2:,.0f}:1); refusing a workbook that looks like a zip bomb"), name=path.name, value=total / 1e6, value2=total / packed)
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > PART_BOMB_SIZE and ratio > BOMB_RATIO:
                raise ReadError(N_("{name}: part {filename} inflates {ratio:,.0f}:1 to {value:,.0f} MB; refusing a workbook that looks like a zip bomb"), name=path.name, filename=info.filename, ratio=ratio, value=info.file_size / 1e6)
        for info in infos:
            name = info.filename.lower()
            if not (name.endswith(".xml") or name.endswith(".rels")):
                continue
            try:
                with zf.open(info) as part:
                    declared = _prolog_declares_dtd(part)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
                raise ReadError(N_("{name} is damaged or incomplete: cannot read part {filename} ({exc})"), name=path.name, filename=info.filename, exc=exc) from None
            if declared:
                raise ReadError(N_("{name}: part {filename} declares a DOCTYPE or ENTITY (workbooks never do); refusing it"), name=path.name, filename=info.filename)
        if kind == "ods":
            from crmcli.io import ods_area

            ods_area.check_ods(path, zf)
        elif kind == "xlsx":  # .xlsx/.xlsm, and the binary .xlsb (which calamine reads by its name or content)
            from crmcli.io import sheet_area

            if "xl/workbook.bin" in {i.filename.replace("\\", "/").lower() for i in infos}:
                from crmcli.io import binary_area

                binary_area.check_xlsb(path, zf)
            sheet_area.check_xlsx(path, zf)


def _prolog_declares_dtd(part: IO[bytes]) -> bool:
    """Does the XML before the root element hold a <!DOCTYPE> (and so entity declarations)?

    Only the prolog is read -- declarations, comments, processing instructions -- however
    long a comment may be (up to ``PROLOG_LIMIT``), so a 100 MB sheet costs nothing here.
    UTF-16 parts are read with their NUL bytes dropped.
    """
    data = b""
    seen = 0
    while True:
        chunk = part.read(65536)
        eof = not chunk
        seen += len(chunk)
        if seen > PROLOG_LIMIT:
            return True  # nobody writes megabytes before the root element but an attacker
        data += chunk.replace(b"\x00", b"")
        while True:
            i = data.find(b"<")
            if i < 0:
                data = b""
                break
            rest = data[i:]
            if rest.startswith(b"<?"):
                j = rest.find(b"?>", 2)
                if j < 0:
                    data = rest
                    break
                data = rest[j + 2 :]
                continue
            if rest.startswith(b"<!--"):
                j = rest.find(b"-->", 4)
                if j < 0:
                    data = rest
                    break
                data = rest[j + 3 :]
                continue
            if len(rest) < 4 and not eof:
                data = rest
                break
            # "<!DOCTYPE", "<!ENTITY" or any other "<!" before the root: a DTD
            return rest.startswith(b"<!")
        if eof:
            return False


def part_chunks(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, size: int = CHUNK) -> Iterator[bytes]:
    """The inflated bytes of one zip member, ``size`` at a time, never past its declared size.

    Deflated members are inflated with zlib straight from the file (no CRC pass: the sizes
    are what matter here); a member that inflates past the size its directory declares, which
    the zip-bomb checks trust, is refused. Other methods go through zipfile.
    """
    book = path.name
    if info.compress_type != zipfile.ZIP_DEFLATED:
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(size):
                    yield chunk
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, zlib.error) as exc:
            raise ReadError(N_("{book} is damaged or incomplete: cannot read part {filename} ({exc})"), book=book, filename=info.filename, exc=exc) from None
        return
    with open_regular(path) as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise ReadError(N_("{book} is damaged or incomplete: part {filename} has no local header"), book=book, filename=info.filename)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        left, produced = info.compress_size, 0
        inflater = zlib.decompressobj(-15)
        pending = b""
        while True:
            if not pending:
                pending = fh.read(min(left, max(size >> 2, 1 << 18)))
                left -= len(pending)
            try:
                out = inflater.decompress(pending, size)
            except zlib.error as exc:
                raise ReadError(N_("{book} is damaged or incomplete: cannot inflate part {filename} ({exc})"), book=book, filename=info.filename, exc=exc) from None
            pending = inflater.unconsumed_tail
            produced += len(out)
            if produced > info.file_size:
                raise ReadError(N_("{book}: part {filename} inflates past the {file_size:,} bytes its zip directory declares; refusing a workbook that lies about its size"), book=book, filename=info.filename, file_size=info.file_size)
            if out:
                yield out
            if inflater.eof or (not out and not pending and left <= 0):
                return


def utf16_as_utf8(chunks: Iterator[bytes]) -> Iterator[bytes]:
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
