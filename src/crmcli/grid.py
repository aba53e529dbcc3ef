"""Cards and tables of text (``crm show``'s card and timeline, ``deal show``, the reports): drawn by
Rich on a terminal, and written as plain lines when piped.

Piped, Rich drew these with nothing to fit and no escapes to emit, yet importing it and laying out
a 160-row timeline was ~40 ms of a ~130 ms ``crm show``. ``lines`` writes what Rich wrote: cells
padded to their column's width (CJK counting double), one space before the first column and
three between (two on a card, which has no header), a heavy rule under the header, a cell of
several lines taking as many lines, no trailing blanks. A test compares the two on generated
tables. Cells are text, never Rich markup: a follow-up reading ``[urgent] :phone:`` is shown as
written, on a terminal too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# What Rich's Text leaves out of a string: bell, backspace, vertical tab, form feed, carriage return.
_DROP = dict.fromkeys((7, 8, 11, 12, 13))


@dataclass
class Grid:
    """Rows of text cells; ``header`` None is a card (label, value), a header makes a table."""

    rows: Sequence[Sequence[str]]
    header: Sequence[str] | None = None
    right: Sequence[bool] = ()  # right-aligned columns (numbers)
    title: str | None = None
    folds: Sequence[bool] = ()  # on a terminal: columns that may fold onto several lines
    wraps: Sequence[bool] = ()  # on a terminal: columns that may wrap (the others never do)
    rich_defaults: bool = False  # on a terminal: Rich's default column options, as the timeline has always had
    _right: list[bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.header) if self.header is not None else max((len(r) for r in self.rows), default=0)
        self._right = [bool(x) for x in self.right] + [False] * (n - len(self.right))


def cell_lines(text: str) -> list[str]:
    """A cell as Rich shows it: the characters it drops dropped, tabs expanded, one item a line."""
    if text.isprintable():
        return [text]
    return [line.expandtabs(8) for line in text.translate(_DROP).split("\n")]


def lines(grid: Grid) -> list[str]:
    """The grid as Rich draws it piped (see the module's docstring)."""
    from crmcli.widths import text_width

    table = grid.header is not None
    body = [[cell_lines(c) for c in row] for row in grid.rows]
    head = [cell_lines(h) for h in grid.header] if grid.header is not None else None
    n = len(grid._right)
    widths = [0] * n
    for row in [head, *body] if head is not None else body:
        for i, cell in enumerate(row):
            for line in cell:
                w = text_width(line)
                if w > widths[i]:
                    widths[i] = w
    gap = "   " if table else "  "
    right = grid._right

    def draw(row: Sequence[list[str]]) -> list[str]:
        out = []
        for k in range(max((len(c) for c in row), default=1)):
            parts = []
            for i, cell in enumerate(row):
                text = cell[k] if k < len(cell) else ""
                if right[i]:
                    text = text.rstrip()  # Rich trims a right-aligned line's end
                    parts.append(" " * (widths[i] - text_width(text)) + text)
                else:
                    parts.append(text + " " * (widths[i] - text_width(text)))
            out.append((" " + gap.join(parts)).rstrip())
        return out

    out = [grid.title] if grid.title else []
    if head is not None:
        out += draw(head)
        out.append("━" * (sum(widths) + 3 * (n - 1) + 2))
    for row in body:
        out += draw(row)
    return out


def to_rich(grid: Grid) -> Any:
    """The Rich table of ``grid``, for a terminal."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if grid.header is None:
        table = Table(box=None, show_header=False, padding=(0, 1))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
    else:
        table = Table(title=grid.title, box=box.SIMPLE_HEAVY, header_style="bold", show_edge=False)
        for i, head in enumerate(grid.header):
            if grid.rich_defaults:
                table.add_column(head, overflow="fold" if i < len(grid.folds) and grid.folds[i] else "ellipsis")
                continue
            table.add_column(
                head,
                justify="right" if grid._right[i] else "left",
                overflow="fold",
                no_wrap=not (i < len(grid.wraps) and grid.wraps[i]),
            )
    for row in grid.rows:
        table.add_row(*(Text(c) for c in row))
    return table


class Bold(str):
    """A line of text shown in bold on a terminal (a report's headline)."""


def show(*parts: Grid | str) -> None:
    """Print grids and lines of text (a headline, a blank line between a card and its timeline)."""
    from crmcli import render

    if render.terminal_width() is not None:
        from rich.text import Text

        render.emit(
            *(
                to_rich(p) if isinstance(p, Grid) else Text(p, style="bold" if isinstance(p, Bold) else "", no_wrap=True)
                for p in parts
            )
        )
        return
    out: list[str] = []
    for p in parts:
        out += lines(p) if isinstance(p, Grid) else [line.rstrip() for line in p.split("\n")]
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    sys.stdout.write("\n".join(out) + "\n" if out else "")
