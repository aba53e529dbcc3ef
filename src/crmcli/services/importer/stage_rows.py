"""A table of stage changes (the export's 阶段变更 sheet): the customers' stage history.

Each row names its customer by 客户编号 (else by a name only one customer has), and gives the day,
the stage it moved from and to, who moved it, the reason and the opportunity whose change moved
it (by its code). The rows are history: the customer's current stage is its customer sheet's, so
they never change it -- but a stage change counts as contact (spec §6), so the next follow-up
dates derived from them come back with them. A change the customer already has (same day, from
and to) is not recorded twice, so importing the file again changes nothing.

Runs inside the import's transaction and batch (``import_file``): the rows carry the batch id, so
``import --undo`` takes them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcli import fields, normalize, vocab
from crmcli.errors import ParseError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.io import columns
from crmcli.services.importer.options import REASON_SAMPLES, ImportOptions, ImportResult, Progress
from crmcli.services.importer.rejects import _Rejects

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.io import readers


def _aliases() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {f.key: (f.zh, f.en, f.key, *f.headers) for f in fields.STAGE_CHANGE}
    out["ignore"] = ("序号", "No", "No.", "#", "reject_reason", "拒绝原因", "行号")
    return out


HEADERS = columns.build_table(_aliases())
_FROM = frozenset(columns.norm_header(h) for h in _aliases()["from_stage"])
_TO = frozenset(columns.norm_header(h) for h in _aliases()["to_stage"])
_DAY = frozenset(columns.norm_header(h) for h in _aliases()["date"])


def is_stage_table(head: list[list[Any]]) -> bool:
    """Does a row among the first ones hold a from-stage, a to-stage and a date column (原阶段, 新阶段, 变更日期)?"""
    for row in head:
        keys = {columns.norm_header(c) for c in row if isinstance(c, str) and c.strip()}
        if keys & _FROM and keys & _TO and keys & _DAY:
            return True
    return False


class StageRun:
    """One stage-change sheet's rows onto the customers they name."""

    def __init__(self, conn: Connection, located: readers.Located, opts: ImportOptions, batch_id: int, result: ImportResult,
                 rejects: _Rejects, progress: Progress | None) -> None:  # fmt: skip
        from crmcli.services.importer.cells import _date_conv

        self.conn, self.loc, self.opts, self.batch_id, self.res = conn, located, opts, batch_id, result
        self.rejects, self.progress = rejects, progress
        result.table = "stages"
        header = located.header
        self.idx = {c.field: c.index for c in reversed(header.columns) if c.field}
        self.names = {c.index: c.header for c in header.columns}
        self.from_csv = located.table.from_csv
        self.date = _date_conv(opts.today, opts.date_order)
        self.stage_map = opts.value_maps.get("stage", {})
        from crmcli.store import sql

        def ex(statement: str) -> Any:
            return sql(conn, statement)

        self.by_code: dict[str, int] = {}
        self.by_name: dict[str, int] = {}  # name key -> id (-1: several customers)
        for cid, code, key, into in ex("SELECT id, code, name_key, merged_into FROM customer"):
            self.by_code[code] = into or cid
            if into is None:
                self.by_name[key] = -1 if key in self.by_name else cid
        self.deals: dict[str, int] = {code: did for code, did in ex("SELECT code, id FROM deal")} if "deal" in self.idx else {}
        self.have = {(cid, str(day), old, new) for cid, day, old, new in ex("SELECT customer_id, date, from_stage, to_stage FROM stage_change")}
        self.rows: list[tuple[Any, ...]] = []

    def execute(self) -> None:
        from crmcli.services.importer.row_text import _blank

        res = self.res
        for rowno, row in self.loc.data:
            if _blank(row):
                res.blank_rows += 1
                continue
            res.data_rows += 1
            try:
                change = self._parse(rowno, row)
            except ParseError as exc:
                self._reject(row, str(exc))
                continue
            if change[:4] in self.have:
                res.skipped += 1
                if len(res.skipped_rows) < REASON_SAMPLES:
                    res.skipped_rows.append(_("row {rowno}: already there").format(rowno=rowno))
                continue
            self.have.add(change[:4])
            self.rows.append((*change, self.batch_id))
            res.created += 1
            if self.progress is not None and res.data_rows % 1000 == 0:
                self.progress(res.data_rows, None)
        if self.rows:
            from crmcli.store import insert_rows

            insert_rows(self.conn, "stage_change", ("customer_id", "date", "from_stage", "to_stage", '"by"', "reason", "deal_id", "batch_id"), self.rows)
        res.stage_changes = len(self.rows)
        res.unknown_columns = list(self.loc.header.unknown)
        res.unused_columns = list(self.loc.header.unused)

    # -- cells

    def _cell(self, row: list[Any], fld: str) -> Any:
        i = self.idx.get(fld)
        if i is None or i >= len(row):
            return None
        v = row[i]
        if type(v) is str:
            if self.from_csv:
                from crmcli.services.importer.cells import _unquote

                v = _unquote(v)
            if normalize.is_empty(v):
                return None
        return None if v == "" else v

    def _where(self, fld: str, rowno: int) -> str:
        i = self.idx.get(fld)
        return _("row {rowno}, column {column}").format(rowno=rowno, column=self.names[i]) if i is not None else _("row {rowno}").format(rowno=rowno)

    def _stage(self, rowno: int, row: list[Any], fld: str) -> str | None:
        v = self._cell(row, fld)
        if v is None:
            return None
        t = str(v).strip()
        key = self.stage_map.get(vocab.fold(t)) or vocab.lookup("stage", t)
        if key is None:
            raise ParseError(N_("{value}: unknown stage '{t}'; accepted: {stages}"), value=self._where(fld, rowno), t=t, stages=', '.join(vocab.STAGES))
        return key

    def _parse(self, rowno: int, row: list[Any]) -> tuple[Any, ...]:
        cid = self._customer(rowno, row)
        day = self._cell(row, "date")
        if day is None:
            raise ParseError(N_("{value}: empty: a stage change needs its day"), value=self._where('date', rowno))
        try:
            iso = self.date(day)
        except ParseError as exc:
            raise ParseError(N_("{value}: {exc}"), value=self._where('date', rowno), exc=exc) from None
        old, new = self._stage(rowno, row, "from_stage"), self._stage(rowno, row, "to_stage")
        if new is None:
            raise ParseError(N_("{value}: empty: a stage change needs the stage it moved to"), value=self._where('to_stage', rowno))
        by, reason, deal = (self._cell(row, k) for k in ("by", "reason", "deal"))
        deal_id = None
        if deal is not None:
            deal_id = self.deals.get(str(deal).strip().upper())
            if deal_id is None:
                raise ParseError(N_("{value}: no opportunity {deal} (import the opportunities first)"), value=self._where('deal', rowno), deal=deal)
        return (cid, iso, old, new, normalize.clean_text(str(by)) if by is not None else None,
                normalize.keep_text(str(reason)) if reason is not None else None, deal_id)  # fmt: skip

    def _customer(self, rowno: int, row: list[Any]) -> int:
        code = self._cell(row, "customer")
        if code is not None:
            cid = self.by_code.get(str(code).strip().upper())
            if cid is None:
                raise ParseError(N_("{value}: no customer {code} (import the customers first)"), value=self._where('customer', rowno), code=code)
            return cid
        name = self._cell(row, "name")
        if name is None:
            raise ParseError(N_("{value}: empty: the row names no customer"), value=self._where('customer', rowno))
        cid = self.by_name.get(normalize.name_key(str(name)))
        if cid is None:
            raise ParseError(N_("{value}: no customer named '{name}' (import the customers first)"), value=self._where('name', rowno), name=name)
        if cid == -1:
            raise ParseError(N_("{value}: several customers are named '{name}'; name it by 客户编号"), value=self._where('name', rowno), name=name)
        return cid

    def _reject(self, row: list[Any], reason: str) -> None:
        self.res.rejected += 1
        if len(self.res.reasons) < REASON_SAMPLES:
            self.res.reasons.append(reason)
        self.rejects.add(row, reason)
