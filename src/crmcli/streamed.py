"""Rows written as they come: the piped table and csv/tsv, each column's work decided once.

``crm list`` and the due list write up to a million rows, and everything done per cell is paid
a million times over. So what a column needs -- its labels worked out, its padding, a value
conversion -- is decided once per column, from its key and its first rows, and a row is then a
few lookups and one ``join``: a value the first rows repeat (a stage, an owner, a date) is a
dict lookup of its padded cell; only free text (codes, names, phones) is measured.

The plain definitions stay beside the shortcuts -- ``plain`` for a value in csv/tsv,
``plain_table`` for the piped look of a table -- and ``tests/test_render_rows.py`` holds each
shortcut to them.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, repeat
from operator import floordiv, methodcaller, not_, sub
from typing import Any

from crmcli.widths import ASCII_OR_WIDE, WIDE_ONLY, text_width

# --------------------------------------------------------------------------- values for csv/tsv


def plain(value: object) -> str:
    """A cell value for csv/tsv: ISO dates, '' for None, lists joined with ';'."""
    if value.__class__ is float:  # amounts, the commonest value here: first
        return str(int(value)) if value.is_integer() else str(value)  # type: ignore[attr-defined]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join([v if v.__class__ is str else plain(v) for v in value])
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_AS_IS = frozenset({str, int, type(None)})  # not bool: plain() writes true/false


def write_delimited(rows: Iterable[dict[str, Any]], keys: Sequence[str], fmt: str) -> int:
    """A header and the records, written as they come (flat memory); returns the number of rows."""
    return write_delimited_values((list(map(rec.get, keys)) for rec in rows), keys, fmt)


def write_delimited_values(
    rows: Iterable[Sequence[Any]], keys: Sequence[str], fmt: str, converted: Sequence[int] | None = None
) -> int:
    """A header and the rows (values in ``keys`` order; a list is changed in place), written as
    they come; returns the number of rows.

    ``converted``: the columns whose values may be other than text, whole numbers and None (the
    rest are written as they are: the csv module writes those as ``plain`` would); every column
    when not given.
    """
    out = sys.stdout
    conv = range(len(keys)) if converted is None else converted
    n = 0
    if fmt == "tsv":
        out.write("\t".join(keys) + "\n")
        lines: list[str] = []
        for row in rows:
            cells = [(v if v.__class__ is str else plain(v)).replace("\t", " ").replace("\r", " ").replace("\n", " ") for v in row]
            lines.append("\t".join(cells) + "\n")
            n += 1
            if len(lines) >= 1000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
        return n
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys)
    write = writer.writerow
    for row in rows:
        if conv and row.__class__ is not list:
            row = list(row)
        for i in conv:
            v = row[i]
            if v.__class__ not in _AS_IS:
                row[i] = plain(v)  # type: ignore[index]
        write(row)
        n += 1
        if n % 1000 == 0:
            out.write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    out.write(buf.getvalue())
    return n


# --------------------------------------------------------------------------- the piped table


def plain_widths(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width: its widest header or cell, in display columns (a line break in a
    cell is a space, as wide as it). A column at a time: a column of ASCII is measured by length."""
    widths = [text_width(h) for h in header]
    if len({len(row) for row in rows}) > 1:  # rows of unequal length: each cell of each
        rows = [[*row, *[""] * (len(widths) - len(row))] for row in rows]
    for i, column in enumerate(zip(*rows, strict=True)):
        joined = "".join(column)
        if "\r" in joined or "\n" in joined:
            column = tuple(c.replace("\r", " ").replace("\n", " ") for c in column)
        widest = max(map(len if joined.isascii() else text_width, column))
        if widest > widths[i]:
            widths[i] = widest
    return widths


def _pad(value: str, width: int, right: bool) -> str:
    """``value`` padded to ``width`` display columns (by characters: a wide character's second
    column is taken off the width)."""
    n = width if value.isascii() else width - text_width(value) + len(value)
    return value.rjust(n) if right else value.ljust(n)


def _repeats(values: set[str], rows: int) -> bool:
    """Whether a column's first ``rows`` rows, holding these ``values``, repeat them (a label, an
    owner, a date, a plan): then a cell is worth remembering."""
    return len(values) <= max(rows // 2, 16)


def padded_repeats(rows: Sequence[Sequence[str]], right: Sequence[bool], widths: Sequence[int]) -> list[dict[str, str] | None]:
    """Per column, its cells padded once, for a column whose first rows repeat a few values (a
    label, an owner, a date): what a long table's later rows look up instead of measuring."""
    out: list[dict[str, str] | None] = []
    for i, (r, w) in enumerate(zip(right, widths, strict=True)):
        seen = {row[i] for row in rows}
        out.append({v: _pad(v, w, r) for v in seen} if _repeats(seen, len(rows)) else None)
    return out


def plain_table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], right: Sequence[bool], widths: Sequence[int] | None = None,
    repeats: Sequence[dict[str, str] | None] | None = None,
) -> str:
    """The piped look of our Rich tables (header, heavy rule, rows), built in linear time.

    Cells are one line (line breaks become spaces); nothing is cut; no trailing blanks.
    ``widths`` (from the first rows of a long table): a wider cell later on widens its own line.
    Without ``header``: more rows of a table already begun. ``repeats``: ``padded_repeats`` of
    the first rows, for the same widths.
    """
    if widths is None:
        widths = plain_widths(header or [], rows)
    columns = list(zip([str.rjust if r else str.ljust for r in right], widths, repeats or [None] * len(widths), strict=False))

    def line(values: Sequence[str]) -> str:
        # padded by characters: a wide character's second column is taken off the width
        text = "   ".join(
            [  # _pad, written out: this runs for every cell of a long table
                (known.get(v) if known else None) or just(v, w if v.isascii() else w - text_width(v) + len(v))
                for (just, w, known), v in zip(columns, values, strict=False)
            ]
        )
        # a line break is a space, as wide as it (cells are one line)
        return (" " + text.replace("\r", " ").replace("\n", " ")).rstrip()

    out = [] if header is None else [line(header), "━" * (sum(widths) + 3 * (len(widths) - 1) + 2)]
    out.extend(map(line, rows))
    return "\n".join(out) + "\n" if out else ""


class _Padded(dict[Any, str]):
    """Value -> its padded cell, worked out on first sight (a lookup in C after that). Only text
    and None are kept: 1, 1.0 and True are one key to a dict but read differently."""

    def __init__(self, cell: Callable[[Any], str]) -> None:
        super().__init__()
        self.cell = cell

    def __missing__(self, value: Any) -> str:
        text = self.cell(value)
        if (value is None or value.__class__ is str) and len(self) < 10_000:  # a long table's values: the first 10,000
            self[value] = text
        return text


class PaddedColumns:
    """A long table's rows as ``plain_table`` writes their cells, worked out a chunk at a time
    and column by column, in C where the column allows it: a column of a few repeated values is a
    lookup of each padded cell; a column of text that is ASCII or of wide characters is padded
    from its lengths (``widths.text_width``'s rule); only other columns take a call a cell.

    ``shown``: each column's displayer; ``as_text``: whether it shows text as itself and a
    whole number as its digits; ``first`` and ``first_cells``: the first rows' values and cells,
    which tell the columns of repeated values.
    """

    def __init__(
        self, shown: Sequence[Callable[[Any], str]], as_text: Sequence[bool], right: Sequence[bool], widths: Sequence[int],
        first: Sequence[Sequence[Any]], first_cells: Sequence[Sequence[str]],
    ) -> None:  # fmt: skip
        import re

        self.ascii_or_wide = re.compile(ASCII_OR_WIDE).fullmatch
        self.wide_only = re.compile(WIDE_ONLY).fullmatch
        self.columns: list[tuple[Callable[[Any], str], tuple[Any, str, int] | None]] = []
        # the last column, left-aligned, is not padded: a line's trailing blanks come off anyway,
        # and a line that has none is not copied again to take them off
        widths = [*widths[:-1], 0] if widths and not right[-1] else widths
        for i, (show, itself, r, w) in enumerate(zip(shown, as_text, right, widths, strict=True)):
            just = str.rjust if r else str.ljust

            def cell(value: Any, show: Callable[[Any], str] = show, just: Any = just, w: int = w) -> str:
                text = show(value)
                return just(text, w if text.isascii() else w - text_width(text) + len(text))

            repeats = all(row[i] is None or row[i].__class__ is str for row in first) and _repeats({c[i] for c in first_cells}, len(first))
            # (a cell's function, and for a column of text: its justification, the text None shows as, its width)
            self.columns.append((_Padded(cell).__getitem__, None) if repeats or not itself else (cell, (just, show(None), w)))

    def lines(self, rows: Sequence[Sequence[Any]]) -> str:
        """The lines of ``rows`` (values), each ending in a line break."""
        if not rows:
            return ""
        cells: list[Iterable[str]] = []
        for (cell, as_text), values in zip(self.columns, zip(*rows, strict=True), strict=True):
            cells.append(map(cell, values) if as_text is None else self._text(values, cell, *as_text))
        cells[0] = map(" ".__add__, cells[0])
        lines = list(map("   ".join, zip(*cells, strict=True)))
        text = "\n".join(map(str.rstrip, lines))
        if text.count("\n") != len(rows) - 1 or "\r" in text:
            # a line break in a cell is a space, as wide as it (cells are one line)
            text = "\n".join(map(str.rstrip, map(_NO_LF, map(_NO_CR, lines))))
        return text + "\n"

    def _text(self, values: Sequence[Any], cell: Callable[[Any], str], just: Any, none: str, w: int) -> Iterable[str]:
        kinds = set(map(type, values))
        if not kinds <= _TEXT_OR_WHOLE:
            return map(cell, values)
        if kinds != _TEXT:
            values = [v if v.__class__ is str else none if v is None else str(v) for v in values]
        joined = "".join(values)
        if joined.isascii():
            return map(just, values, repeat(w))
        if self.wide_only(joined):  # every character two columns wide (people's names)
            return map(just, values, map(sub, repeat(w), map(len, values)))
        plain = list(map(str.isascii, values))
        if plain.count(False) * 4 <= len(values):
            # mostly ASCII (phones, a few of which say 转 and an extension): every cell padded as
            # ASCII at once, then the few others each measured
            out = list(map(just, values, repeat(w)))
            for i in compress(range(len(out)), map(not_, plain)):
                out[i] = cell(values[i])
            return out
        if self.ascii_or_wide(joined):  # a wide character takes 3 bytes of UTF-8 and 2 columns
            wide = map(floordiv, map(sub, map(len, map(str.encode, values)), map(len, values)), repeat(2))
            return map(just, values, map(sub, repeat(w), wide))
        return map(cell, values)


_TEXT = frozenset({str})
_TEXT_OR_WHOLE = frozenset({str, int, type(None)})
_NO_CR = methodcaller("replace", "\r", " ")
_NO_LF = methodcaller("replace", "\n", " ")


def chunks(it: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """``it`` in lists of ``size``."""
    from itertools import islice

    while chunk := list(islice(it, size)):
        yield chunk
