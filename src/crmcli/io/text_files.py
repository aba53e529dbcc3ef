"""CSV and TSV files as tables: the encoding detected strictly (BOM, UTF-8, GB18030, UTF-16
without BOM), the delimiter from the header line or Excel's ``sep=`` line, every row through the
pre-flight's guard. The rules are in ``readers``' docstring."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from crmcli.i18n import N_
from crmcli.io import preflight
from crmcli.io.preflight import ReadError
from crmcli.io.table import Row, Table

CSV_FIELD_LIMIT = preflight.MAX_CELL_CHARS  # a 1 MB cell is rejected with a reason; a 5 MB one refuses the file


def _valid(path: Path, encoding: str, skip: int = 0) -> bool:
    """Does the whole file decode strictly? Streamed, so a 350 MB CSV costs no memory."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with preflight.open_regular(path) as fh:
            fh.seek(skip)
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    decoder.decode(b"", final=True)
                    return True
                decoder.decode(chunk)
    except UnicodeDecodeError:
        return False


# Control characters no text file holds (tab, line breaks, VT, FF and a final Ctrl-Z may appear).
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f]")


def _utf16_without_bom(head: bytes, *, utf8_too: bool = False) -> str | None:
    """Excel's "Unicode text" always has a BOM; without one, guess only from a clear NUL pattern.

    In UTF-16 every ASCII character (commas, line breaks, digits) has a NUL byte on one side
    while a CJK character has none or, rarely (一 is U+4E00), one on the other side: a file of
    Chinese text has few NULs, but nearly all on one side. A UTF-8 file with stray NUL bytes
    has them on both, and binary data decodes to control characters. ``utf8_too``: the file is
    valid UTF-8 as well (UTF-16 Chinese never is, ASCII in UTF-16 always is); then it is taken
    for UTF-16 only if that reading has line breaks and delimiters, which UTF-8 text with
    NUL-terminated records read two bytes at a time does not.
    """
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    for enc, nuls, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls >= 0.05 * half and nuls >= 4 * others:
            text = codecs.getincrementaldecoder(enc)(errors="replace").decode(sample)
            if _CONTROL_RE.search(text):
                continue
            if not utf8_too or (("\n" in text or "\r" in text) and any(d in text for d in ",\t;")):
                return enc
    return None


def detect_encoding(path: Path) -> tuple[str, int]:
    """(codec, bytes of BOM to skip) for a text file, or ReadError when it is none we accept."""
    head = preflight.read_head(path, 65536)
    if head.startswith(codecs.BOM_UTF8):
        if not _valid(path, "utf-8", 3):
            line = preflight.mixed_encoding(path, 3, any_line=True)
            where = f"line {line:,} is not" if line else "it is not"
            raise ReadError(N_("{name} starts with a UTF-8 BOM but {where} valid UTF-8; save it again as CSV UTF-8"), name=path.name, where=where)
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF32_LE) or head.startswith(codecs.BOM_UTF32_BE):
        raise ReadError(N_("{name} is UTF-32 text; save it as CSV UTF-8"), name=path.name)
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        enc = "utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        if not _valid(path, enc, 2):
            raise ReadError(N_("{name} starts with a UTF-16 BOM but is not valid UTF-16; save it again as CSV UTF-8"), name=path.name)
        return enc, 2
    utf8: bool | None = None  # is the whole file valid UTF-8? (streamed: read once at most)
    if b"\x00" in head:
        utf8 = _valid(path, "utf-8")
        enc16 = _utf16_without_bom(head, utf8_too=utf8)
        if enc16 and _valid(path, enc16):
            return enc16, 0
        nuls = head.count(0)
        if nuls > 64 and nuls * 100 > len(head):  # a stray NUL in a cell rejects that row; this many is no CSV
            raise ReadError(N_("{name} is not text we can read: {nuls:,} of its first {head:,} bytes are NUL (a binary file, or UTF-16 without its byte-order mark?); save it as 'CSV UTF-8' or as .xlsx"), name=path.name, nuls=nuls, head=len(head))
    if utf8 if utf8 is not None else _valid(path, "utf-8"):
        return "utf-8", 0
    mixed = preflight.mixed_encoding(path)
    if mixed is not None:
        raise ReadError(N_("{name} mixes encodings: line {mixed:,} is not UTF-8 while other lines are UTF-8 text; save it again as 'CSV UTF-8'"), name=path.name, mixed=mixed)
    if _valid(path, "gb18030"):
        return "gb18030", 0
    raise ReadError(N_("{name} is not text in UTF-8, UTF-16 or GB18030/GBK (is it a spreadsheet or a binary file?); save it as 'CSV UTF-8' or as .xlsx"), name=path.name)


def _delimiter(first_line: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    tabs, commas, semis = first_line.count("\t"), first_line.count(","), first_line.count(";")
    if tabs > commas and tabs >= semis:
        return "\t"
    if semis > 0 and commas == 0:
        return ";"
    return ","


def open_text(path: Path, checked: Callable[[], None] | None = None) -> Table:
    # lines and columns measured on the raw bytes first: nothing is decoded or parsed before
    scan = preflight.scan_text(path)
    if checked:
        checked()
    encoding, skip = detect_encoding(path)
    fh = preflight.open_regular(path)
    fh.seek(skip)
    text = io.TextIOWrapper(fh, encoding=encoding, errors="strict", newline="")
    utf16 = encoding.startswith("utf-16")
    # rows that may run over several lines (quoted line breaks, or lines UTF-16 hid from the byte
    # scan) go through the guard; other files' rows are their lines, measured already
    guard = preflight.RowGuard(text, path.name, measured=not utf16) if scan.quoted or utf16 else None
    lines: Iterator[str] = guard.lines() if guard else iter(text)
    first = next(lines, "")
    hint = first.strip().lower()
    if len(hint) == 5 and hint.startswith("sep="):
        # Excel's "sep=;" first line names the delimiter and is not data
        delimiter = first.strip()[4]
        rest: Iterator[str] = itertools.chain(["\n"], lines)  # an empty row keeps the row numbers
    else:
        rest = itertools.chain([first], lines)
        delimiter = _delimiter(first, path.suffix.lower())
    # In UTF-8 and GB18030 a NUL byte is a NUL character; in UTF-16 every ASCII letter has
    # one, so there each row is checked after decoding.
    has_nul = scan.has_nul or utf16
    # the csv module's limit is per process: set it to ours (a 1 MB cell is then rejected row by row)
    csv.field_size_limit(CSV_FIELD_LIMIT)

    def rows() -> Iterator[Row]:
        reader = csv.reader(rest, delimiter=delimiter)
        try:
            yield from (guard.rows(reader) if guard else reader)
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise ReadError(N_("{name}, line {line_num:,}: a cell longer than {csv_field_limit:,} characters (the limit for one cell); is it really a CSV file?"), name=path.name, line_num=reader.line_num, csv_field_limit=CSV_FIELD_LIMIT) from None
            raise ReadError(N_("{name}, line {line_num}: cannot read CSV ({value})"), name=path.name, line_num=reader.line_num, value=preflight.quote(exc, 80)) from None
        except UnicodeDecodeError as exc:  # validated above; only if the file changed meanwhile
            raise ReadError(N_("{name} is not valid {encoding}: {reason}"), name=path.name, encoding=encoding, reason=exc.reason) from None

    return Table(
        path=path, kind="csv", sheet=None, rows=rows(), encoding=encoding, delimiter=delimiter,
        has_nul=has_nul, from_csv=True, close=text.close,
    )  # fmt: skip
