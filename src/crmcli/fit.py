"""Tables on narrow terminals (spec §7): no code, date, phone or amount is ever split.

A table that does not fit the terminal at its natural width is fitted here, as plain text:

1. prose columns (names, plans, notes) fold onto several lines, down to a floor;
2. when that is still too wide, the least important columns are left out, lowest priority
   first, and a last line names them;
3. when even the essential columns do not fit, every row becomes a record: one
   ``label  value`` line per field, a blank line between records.

Codes, dates, phones, amounts, labels and headers are atoms: never folded, never cut.
Chinese characters count as two columns (``render.text_width``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ESSENTIAL = 90  # columns of this priority or more are never left out (a code, a name)
FOLD_FLOOR = 12  # a prose column is not folded narrower than this (or its header)
EDGE, GAP = 1, 3  # the plain table's look: one space before, three between columns


@dataclass
class Column:
    header: str
    right: bool = False  # numbers
    folds: bool = False  # prose: may take several lines
    priority: int = 50  # lower is left out first


@dataclass
class Layout:
    kept: list[int]
    widths: list[int]  # of the kept columns
    dropped: list[int] = field(default_factory=list)
    records: bool = False  # rows as records: nothing fits side by side


def _width(text: str) -> int:
    from crmcli.widths import text_width

    return text_width(text)


def natural(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [_width(c.header) for c in columns]
    for row in rows:
        for i, cell in enumerate(row):
            w = _width(cell)
            if w > widths[i]:
                widths[i] = w
    return widths


def total(widths: Sequence[int]) -> int:
    return EDGE + sum(widths) + GAP * max(len(widths) - 1, 0)


def layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> Layout:
    """Which columns to show at which widths within ``width`` columns, or records."""
    full = natural(columns, rows)
    if total(full) <= width:
        return Layout(kept=list(range(len(columns))), widths=full)
    floor = [
        max(_width(c.header), min(full[i], FOLD_FLOOR)) if c.folds else full[i] for i, c in enumerate(columns)
    ]
    kept = list(range(len(columns)))
    dropped: list[int] = []
    # least important first; of equal importance, the rightmost first
    order = sorted((i for i, c in enumerate(columns) if c.priority < ESSENTIAL), key=lambda i: (columns[i].priority, -i))
    while total([floor[i] for i in kept]) > width and order:
        gone = order.pop(0)
        kept.remove(gone)
        dropped.append(gone)
    if total([floor[i] for i in kept]) > width or len(dropped) > len(columns) // 2:
        # a table of a few columns out of many says less than the rows as records
        return Layout(kept=list(range(len(columns))), widths=full, records=True)
    widths = [floor[i] for i in kept]
    spare = width - total(widths)
    for n, i in enumerate(kept):  # give the room left to the folded columns, left to right
        if spare <= 0:
            break
        grow = min(full[i] - widths[n], spare)
        widths[n] += grow
        spare -= grow
    return Layout(kept=kept, widths=widths, dropped=dropped)


def fold(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns, cut between characters (CJK has no spaces)."""
    if _width(text) <= width:
        return [text]
    lines, line, used = [], "", 0
    for ch in text:
        w = _width(ch)
        if used + w > width and line:
            lines.append(line)
            line, used = "", 0
        line += ch
        used += w
    if line:
        lines.append(line)
    return lines


def words(text: str, width: int, indent: str = "") -> list[str]:
    """A line of words (history, headlines, notes) wrapped at spaces to ``width`` columns, its own
    spacing kept: a word (a code, a date, an amount) is never split; one longer than the line
    stands alone on its line."""
    if _width(text) <= width:
        return [text]
    import re

    lead = text[: len(text) - len(text.lstrip(" "))]
    lines: list[str] = []
    line = lead
    for piece in re.findall(r"\S+\s*", text[len(lead):]):
        word = piece.rstrip()
        if line.strip() and _width(line.rstrip() + " " + word) > width and _width(line + word) > width:
            lines.append(line.rstrip())
            line = indent + lead + piece
        else:
            line += piece
    lines.append(line.rstrip())
    return lines


def _pad(text: str, width: int, right: bool) -> str:
    pad = " " * max(width - _width(text), 0)
    return pad + text if right else text + pad


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], lay: Layout, *, header: bool = True) -> str:
    """The rows in ``lay`` (not records), as plain text lines; with ``header``, the header and its rule."""
    cols = [columns[i] for i in lay.kept]
    out: list[str] = []

    def emit(cells: Sequence[str]) -> None:
        parts = [fold(c, w) if col.folds else [c] for c, w, col in zip(cells, lay.widths, cols, strict=True)]
        for k in range(max(len(p) for p in parts)):
            line = "   ".join(
                _pad(p[k] if k < len(p) else "", w, col.right) for p, w, col in zip(parts, lay.widths, cols, strict=True)
            )
            out.append((" " + line).rstrip())

    if header:
        emit([c.header for c in cols])
        out.append("━" * total(lay.widths))
    for row in rows:
        emit([row[i] for i in lay.kept])
    return "\n".join(out) + "\n" if out else ""


def records(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, *, first: bool = True) -> str:
    """Each row as ``label  value`` lines; prose values fold under themselves, atoms stay whole."""
    label_w = max((_width(c.header) for c in columns), default=0)
    room = max(width - label_w - 2, FOLD_FLOOR)
    out: list[str] = []
    for n, row in enumerate(rows):
        if n or not first:
            out.append("")
        for col, cell in zip(columns, row, strict=True):
            if not cell:
                continue
            lines = fold(cell, room) if col.folds else [cell]
            out.append(_pad(col.header, label_w, False) + "  " + lines[0])
            out.extend(" " * (label_w + 2) + more for more in lines[1:])
    return "\n".join(out) + "\n" if out else ""


def note(columns: Sequence[Column], lay: Layout, lang: str, width: int) -> str:
    """The lines that name the columns left out, or ''."""
    if not lay.dropped:
        return ""
    names = ", ".join(columns[i].header for i in sorted(lay.dropped) if columns[i].header)
    if not names:  # only the bars
        return ""
    from crmcli.i18n import gettext as _

    text = _("left out, the terminal being too narrow: {names} (widen it, or use --format csv)", lang).format(names=names)
    return "\n".join(words(text, width - 1)) + "\n"
