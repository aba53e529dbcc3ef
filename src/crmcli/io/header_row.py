"""Finding the header row of a table (spec §9, §12): the row among the first ``HEADER_SCAN`` with
the most known column names; title rows and merged banners above it are skipped."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.io import columns
from crmcli.io.preflight import ReadError
from crmcli.io.table import Cell, Row, Table

HEADER_SCAN = 30


@dataclass
class Located:
    """A table with its header row found: the header, and the data rows after it."""

    table: Table
    header: columns.Header
    header_row_number: int  # 1-based row number of the header in the file
    data: Iterator[tuple[int, Row]]  # (1-based row number, cells)


def peek(table: Table, n: int = HEADER_SCAN) -> list[Row]:
    """The first ``n`` rows, left in ``table.rows`` to be read again (which table a file is for)."""
    head = list(itertools.islice(table.rows, n))
    table.rows = itertools.chain(head, table.rows)
    return head


def locate_header(table: Table, mapping: dict[str, str], known: dict[str, str] | None = None, *, no_header: bool = False) -> Located:
    """Find the header among the first rows: the row with the most known column names
    (``known``: another kind of row's header table, ``columns.build_table``).

    ``no_header`` (spec §12): the sheet has none; its columns are named by letter (A, B, ...,
    as Excel shows them) for ``--map A=name``, and every row is data.
    """
    head: list[Row] = []
    for row in table.rows:
        head.append(row)
        if len(head) >= HEADER_SCAN:
            break
    if not any(any(_nonblank(c) for c in row) for row in head):
        if head:
            raise ReadError(N_("{name}: no data: the first {head} rows are empty"), name=table.path.name, head=len(head))
        if table.sheet:
            raise ReadError(N_("{name} has no rows (sheet '{sheet}')"), name=table.path.name, sheet=table.sheet)
        raise ReadError(N_("{name} has no rows"), name=table.path.name)
    if no_header:
        width = max((i + 1 for row in head for i, c in enumerate(row) if _nonblank(c)), default=0)
        letters: list[object] = [columns.column_letter(i + table.col_offset) for i in range(width)]
        header = columns.match(letters, mapping, col_offset=table.col_offset, known=known)
        header.unknown = []  # a letter is no column name: the columns not mapped are reported as headerless
        for col in header.columns:
            if col.field is None:
                col.header = f"column {col.header}"
        return Located(table=table, header=header, header_row_number=0, data=zip(itertools.count(1), itertools.chain(head, table.rows)))
    best, best_score = -1, 0
    for i, row in enumerate(head):
        s = columns.score(row, mapping, known)
        if s > best_score:
            best, best_score = i, s
    nonblank_cols = max((sum(1 for c in row if _nonblank(c)) for row in head), default=0)
    if best < 0 or (best_score < 2 and nonblank_cols > 1):
        raise ReadError(N_("{name}: no header row found in the first {head} rows; expected column names such as 客户名称, 联系电话 (or Customer_Name, Phone). {value}"), name=table.path.name, head=len(head), value=_first_row(head, table.col_offset))
    header = columns.match(head[best], mapping, col_offset=table.col_offset, known=known)
    header.row_index = best
    rest = head[best + 1 :]

    # (row number, cells), numbered in C: no Python frame per row on a 100k-row sheet
    data = zip(itertools.count(best + 2), itertools.chain(rest, table.rows))
    return Located(table=table, header=header, header_row_number=best + 1, data=data)


def _first_row(head: list[Row], col_offset: int) -> str:
    """The first row's cells by column letter, and the --map that would name them (spec §12)."""
    row = next(r for r in head if any(_nonblank(c) for c in r))
    cells = [(columns.column_letter(i + col_offset), _shown_cell(c)) for i, c in enumerate(row) if _nonblank(c)]
    shown = ", ".join(f"{letter}={text!r}" for letter, text in cells[:12]) + (", ..." if len(cells) > 12 else "")
    a = cells[0][0]
    b = cells[1][0] if len(cells) > 1 else "B"
    return (
        _("Its first row: {shown}. If that row is a header, name its columns with --map 'HEADER=field'; if the sheet has no header row, name the columns by letter: --no-header --map {a}=name --map {b}=phone").format(shown=shown, a=a, b=b)
    )


def _shown_cell(cell: Cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = " ".join(str(cell).split())
    return text if len(text) <= 24 else text[:24] + "..."


def _nonblank(cell: Cell) -> bool:
    if cell is None:
        return False
    if isinstance(cell, str):
        return bool(cell.strip())
    return True
