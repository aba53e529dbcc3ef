"""Rows that name an existing customer and carry its events (spec §12): a follow-up log keyed by
客户编号 only (seed 004's 客户跟进记录表: Follow_ID, Customer_ID, Follow_Date, Follow_User,
Follow_Method, Content, Feedback, Next_Plan, Status_Change), a sheet of service tickets, or the
跟进记录 sheet of our own export (客户编号 and 客户名称 beside the follow-up).

Each row names its customer by code (a merged customer's code names the one it went into), else
by its normalised name when exactly one customer has it; a row naming none that is there is
rejected with that reason -- never made a customer of. Cells are read by the customer import's
parser (``rows._Parser``, the name not required), so dates, methods, feedback, next plans and
their checks are the same; a row matching a follow-up the customer already had before this
import (date, method, content) is that follow-up, one row for one, so importing the file again
changes nothing, while a log holding the same follow-up twice keeps both. Tickets go through
``tickets.TicketColumns`` as on a customer row.

Runs inside the import's transaction and batch (``import_file``): follow-ups and tickets carry the
batch id, so ``import --undo`` takes them back.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from crmcli import store
from crmcli.i18n import gettext as _
from crmcli.io import columns
from crmcli.services.importer.options import REASON_SAMPLES, ImportOptions, ImportResult, Progress
from crmcli.services.importer.rejects import _Rejects

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.io import readers

CHUNK = 1000
KINDS = ("followups", "tickets")
# Customer fields a keyed sheet may carry without being a customer sheet: what names the customer.
_KEYS = frozenset({"code", "name", "person", "first_name", "last_name"})
_NOT_OWN = frozenset({"last_follow_at", "next_follow_at", "other_phones"})  # read as information / part of a follow-up


def kind_of(header: columns.Header, *, by_name: bool) -> str | None:
    """'followups' or 'tickets' when the header names customers and carries only their events
    (``by_name``: a name column may name them too; else only a code column does), else None."""
    present = {c.field for c in header.columns if c.field}
    if "code" not in present and not (by_name and present & {"name", "person"}):
        return None
    if not by_name and present & {"name", "person", "first_name", "last_name"}:
        return None
    from crmcli import fields

    own = {f.key for f in fields.CUSTOMER} - _KEYS - _NOT_OWN
    if present & own or any(f.startswith("custom:") for f in present):
        return None
    if present & {*columns.FOLLOW_FIELDS, "follow_log"}:
        return "followups"
    if present & {"ticket_type", "ticket_satisfaction", "ticket_status"}:
        return "tickets"
    return None


class KeyedRun:
    """One keyed sheet's rows onto the customers they name."""

    def __init__(self, conn: Connection, located: readers.Located, opts: ImportOptions, batch_id: int, result: ImportResult,
                 rejects: _Rejects, progress: Progress | None) -> None:  # fmt: skip
        from crmcli.services.importer.row_kinds import RowKinds
        from crmcli.services.importer.rows import _Parser
        from crmcli.services.importer.tickets import TicketColumns

        self.conn, self.loc, self.opts, self.batch_id, self.res = conn, located, opts, batch_id, result
        self.rejects, self.progress = rejects, progress
        header = located.header
        self.parser = _Parser(header, opts, from_csv=located.table.from_csv, check_nul=located.table.has_nul, stage_cols=[], require_name=False)
        self.kinds = RowKinds(header, records=opts.own_export)
        self.tickets = TicketColumns.of(header, today=opts.today, aliases=opts.ticket_aliases, user=opts.user,
                                        status_map=opts.value_maps.get("status"), date_order=opts.date_order)  # fmt: skip
        self.code_col = header.first("code")
        self.name_col = header.first("name") or header.first("person")
        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}  # name key -> id (-1: several customers)
        for cid, code, key, into in store.sql(conn, "SELECT id, code, name_key, merged_into FROM customer"):
            self.by_code[code] = into or cid
            if into is None:
                self.by_name[key] = -1 if key in self.by_name else cid
        # each customer's follow-ups already in the database, as (date, method, content) -> how many:
        # a row matching one is that one (importing the file again adds nothing), while a log that
        # holds the same follow-up twice (two unanswered calls on one day) keeps both
        self.sigs: dict[int, Counter[tuple[Any, ...]]] = {}
        self.touched: set[int] = set()
        self.follow_rows: list[tuple[Any, ...]] = []
        self.ticket_only = 0  # rows whose only record is a ticket

    def execute(self) -> None:
        from crmcli.services.importer.row_text import _blank

        res = self.res
        buffer: list[tuple[int, list[Any]]] = []
        for rowno, row in self.loc.data:
            if _blank(row):
                res.blank_rows += 1
                continue
            buffer.append((rowno, row))
            if len(buffer) >= CHUNK:
                self._chunk(buffer)
                buffer = []
        if buffer:
            self._chunk(buffer)
        self._write()

    def _chunk(self, buffer: list[tuple[int, list[Any]]]) -> None:
        kept, examples, summaries, blanks = self.kinds.split(buffer)
        res = self.res
        res.example_rows += examples
        res.summary_rows += summaries
        res.blank_rows += blanks
        res.data_rows += len(kept)
        if not kept:
            return
        parsed = self.parser.parse_chunk(kept)
        ids = {}
        for (rowno, row), (p, errors) in zip(kept, parsed, strict=True):
            if p is None:
                self._reject(row, "; ".join(errors))
                continue
            cid, why = self._customer(rowno, p.code, p.values.get("name"), p.values.get("name_key"))
            ticket = None
            if cid is not None and self.tickets is not None:
                ticket, terrs = self.tickets.parse(rowno, row)
                if terrs:
                    why = "; ".join(terrs)
            if why is not None or cid is None:
                self._reject(row, why or _("row {rowno}: no customer named").format(rowno=rowno))
                continue
            ids[rowno] = (cid, p, ticket)
        self._load_sigs({cid for cid, _, _ in ids.values()})
        for cid, p, ticket in ids.values():
            new = 0
            sigs = self.sigs.setdefault(cid, Counter())
            for fu in p.follow_ups:
                sig = (fu[0], fu[1], fu[2])
                if sigs[sig] > 0:
                    sigs[sig] -= 1
                    continue
                self.follow_rows.append((cid, *fu))
                new += 1
            if ticket is not None and self.tickets is not None:
                self.tickets.add(cid, ticket)
                if not new:  # counted once the tickets are written: one already there is not added twice
                    self.ticket_only += 1
                    continue
            if new:
                self.touched.add(cid)
                res.created += 1
            else:
                res.skipped += 1
                if len(res.skipped_rows) < REASON_SAMPLES:
                    res.skipped_rows.append(_("row {rowno}: already there").format(rowno=p.rowno))

    def _customer(self, rowno: int, code: str | None, name: str | None, key: str | None) -> tuple[int | None, str | None]:
        if code is not None:
            cid = self.by_code.get(code)
            if cid is None:
                assert self.code_col is not None
                return None, _("row {rowno}, column {header}: no customer {code} (import the customers first)").format(rowno=rowno, header=self.code_col.header, code=code)
            return cid, None
        where = _("row {rowno}, column {header}").format(rowno=rowno, header=self.name_col.header) if self.name_col is not None else _("row {rowno}").format(rowno=rowno)
        if not key:
            col = self.code_col.header if self.code_col is not None else "客户编号"
            return None, _("row {rowno}, column {col}: empty: the row names no customer").format(rowno=rowno, col=col)
        cid = self.by_name.get(key)
        if cid is None:
            return None, _("{where}: no customer named '{name}' (import the customers first)").format(where=where, name=name)
        if cid == -1:
            return None, _("{where}: several customers are named '{name}'; name it by 客户编号").format(where=where, name=name)
        return cid, None

    def _load_sigs(self, ids: set[int]) -> None:
        want = [cid for cid in ids if cid not in self.sigs]
        for i in range(0, len(want), 900):
            part = want[i : i + 900]
            for cid in part:
                self.sigs[cid] = Counter()
            marks, params = store.in_list(part)
            for cid, day, method, content in store.sql(
                self.conn, f"SELECT customer_id, date, method, content FROM follow_up WHERE customer_id IN ({marks})", params
            ):
                self.sigs[cid][(str(day), method, content)] += 1

    def _reject(self, row: list[Any], reason: str) -> None:
        self.res.rejected += 1
        if len(self.res.reasons) < REASON_SAMPLES:
            self.res.reasons.append(reason)
        self.rejects.add(row, reason)

    def _write(self) -> None:
        from crmcli.services.followups import refresh_summary
        from crmcli.services.importer.writing import _FOLLOW_UP_COLUMNS

        if self.follow_rows:
            store.insert_rows(self.conn, "follow_up", (*_FOLLOW_UP_COLUMNS, "batch_id"), [(*r, self.batch_id) for r in self.follow_rows])
        self.res.follow_ups = len(self.follow_rows)
        if self.tickets is not None:
            written = self.res.tickets = self.tickets.write(self.conn, self.batch_id)
            self.touched.update(cid for cid, _ in self.tickets.pending)
            landed = min(written, self.ticket_only)
            self.res.created += landed
            self.res.skipped += self.ticket_only - landed
        if self.touched:
            refresh_summary(self.conn, sorted(self.touched))
        self.res.unknown_columns = list(self.loc.header.unknown)
        self.res.unused_columns = list(self.loc.header.unused)
        from crmcli.services.importer.options import unknown_values

        counts = self.parser.unknown + (self.tickets.unknown if self.tickets is not None else self.parser.unknown.__class__())
        self.res.unknown_values = unknown_values(counts)
