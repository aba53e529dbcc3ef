"""The ticket columns of an imported row (spec §15): seed 003's 客户管理信息统计表 carries, per
customer, 反馈问题类型 / 满意度评分 (and perhaps 处理状态, 处理负责人); our export's ticket sheet
carries every ticket field. Such a row becomes a ticket of the row's customer:

* type: the 反馈问题类型 cell (through the alias table), 其他 when only a score is given;
* status: the 处理状态 cell, else resolved when scored, else open; a score on an open ticket, or
  one outside 1-5, rejects the row;
* opened: the 反馈日期 cell, else the row's 最近合作时间 (seed 003), else today.

Re-importing adds nothing: a customer's ticket with the same code, or the same type, opening day
and content, is the same ticket. Tickets are written at the end of the run (``write``), coded
``T`` + YYYYMM + serial (a free code of the file is kept), with the batch id, so
``import --undo`` deletes them (``batches.undo``).

The customer import reads the columns through ``TicketColumns.parse`` (before a row is resolved,
so a bad cell rejects the row) and ``add`` (once its customer is known).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crmcli import normalize
from crmcli.errors import ParseError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.io.columns import Header

PREFIX = "ticket_"
DATE_FALLBACK_HEADERS = ("最近合作时间", "最近合作日期")  # seed 003 dates a row's service by its last order


@dataclass
class _Ticket:
    code: str | None
    type: str
    status: str
    satisfaction: int | None
    handler: str | None
    opened_at: str
    resolved_at: str | None
    content: str | None
    note: str | None


class TicketColumns:
    def __init__(
        self, header: Header, *, today: dt.date, aliases: dict[str, str], user: str | None,
        status_map: dict[str, str] | None = None, date_order: str | None = None,
    ) -> None:  # fmt: skip
        from collections import Counter

        from crmcli.io.columns import norm_header

        self.idx = {c.field[len(PREFIX) :]: c.index for c in header.columns if c.field and c.field.startswith(PREFIX)}
        self.names = {c.index: c.header for c in header.columns}
        fallback = {norm_header(h) for h in DATE_FALLBACK_HEADERS}
        self.date_at = next((c.index for c in header.columns if norm_header(c.header) in fallback), None)
        self.today, self.aliases, self.user = today, aliases, user
        self.status_map, self.date_order = status_map or {}, date_order  # --map-value status:..., --date-order
        self.unknown: Counter[tuple[str, str]] = Counter()  # (field, value) of unknown statuses
        self.pending: list[tuple[int, _Ticket]] = []

    @classmethod
    def of(cls, header: Header, **kw: Any) -> TicketColumns | None:
        """The ticket columns of ``header``, or None when it has no type, score or status column."""
        found = cls(header, **kw)
        return found if {"type", "satisfaction", "status"} & found.idx.keys() else None

    def _cell(self, row: list[Any], key: str) -> Any:
        i = self.idx.get(key)
        if i is None or i >= len(row):
            return None
        v = row[i]
        if isinstance(v, str):
            v = v[1:] if v[:1] == "'" and v[1:2] in ("=", "+", "-", "@") else v  # a cell our csv export neutralised
            return None if normalize.is_empty(v) else v
        return v

    def _date(self, rowno: int, row: list[Any], key: str, index: int | None) -> str | None:
        if index is None or index >= len(row):
            return None
        v = row[index]
        if v is None or (isinstance(v, str) and normalize.is_empty(v)):
            return None
        try:
            day = normalize.parse_date(v, self.today, self.date_order)
        except ParseError as exc:
            raise ParseError(N_("row {rowno}, column {column}: {reason}"), rowno=rowno, column=self.names[index], reason=exc) from None
        if day > self.today:
            raise ParseError(N_("row {rowno}, column {column}: {day} is in the future"), rowno=rowno, column=self.names[index], day=day)
        return day.isoformat()

    def parse(self, rowno: int, row: list[Any]) -> tuple[_Ticket | None, list[str]]:
        """The row's ticket (None when its ticket cells are empty), or the reasons it is rejected."""
        from crmcli import vocab
        from crmcli.services import tickets

        raw_type, raw_score, raw_status = self._cell(row, "type"), self._cell(row, "satisfaction"), self._cell(row, "status")
        if raw_type is None and raw_score is None and raw_status is None:
            return None, []
        errors: list[str] = []

        def where(key: str) -> str:
            return _("row {rowno}, column {column}").format(rowno=rowno, column=self.names[self.idx[key]])

        kind = status = None
        score = None
        try:
            kind = tickets.canonical_type(raw_type, self.aliases) if raw_type is not None else tickets.OTHER_TYPE
        except ParseError as exc:
            errors.append(f"{where('type')}: {exc}")
        try:
            score = tickets.parse_satisfaction(raw_score) if raw_score is not None else None
        except ParseError as exc:
            errors.append(f"{where('satisfaction')}: {exc}")
        if raw_status is not None:
            text = normalize.clean_text(raw_status) or ""
            status = self.status_map.get(vocab.fold(text)) or vocab.lookup("status", text)
            if status is None:
                self.unknown[("status", text)] += 1
                try:
                    vocab.parse("status", text)
                except ParseError as exc:
                    errors.append(f"{where('status')}: {exc}")
        status = status or ("resolved" if score is not None or raw_score is not None else "open")
        if score is not None and status != "resolved":
            errors.append(_("{value}: a satisfaction score goes only with a resolved ticket (status {status})").format(value=where('satisfaction'), status=status))
        try:
            opened = self._date(rowno, row, "opened_at", self.idx.get("opened_at")) or self._date(rowno, row, "", self.date_at)
            resolved = self._date(rowno, row, "resolved_at", self.idx.get("resolved_at"))
        except ParseError as exc:
            errors.append(str(exc))
            opened = resolved = None
        if errors:
            return None, errors
        opened = opened or self.today.isoformat()
        if status == "resolved" and resolved is None:
            resolved = opened
        code = self._cell(row, "code")
        handler = self._cell(row, "handler")
        return _Ticket(
            code=normalize.clean_text(code).upper() if code is not None and normalize.clean_text(code) else None,  # type: ignore[union-attr]
            type=kind or tickets.OTHER_TYPE, status=status, satisfaction=score,
            handler=normalize.clean_text(handler) if handler is not None else None, opened_at=opened,
            resolved_at=resolved if status == "resolved" else None,
            content=normalize.keep_text(self._cell(row, "content")), note=normalize.keep_text(self._cell(row, "note")),
        ), []  # fmt: skip

    def add(self, customer_id: int, ticket: _Ticket | None) -> None:
        if ticket is not None:
            self.pending.append((customer_id, ticket))

    def write(self, conn: Connection, batch_id: int) -> int:
        """Insert the tickets not already there; returns how many (after the writer thread is done)."""
        from crmcli.store.codes import ticket_codes

        if not self.pending:
            return 0
        from crmcli import store

        ids = sorted({cid for cid, _ in self.pending})
        seen: set[tuple[Any, ...]] = set()
        codes: set[str] = set()
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks, params = store.in_list(part)
            for cid, kind, opened, content, code in store.sql(
                conn, f"SELECT customer_id, type, opened_at, content, code FROM ticket WHERE customer_id IN ({marks})", params
            ):
                seen.add((cid, kind, str(opened), content))
                codes.add(code)
        alloc = ticket_codes(conn)
        rows = []
        for cid, t in self.pending:
            sig = (cid, t.type, t.opened_at, t.content)
            if sig in seen or (t.code is not None and t.code in codes):
                continue
            seen.add(sig)
            code = t.code
            if code is None or code in codes or store.sql(conn, "SELECT 1 FROM ticket WHERE code = :c", {"c": code}).first() is not None:
                code = alloc.next(dt.date.fromisoformat(t.opened_at))
                while code in codes:  # a code further down the file
                    code = alloc.next(dt.date.fromisoformat(t.opened_at))
            codes.add(code)
            rows.append((code, cid, t.type, t.content, t.status, t.handler, t.opened_at, t.resolved_at, t.satisfaction, t.note, self.user, batch_id))
        if rows:
            store.insert_rows(conn, "ticket", ("code", "customer_id", "type", "content", "status", "handler", "opened_at", "resolved_at",
                                               "satisfaction", "note", '"by"', "batch_id"), rows)  # fmt: skip
        return len(rows)
