"""The rejects file: the rows an import refused, as the original header and cells plus a reason
column, ready to fix and import again (spec §9).

It is written beside its final place while the import runs, synced before the import commits
(a disk too full for it fails the import) and renamed into place after; an existing file is
replaced only when it is itself a rejects file.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_
from crmcli.io import columns
from crmcli.services.importer.cells import _cell_text, _unquote

if TYPE_CHECKING:
    from crmcli.io import readers

REASON_HEADERS = ("reject_reason", "拒绝原因")


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


class _Rejects:
    """The rejects CSV: the original header + reject_reason, one line per rejected row."""

    def __init__(self, target: Path, header_cells: list[Any], reason_header: str, *, from_csv: bool = False) -> None:
        self.target = target
        # A CSV cell was read with the export's "'" still on it ("'=1+1"): the rejects file
        # neutralises what import reads (=1+1) again, so a "'" is never added twice.
        self.from_csv = from_csv
        self.header = [_cell_text(c) for c in header_cells]
        # A rejects file imported again without fixing every row: its reason column takes the
        # new reasons, instead of a second reason column after it.
        known = {columns.norm_header(h) for h in REASON_HEADERS}
        self.reason_at = next((i for i, h in enumerate(self.header) if columns.norm_header(h) in known), None)
        self.width = len(self.header)
        if self.reason_at is None:
            self.header.append(reason_header)
        self.pending: Any = None  # a safe_files.PendingFile once there is a row to write
        self.fh: Any = None
        self.writer: Any = None
        self.count = 0

    def add(self, row: list[Any], reason: str) -> None:
        if self.fh is None:
            from crmcli import safe_files

            self.pending = safe_files.PendingFile(self.target, check=_rejects_file_only)
            self.fh = open(self.pending.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by sync()/discard()
            self.writer = csv.writer(self.fh)
            self.writer.writerow(self.header)
        width = self.width
        if self.from_csv:
            row = [_unquote(c) if type(c) is str else c for c in row]
        cells = [_cell_text(c) for c in row[:width]]
        cells += [""] * (width - len(cells))
        extra = [_cell_text(c) for c in row[width:] if not (c == "" or c is None)]
        if extra:  # keep the reason in its column: cells past the header go into the reason text
            reason += " [beyond the header: " + " | ".join(extra) + "]"
        if self.reason_at is None:
            cells.append(reason)
        else:
            cells[self.reason_at] = reason
        # A NUL breaks most CSV readers (Excel included): show it as the visible ␀ instead.
        self.writer.writerow([c.replace("\x00", "\u2400") for c in cells])
        self.count += 1

    def sync(self) -> None:
        """Write the rows out and make them durable, before the import commits.

        A full disk fails here, while the import can still be rolled back: the import and its
        rejects file land together or not at all.
        """
        if self.fh is None:
            return
        try:
            self.fh.close()
        except OSError as exc:
            self.discard()
            from crmcli import safe_files

            raise (safe_files.disk_full_error(self.target) if safe_files.is_disk_full(exc) else exc) from None
        self.pending.sync()

    def finish(self) -> str | None:
        """Rename the synced file into place (after the commit); its path, or None without rejects."""
        if self.pending is None:
            return None
        self.sync()
        self.pending.commit()
        return str(self.target)

    def discard(self) -> None:
        if self.fh is not None:
            try:
                self.fh.close()
            except OSError:
                pass  # a full disk: the file goes anyway
        if self.pending is not None:
            self.pending.abort()
        self.fh = self.pending = None
        self.count = 0


def _header_cells(located: readers.Located) -> list[Any]:
    """The header row as the rejects file repeats it (a column the file left unnamed stays empty)."""
    h = located.header
    cells: list[Any] = [""] * h.width
    if located.header_row_number == 0:  # --no-header: the mapped columns by their fields' names, so it imports without
        from crmcli.io.columns import ALIASES

        for col in h.columns:
            cells[col.index] = ALIASES[col.field][0] if col.field in ALIASES else ""
        return cells
    for col in h.columns:
        cells[col.index] = "" if col.header.startswith("column ") and col.field is None and col.header not in h.unknown else col.header
    return cells


def _rejects_file_only(target: Path) -> str | None:
    """A check for ``safe_files``: an existing file is replaced only if it is a rejects file."""
    try:
        with target.open("rb") as fh:
            first = fh.read(65536).split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    except (OSError, UnicodeDecodeError):
        first = ""
    if not first and target.stat().st_size == 0:
        return None
    last = next(csv.reader([first]), [""])[-1:] if first else []
    if not last or last[0].strip() not in REASON_HEADERS:
        return f"{{rejects}} {target}: the file exists and is not a rejects file; refusing to overwrite it"
    return None


def check_rejects_target(target: Path, source: Path, database: str | None) -> None:
    """Refuse a rejects path that would destroy something: the input, the database, another file.

    An existing file is replaced only when it is itself a rejects file (its header ends with
    the reason column), so a second run of the same import refreshes it.
    """
    resolved = target.expanduser().resolve()
    if resolved == source.resolve():
        raise UsageError(N_("{rejects} {target}: that is the file being imported"), options=["rejects"], target=target)
    if database:
        db_path = Path(database).resolve()
        if resolved in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), Path(f"{db_path}-journal")):
            raise UsageError(N_("{rejects} {target}: that is the database file"), options=["rejects"], target=target)
    if not resolved.parent.is_dir():
        raise CrmError(N_("{rejects} {target}: directory {parent} does not exist"), options=["rejects"], target=target, parent=resolved.parent)
    if resolved.is_dir():
        raise UsageError(N_("{rejects} {target}: is a directory"), options=["rejects"], target=target)
    from crmcli import safe_files

    reason = safe_files.refusal(target.expanduser())
    if reason:
        raise CrmError(N_("{rejects} {reason}"), options=["rejects"], reason=reason)
    if resolved.exists():
        reason = _rejects_file_only(resolved)
        if reason:
            raise CrmError(N_("{rejects} {reason}"), options=["rejects"], reason=reason)
