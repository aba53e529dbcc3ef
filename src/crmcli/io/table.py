"""An opened sheet or text file as rows of cells: what every reader returns (``readers.open_table``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Cell = Any  # str | float | int | bool | date | datetime | time | timedelta
Row = list[Cell]


@dataclass
class Table:
    """An opened sheet: its rows as an iterator, and what the importer needs to know about them."""

    path: Path
    kind: str  # xlsx | xls | ods | csv
    sheet: str | None
    rows: Iterator[Row]
    total_rows: int | None = None  # for the progress bar
    encoding: str | None = None
    delimiter: str | None = None
    col_offset: int = 0  # index of the first column yielded (calamine skips empty leading columns)
    has_nul: bool = False  # the text holds NUL characters somewhere
    from_csv: bool = False  # cells are text, and "'=..." neutralisation is undone
    close: Callable[[], None] = field(default=lambda: None)
    sheets: list[str] = field(default_factory=list)  # a workbook's visible worksheets, in order
