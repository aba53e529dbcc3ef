"""Cheap checks before calamine or the csv module see a file (spec §9, §10).

A hostile file costs a reader what it declares, not what it weighs: python-calamine allocates a
sheet's whole used range (one cell at XFD1048576 asks for 512 GB and aborts the process), the
csv module holds a whole line (a 2 GB line took 4.3 GB), and reading /dev/zero or a FIFO never
ends. So before a reader starts, this module looks at the file with bounded memory and refuses,
with one line naming the file, the place and the limit, anything past these limits:

* ``FILE`` must be a regular file: a directory, a device (/dev/zero), a FIFO or a socket is
  named as such. The check is made on the open descriptor (opened with O_NONBLOCK, so a FIFO
  without a writer cannot block it).
* Text files are scanned as raw bytes, 16 KiB at a time, before they are decoded: a line longer
  than ``MAX_LINE_BYTES`` (8 MiB; the longest real row, 16 cells of 32,767 Chinese characters,
  is 1.5 MB) or with ``MAX_COLUMNS`` separators or more (16,384 columns is Excel's limit) is
  refused; the row reader then enforces the same limits on what the csv module receives
  (a quoted cell can hold line breaks, and UTF-16 can hide them) and ``MAX_CELL_CHARS`` per cell.
* A file that is neither UTF-8 nor anything else, but holds lines of UTF-8 Chinese text and
  lines that are not UTF-8, mixes encodings: GB18030 would read every byte of it, and import
  mojibake. It is refused, naming its first line that is not UTF-8 (see ``mixed_encoding``).

Workbooks are checked by ``zip_parts``, ``sheet_area``, ``ods_area`` and ``binary_area`` (zip
bombs, the cells calamine would allocate, shared strings).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from crmcli.errors import CrmError
from crmcli.i18n import N_, Text

MAX_LINE_BYTES = 8 * 1024 * 1024  # one line (or one CSV row, in characters) of a text file
MAX_COLUMNS = 16_384  # Excel's widest sheet, XFD
MAX_CELL_CHARS = 4 * 1024 * 1024  # one CSV cell; cells past 32,767 are rejected row by row below this

_BLOCK = 8 * 1024  # a line with MAX_COLUMNS separators (16 KiB or more) covers one such block
_SEPARATORS = (b",", b"\t", b";")


class ReadError(CrmError):
    """The file cannot be read as a spreadsheet (exit 1, nothing written)."""


def quote(text: object, limit: int = 40) -> str:
    """A value for an error message: never the whole of a hostile cell."""
    s = str(text)
    return repr(s if len(s) <= limit else s[:limit] + "…")


# --------------------------------------------------------------------------- regular files

_NOT_REGULAR = (
    (stat.S_ISDIR, Text(N_("a directory"))),
    (stat.S_ISCHR, Text(N_("a character device"))),
    (stat.S_ISBLK, Text(N_("a block device"))),
    (stat.S_ISFIFO, Text(N_("a FIFO (named pipe)"))),
    (stat.S_ISSOCK, Text(N_("a socket"))),
)


def _kind(mode: int) -> Text:
    for test, what in _NOT_REGULAR:
        if test(mode):
            return what
    return Text(N_("not a regular file"))


def _not_regular(path: Path, mode: int) -> ReadError:
    what = _kind(mode)
    if what is _NOT_REGULAR[0][1]:  # a directory
        return ReadError(N_("{path} is a directory, not a file"), path=path)
    return ReadError(N_("{path} is {what}, not a regular file; crm import reads files only (save the data to a file first)"), path=path, what=what)


def open_regular(path: Path) -> IO[bytes]:
    """``path`` opened for binary reading, or ReadError when it is not a regular file.

    Opened with O_NONBLOCK, so that a FIFO without a writer does not block the open, and then
    checked with fstat on the descriptor itself (not on the name, which may change meanwhile).
    """
    try:
        st = os.stat(path)  # a socket cannot be opened at all: name it before trying
    except FileNotFoundError:
        raise ReadError(N_("{path}: no such file"), path=path) from None
    except OSError as exc:
        raise ReadError(N_("cannot read {path}: {strerror}"), path=path, strerror=exc.strerror) from None
    if stat.S_ISSOCK(st.st_mode):
        raise _not_regular(path, st.st_mode)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ReadError(N_("{path}: no such file"), path=path) from None
    except OSError as exc:
        raise ReadError(N_("cannot read {path}: {strerror}"), path=path, strerror=exc.strerror) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_head(path: Path, n: int = 8192) -> bytes:
    """The first ``n`` bytes; ReadError for a missing file, a directory, a device, a FIFO or a socket."""
    try:
        with open_regular(path) as fh:
            return fh.read(n)
    except OSError as exc:
        raise ReadError(N_("cannot read {path}: {strerror}"), path=path, strerror=exc.strerror) from None


# --------------------------------------------------------------------------- text files


def _line_number(path: Path, offset: int) -> int:
    """1-based number of the line that starts at byte ``offset`` (counted again only to say so)."""
    lines = 1
    with open_regular(path) as fh:
        left = offset
        prev_cr = False
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
            lines += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            if prev_cr and chunk.startswith(b"\n"):
                lines -= 1
            prev_cr = chunk.endswith(b"\r")
    return lines


def _refuse_line(path: Path, start: int, length: int, seps: list[int]) -> None:
    if length > MAX_LINE_BYTES:
        raise ReadError(N_("{name}, line {value:,}: longer than {value2} MiB without a line break (the limit for one line); is it really a CSV file?"), name=path.name, value=_line_number(path, start), value2=MAX_LINE_BYTES // (1 << 20))
    if max(seps) >= MAX_COLUMNS:
        raise ReadError(N_("{name}, line {value:,}: more than {max_columns:,} columns (Excel's limit); is it really a CSV file?"), name=path.name, value=_line_number(path, start), max_columns=MAX_COLUMNS)


def _last_break(buf: bytes, lo: int, hi: int) -> int:
    return max(buf.rfind(b"\n", lo, hi), buf.rfind(b"\r", lo, hi))


def _after(buf: bytes, e: int) -> int:
    """Where the next line starts, after the line break at ``e``."""
    return e + 2 if buf[e : e + 2] == b"\r\n" else e + 1


def _first_break(buf: bytes, lo: int) -> int:
    n, r = buf.find(b"\n", lo), buf.find(b"\r", lo)
    return n if r < 0 else r if n < 0 else min(n, r)


def _count(buf: bytes, lo: int, hi: int) -> list[int]:
    return [buf.count(sep, lo, hi) for sep in _SEPARATORS]


@dataclass
class TextScan:
    has_nul: bool  # a NUL byte somewhere
    quoted: bool  # a double quote somewhere: a quoted cell may hold line breaks


def scan_text(path: Path) -> TextScan:
    """Refuse a text file with a line past MAX_LINE_BYTES or MAX_COLUMNS; say whether it holds
    a NUL byte or a quote.

    One pass over the raw bytes, 1 MiB at a time, before anything is decoded, stopping at the
    first bad line. A line of 16 KiB or more covers a whole aligned 8 KiB block with no line
    break in it; only such lines are measured and their separators counted, so a normal file
    costs one short ``rfind`` per 8 KiB. A "line" ends at LF, CR or CRLF; separators are commas,
    tabs and semicolons (quoted ones count too). In UTF-16 these are bytes: a conservative count.
    """
    has_nul = quoted = False
    base = 0  # file offset of buf[0]
    start = 0  # file offset where the current line began
    prior = [0, 0, 0]  # separators of the current line before buf
    with open_regular(path) as fh:
        while buf := fh.read(1 << 20):
            n = len(buf)
            if not has_nul and b"\x00" in buf:
                has_nul = True
            if not quoted and b'"' in buf:
                quoted = True
            # the line running into this buffer
            e = _first_break(buf, 0)
            end = n if e < 0 else e
            length = base + end - start
            seps = [a + b for a, b in zip(prior, _count(buf, 0, end), strict=True)] if length >= MAX_COLUMNS else prior
            _refuse_line(path, start, length, seps)
            if e < 0:
                prior = (
                    seps if length >= MAX_COLUMNS else [a + b for a, b in zip(prior, _count(buf, 0, n), strict=True)]
                )
                base += n
                continue
            k = _after(buf, e)
            start = base + k
            while k + _BLOCK <= n:
                r = _last_break(buf, k, k + _BLOCK)
                if r >= 0:
                    start, k = base + r + 1, k + _BLOCK
                    continue
                # a whole block without a line break: follow this line to its end
                e = _first_break(buf, k + _BLOCK)
                end = n if e < 0 else e
                _refuse_line(path, start, base + end - start, _count(buf, start - base, end))
                if e < 0:
                    k = n
                    break
                k = _after(buf, e)
                start = base + k
            r = _last_break(buf, k, n)
            if r >= 0:
                start = base + r + 1
            prior = _count(buf, start - base, n)
            base += n
    return TextScan(has_nul, quoted)


class RowGuard:
    """What the csv module may hold for one row: MAX_LINE_BYTES characters and MAX_COLUMNS cells.

    ``scan_text`` has measured the raw lines; a quoted cell can still hold line breaks (one
    row over many lines), and UTF-16 can hide them from a byte scan. So, in such files, the
    lines handed to the csv module are counted until the row they belong to is complete (read
    with a bounded ``readline`` when the byte scan could not measure them), and a row past
    either limit is refused before it is built. A file without quotes, not UTF-16, needs none
    of this: each of its rows is one of the lines already measured.
    """

    def __init__(self, text: IO[str], name: str, measured: bool) -> None:
        self.text, self.name, self.measured = text, name, measured
        self.pending = 0  # characters read for the row being parsed
        self.line = 0  # physical lines read

    def lines(self) -> Iterator[str]:
        if self.measured:  # no line is longer than MAX_LINE_BYTES: read them the fast way
            source: Iterator[str] = iter(self.text)
        else:
            readline = self.text.readline
            source = iter(lambda: readline(MAX_LINE_BYTES + 1), "")
        for line in source:
            self.line += 1
            self.pending += len(line)
            if self.pending > MAX_LINE_BYTES:
                raise ReadError(N_("{name}, line {line:,}: a row longer than {value} MiB (the limit for one row); is it really a CSV file?"), name=self.name, line=self.line, value=MAX_LINE_BYTES // (1 << 20))
            yield line

    def rows(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise ReadError(N_("{name}, line {line:,}: a row of more than {max_columns:,} columns (Excel's limit)"), name=self.name, line=self.line, max_columns=MAX_COLUMNS)
            self.pending = 0
            yield row


# --------------------------------------------------------------------------- mixed encodings

# Two CJK ideographs (U+4E00-U+9FFF, three bytes each in UTF-8) in one line of valid UTF-8:
# Chinese text written as UTF-8. GBK bytes read as UTF-8 almost never make a whole line valid
# with two of them in it (a lone one can happen by chance).
_HANZI = rb"(?:\xe4[\xb8-\xbf][\x80-\xbf]|[\xe5-\xe9][\x80-\xbf][\x80-\xbf])"
_HANZI2 = re.compile(_HANZI + rb"[^\n\r]*?" + _HANZI)


def _breaks(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _utf8(data: bytes) -> int:
    """-1 when ``data`` is valid UTF-8, else the offset of its first invalid byte."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def mixed_encoding(path: Path, skip: int = 0, any_line: bool = False) -> int | None:
    """For a file that is not valid UTF-8: the 1-based number of its first line that is not,
    when other lines are UTF-8 Chinese text (the file mixes encodings); None otherwise.
    ``any_line``: that first line whatever the others hold (a file that says it is UTF-8).

    Streamed 1 MiB at a time, cut at line breaks (a line is at most MAX_LINE_BYTES, see
    ``scan_text``), with constant memory. Where a chunk is valid UTF-8 it is searched for
    Chinese at once; a chunk that is not is looked at line by line. A file that is GBK
    throughout has no valid line with two hanzi in it, and still reads as GB18030.
    """
    first_bad: int | None = None
    chinese = False
    lines_before = 0
    carry = b""
    with open_regular(path) as fh:
        fh.seek(skip)
        while True:
            chunk = fh.read(1 << 20)
            data = carry + chunk
            if chunk:  # up to the last line break (a final CR waits: its LF may come next)
                cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1))
                done, carry = data[: cut + 1], data[cut + 1 :]
            else:
                done, carry = data, b""
            bad = _utf8(done)
            if bad < 0:
                chinese = chinese or _HANZI2.search(done) is not None
            else:
                line_start = max(done.rfind(b"\n", 0, bad), done.rfind(b"\r", 0, bad)) + 1
                if first_bad is None:
                    first_bad = lines_before + _breaks(done[:line_start]) + 1
                chinese = chinese or _HANZI2.search(done, 0, line_start) is not None
                if not chinese:
                    for line in done[line_start:].splitlines():
                        if line.isascii() or _utf8(line) >= 0:
                            continue
                        if _HANZI2.search(line):
                            chinese = True
                            break
            if first_bad is not None and (chinese or any_line):
                return first_bad
            if not chunk:
                return None
            lines_before += _breaks(done)
