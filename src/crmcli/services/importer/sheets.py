"""Which sheets of a file are imported, and as what (spec §12).

A sheet is one of: ``customers`` (the customer table, and the follow-ups, deals and tickets of
its rows), ``deals`` (an opportunity table: ``deal_rows.is_opportunity_table``), ``followups``
or ``tickets`` (rows that name existing customers: ``keyed.kind_of``). ``--table`` says it for
the one sheet read.

Without ``--sheet``, every visible sheet of a workbook is looked at: each one recognised is
imported, customers first (the other kinds name them), all in the import's one transaction and
batch; the others are named in a note. A workbook whose first sheet is recognised and has no
other sheet costs nothing more (the usual 100k-row file). The sheets are opened in the reader
thread (``Opener``) while the database is opened.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmcli.i18n import gettext as _
from crmcli.io import columns, readers
from crmcli.services.importer.options import ImportOptions

# the custom fields' definitions first (customer columns need them), then customers (the others
# name them); stage changes last (they name opportunities)
ORDER = ("fields", "customers", "followups", "tickets", "deals", "stages")


@dataclass
class Sheet:
    kind: str
    table: readers.Table
    located: readers.Located
    primary: bool  # the sheet a single-sheet import reads (--sheet, or the first visible one)
    opts: ImportOptions  # with the mapping profile its header row found, if any
    defs: Any = None  # a custom field definitions sheet: (definitions, bad rows), read when opened

    @property
    def name(self) -> str | None:
        return self.table.sheet


def _unmapped(opts: ImportOptions) -> bool:
    """No mapping option given: a saved profile whose header row the file has is applied."""
    return opts.profile is None and not (opts.mapping or opts.map_specs or opts.value_maps or opts.date_order or opts.no_header or opts.table)


def custom_headers(custom: Any) -> dict[str, str]:
    """Normalised header -> import field, for the custom fields: each is read by its key or label."""
    from crmcli.services.importer.cells import CUSTOM

    out: dict[str, str] = {}
    for f in custom:
        out.setdefault(columns.norm_header(f.zh), CUSTOM + f.key)
        out.setdefault(columns.norm_header(f.key), CUSTOM + f.key)
    return out


def open_sheet(path: Path, opts: ImportOptions, name: str | None, *, primary: bool, checked: Callable[[], None] | None = None) -> Sheet:
    """Open one sheet, find its header and say what its rows are (ReadError: no header found)."""
    from crmcli.services.importer import deal_rows, field_rows, keyed, stage_rows

    table = readers.open_table(path, name, checked=checked)
    try:
        head = readers.peek(table)
        if primary and opts.profiles and _unmapped(opts):
            from crmcli.services.importer import profiles

            found = profiles.matching(opts.profiles, head)
            if found is not None:  # the header row of a saved profile's file (spec §12)
                opts = profiles.apply(opts, found, opts.profiles[found], custom_headers=custom_headers(opts.custom))
        forced, no_header = opts.table, opts.no_header
        if forced is None and not no_header and stage_rows.is_stage_table(head):
            return Sheet("stages", table, readers.locate_header(table, {}, known=stage_rows.HEADERS), primary, opts)
        if forced is None and not no_header and field_rows.is_fields_table(head):
            located = readers.locate_header(table, {}, known=field_rows.HEADERS)
            return Sheet("fields", table, located, primary, opts, defs=field_rows.read(located))
        if forced == "deals" or (forced is None and not no_header and deal_rows.is_opportunity_table(head)):
            located = readers.locate_header(table, deal_rows.parse_map(opts.map_specs), known=deal_rows.HEADERS, no_header=no_header)
            return Sheet("deals", table, located, primary, opts)
        located = readers.locate_header(table, {**custom_headers(opts.custom), **opts.mapping}, no_header=no_header)
        kind = forced if forced in keyed.KINDS else None
        if forced is None and not no_header:
            # a sheet of the workbook besides the first may name its customers by name (our export's 跟进记录)
            kind = keyed.kind_of(located.header, by_name=not primary)
        return Sheet(kind or "customers", table, located, primary, opts)
    except BaseException:
        table.close()
        raise


def _names_customers(sheet: Sheet) -> bool:
    if sheet.kind != "customers":
        return True
    header = sheet.located.header
    return any(header.first(f) for f in ("name", "person", "first_name", "last_name"))


class Opener:
    """Opens the file's sheets and finds their headers in a thread, while the caller opens the database.

    Calamine parses a whole sheet when it is opened (1.4 s for 100k rows) and releases the GIL
    meanwhile, so importing SQLAlchemy and migrating a new database cost nothing extra.
    """

    def __init__(self, path: Path, opts: ImportOptions) -> None:
        self.path, self.opts = path, opts
        self.sheets: list[Sheet] = []
        self.notes: list[str] = []  # sheets not imported, and why
        self.error: BaseException | None = None
        # set once the file passed its pre-flight (or failed): opening the database then, not
        # before, leaves the GIL to the pre-flight's regex, and overlaps calamine instead
        self.checked = threading.Event()
        self.thread = threading.Thread(target=self._run, name="crm-import-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            first_error: BaseException | None = None
            first: Sheet | None = None
            try:
                first = open_sheet(self.path, self.opts, self.opts.sheet, primary=True, checked=self.checked.set)
                others = self._other_sheets(first)
            except readers.ReadError as exc:
                # the first sheet may be a cover or instructions: another sheet may still be one we know
                others = self._other_sheets(None)
                if not others:
                    raise
                first_error = exc
            if first is not None:
                self.sheets.append(first)
                self.opts = first.opts  # a profile found by its header row holds for every sheet
            if others:
                for name in others:
                    try:
                        other = open_sheet(self.path, self.opts, name, primary=first is None and not self.sheets)
                    except readers.ReadError:
                        self.notes.append(_("sheet '{sheet}' not imported: no header row with columns we know").format(sheet=name))
                        continue
                    if _names_customers(other):
                        self.sheets.append(other)
                    else:
                        other.table.close()
                        self.notes.append(_("sheet '{sheet}' not imported: no customer name column (客户名称)").format(sheet=name))
            if first_error is not None:
                if not self.sheets:
                    raise first_error
                self.notes.insert(0, _("sheet '{sheet}' not imported: no header row with columns we know").format(sheet=self._first_name))
            self._define_fields()
        except BaseException as exc:  # handed to the caller by result()
            self.error = exc
        finally:
            self.checked.set()

    _first_name: str | None = None

    def _define_fields(self) -> None:
        """A sheet of custom field definitions (our export's): the customer sheets are read again
        with the fields it defines that the database lacks, so that their columns are those fields'."""
        from crmcli.services.importer.field_rows import new_fields

        if any(s.kind == "fields" for s in self.sheets):
            self.opts = dataclasses.replace(self.opts, own_export=True)
        defs = [d for s in self.sheets if s.kind == "fields" for d in s.defs[0]]
        new = new_fields(defs, self.opts.custom) if defs else []
        if not new:
            return
        self.opts = dataclasses.replace(self.opts, custom=(*self.opts.custom, *new))
        for i, sheet in enumerate(self.sheets):
            if sheet.kind == "customers":
                sheet.table.close()
                self.sheets[i] = open_sheet(self.path, self.opts, sheet.name if sheet.table.kind != "csv" else None, primary=sheet.primary)

    def _other_sheets(self, first: Sheet | None) -> list[str]:
        """The workbook's other visible sheets (none for a text file or a one-sheet workbook)."""
        if self.opts.sheet is not None or self.opts.table is not None or self.opts.no_header:
            return []
        if first is not None:
            names = first.table.sheets
            self._first_name = first.name
        else:
            if not self.path.is_dir() and readers.sniff(self.path) not in ("xlsx", "xls", "ods") and self.path.suffix.lower() != ".json":
                return []
            probe = readers.open_table(self.path, None)
            names, self._first_name = probe.sheets, probe.sheet
            probe.close()
        return [n for n in names if n != self._first_name]

    def result(self) -> tuple[list[Sheet], list[str], ImportOptions]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        ordered = sorted(self.sheets, key=lambda s: ORDER.index(s.kind))
        return ordered, self.notes, self.opts

    def close(self) -> None:
        self.thread.join()
        for s in self.sheets:
            s.table.close()
