"""Parsing rows: a chunk of rows as read -> each row's values, or its reasons for rejection.

Pure: no database. One converter per present column, built once (``cells.converter``); after
the sheet is read the import is bound by the GIL, so a chunk is parsed column by column, end to
end, and the checks across columns -- required name and phone, codes, follow-ups, deals -- run
over whole columns too, falling back to a row-by-row loop only for a column with a bad or empty
cell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmcli.errors import ParseError
from crmcli.i18n import gettext as _
from crmcli.io import columns
from crmcli.services.importer import fieldsets
from crmcli.services.importer.cells import (
    _FORMULA_NOTE,
    _NUL_NOTE,
    CUSTOM,
    Converter,
    UnknownValue,
    _batch_text,
    _cell_text,
    _clean_cell,
    _empty,
    _keep_cell,
    _may_hold_long_number,
    _name_key,
    _sensitive,
    _shown,
    _unquote,
    converter,
    custom_converter,
)
from crmcli.services.importer.fieldsets import INSERT_COLUMNS
from crmcli.services.importer.follow_log import _FollowUp, _parse_log
from crmcli.services.importer.options import ImportOptions
from crmcli.services.importer.row_text import _future, _join, _person_name
from crmcli.services.importer.stages import _StageColumns

MAX_NAME = 200

_CODE_FAST = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
# Free-text columns only are scanned for ID and bank card numbers: a phone, date, amount or enum
# cell cannot hold such a number and be accepted (a phone has at most 15 digits, an amount at most 1e15).
_SCANNED = fieldsets.CLEAN | fieldsets.CLEAN_MEMO | fieldsets.PROSE | {"email", "follow_feedback"}
# What a future follow-up date usually is: a plan typed into the wrong column.
_PLANS = "; a follow-up is recorded once it has happened: plans go in 下次跟进计划 / 下次跟进日期"


@dataclass(slots=True)
class _Parsed:
    rowno: int
    values: dict[str, Any]
    code: str | None
    tags: Sequence[str]
    follow_ups: tuple[_FollowUp, ...]
    deal: tuple[str, float] | None
    event_date: str  # date of the row's stage change: its first follow-up's date, else today
    owner_fallback: str | None  # 跟进人, owner of a new customer when there is no 负责人
    row: list[Any] = field(default_factory=list)  # the cells as read, for the rejects file
    sensitive: str | None = None  # where the row holds what looks like an ID/bank card number
    ident: int = 0  # hash((name key, phone key)): the key of identity._Known.by_identity
    custom: dict[str, str] | None = None  # custom field key -> canonical value (the row's non-empty ones)
    other_keys: tuple[str, ...] = ()  # keys of the row's other phones (matched and looked up too)


class _Parser:
    """Cells -> values. One converter per present column, built once; results of the
    low-cardinality columns (dates, enums, industry, owner...) are memoised per cell value."""

    def __init__(
        self, header: columns.Header, opts: ImportOptions, *, from_csv: bool, check_nul: bool, stage_cols: list[columns.Column],
        require_name: bool = True,
    ) -> None:  # fmt: skip
        self.require_name = require_name  # False: rows that name an existing customer by code (a follow-up log)
        self.today = opts.today
        self.today_iso = opts.today.isoformat()
        self.from_csv = from_csv
        self.check_nul = check_nul
        self.width = header.width
        self.idx: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.more: list[tuple[str, str]] = []  # (its own name, field) of a field's second column
        for col in header.columns:
            self.names[col.index] = col.header
            if col.field and col.field != "stage" and not col.field.startswith("ticket_"):  # (a ticket column is read by importer/tickets.py)
                if col.field not in self.idx:
                    self.idx[col.field] = col.index
                else:  # joined to the first (io.columns.JOINABLE), or more other phones
                    self.idx[f"{col.field}#{col.index}"] = col.index
                    self.more.append((f"{col.field}#{col.index}", col.field))
        # (field, column index, memo or None, converter): the converter fills the memo
        self.plan: list[tuple[str, int, dict[Any, Any] | None, Converter]] = []
        custom = {CUSTOM + f.key: f for f in opts.custom}
        for fld, i in self.idx.items():
            base = fld.split("#", 1)[0]
            if base in custom:
                memo, conv = custom_converter(custom[base], opts.today)
            else:
                memo, conv = converter(base, opts.today, opts.value_maps, opts.date_order)
            self.plan.append((fld, i, memo, conv))
        self.from_csv = from_csv  # cells quoted by our csv export lose the quote first (_column)
        self.customer_fields = frozenset(self.idx) & fieldsets.CUSTOMER_COLUMNS
        self.custom_fields = [fld for fld in self.idx if fld.startswith(CUSTOM) and "#" not in fld]
        self.stages = _StageColumns(stage_cols, self.names, from_csv=from_csv, mapped=opts.value_maps.get("stage", {}))
        # values of enum columns nobody knows: (vocabulary, value) -> rows (spec §12); the stage
        # columns count theirs in ``stages.unknown``
        self.unknown: Counter[tuple[str, str]] = Counter()
        # columns whose header cell is empty: named "column C" (a header typed so is "unknown")
        self.headerless = [
            c.index for c in header.columns
            if c.field is None and c.header.startswith("column ") and c.header not in header.unknown and c.index < self.width
        ]  # fmt: skip
        self.headerless_with_data: set[int] = set()
        self.has_follow = any(f in self.idx for f in columns.FOLLOW_FIELDS)
        from crmcli.services.customers import check_code, clean_tags

        self._check_code = check_code
        self._clean_tags = clean_tags
        self.formula_cells: Callable[[], set[tuple[int, int]]] | None = None  # set by the run for .xlsx
        self.col_offset = 0
        self.reject_sensitive = opts.reject_sensitive
        self.sensitive_idx = [i for f, i in self.idx.items() if f in _SCANNED]

    # -- the row

    def parse_chunk(self, items: list[tuple[int, list[Any]]]) -> list[tuple[_Parsed | None, list[str]]]:
        """Parse non-blank rows: for each, (values, []) or (None, reasons).

        Column by column, end to end: a memoised column costs one dict lookup per cell in C
        (``map``), the others one converter call per cell; the checks across columns (name,
        phone, code, follow-ups...) run over whole columns too, falling back to a row-by-row
        loop only for a column with a bad or empty cell; each row then gets its values with
        one ``dict(zip())``. A row's reasons are in column order, then stage, then the checks.
        """
        width = self.width
        n = len(items)
        errs: list[list[str]] = [[] for _ in range(n)]
        rows: list[list[Any]] = []
        for k, (rowno, row) in enumerate(items):
            if len(row) != width:
                row = self._fit(rowno, row, errs[k])[:width]
            rows.append(row)
        if self.check_nul:
            for k, row in enumerate(rows):
                for i, c in enumerate(row):
                    if type(c) is str and "\x00" in c:
                        # the rejects file shows it as ␀ (a NUL breaks CSV readers): fix it there
                        at = self.names[i] if i in self.headerless else f"column {self.names[i]}"  # "column C": no header
                        errs[k].append(_("row {rowno}, {at}: {note}").format(rowno=items[k][0], at=at, note=_(_NUL_NOTE)))
                        break
        for i in self.headerless:
            if i not in self.headerless_with_data and any(not _empty(row[i]) for row in rows):
                self.headerless_with_data.add(i)
        cols = list(zip(*rows, strict=True)) if width else []
        converted: dict[str, list[Any]] = {}
        for fld, i, memo, conv in self.plan:
            converted[fld] = self._column(fld, i, cols[i], memo, conv, items, errs)
        if "other_phones" in converted:  # each row's further phone cells, as a list
            converted["other_phones"] = [[v] if v else [] for v in converted["other_phones"]]
        for own, fld in self.more:  # a field's second column: joined to the first
            extra = converted.pop(own)
            if fld == "other_phones":
                for cells, v in zip(converted[fld], extra, strict=True):
                    if v:
                        cells.append(v)
            else:
                converted[fld] = [_join(a, b) for a, b in zip(converted[fld], extra, strict=True)]
        stages = self.stages.of_rows(cols, rows, items, errs) if self.stages.idx else None
        sensitive: list[str | None] | None = None
        if _may_hold_long_number(cols[i] for i in self.sensitive_idx):
            sensitive = [_sensitive(items[k][0], row, self.sensitive_idx, self.names) for k, row in enumerate(rows)]
            if self.reject_sensitive:
                for k, where in enumerate(sensitive):
                    if where:
                        errs[k].append(_("{where}; such numbers must not be stored (this import refuses sensitive numbers)").format(where=where))
        return self._assemble(items, converted, stages, sensitive, errs)

    def _column(
        self, fld: str, i: int, col: tuple[Any, ...], memo: dict[Any, Any] | None, conv: Converter,
        items: list[tuple[int, list[Any]]], errs: list[list[str]],
    ) -> list[Any]:  # fmt: skip
        """One column of a chunk converted; a bad cell gets None and a reason in its row."""
        if self.from_csv and "'" in "".join(col):  # a csv cell is text; most columns hold no quote at all
            col = tuple(map(_unquote, col))
        if memo is not None:
            bad: dict[Any, str] = {}
            unknown: dict[Any, tuple[str, str]] = {}
            for v in set(col).difference(memo):
                try:
                    memo[v] = conv(v)
                except UnknownValue as exc:
                    bad[v] = str(exc)
                    unknown[v] = (exc.field, exc.value)
                except ParseError as exc:
                    bad[v] = str(exc)
            if bad:
                for k, v in enumerate(col):
                    if v in bad:
                        errs[k].append(_shown(_("row {rowno}, column {column}: {reason}").format(rowno=items[k][0], column=self.names[i], reason=bad[v])))
                        if v in unknown:
                            self.unknown[unknown[v]] += 1
                memo.update(dict.fromkeys(bad))  # None: the row is rejected anyway
                values = list(map(memo.__getitem__, col))
                for v in bad:
                    del memo[v]  # not remembered: the next chunk says why again
            else:
                values = list(map(memo.__getitem__, col))
            if len(memo) > 50_000:  # a column of mostly distinct values: do not keep them all
                memo.clear()
                memo[""] = None
            return values
        if conv is _clean_cell or conv is _keep_cell:
            fast = _batch_text(col, prose=conv is _keep_cell)
            if fast is not None:
                return fast
        try:
            return list(map(conv, col))
        except ParseError:
            pass
        values = [None] * len(col)
        for k, v in enumerate(col):
            try:
                values[k] = conv(v)
            except ParseError as exc:
                errs[k].append(_shown(_("row {rowno}, column {column}: {reason}").format(rowno=items[k][0], column=self.names[i], reason=exc)))
        return values

    def _fit(self, rowno: int, row: list[Any], errors: list[str]) -> list[Any]:
        width = self.width
        if len(row) < width:
            return row + [""] * (width - len(row))
        extra = [c for c in row[width:] if not _empty(c)]
        if extra:
            errors.append(
                _("row {rowno}: {extra} cell(s) beyond the last column of the header ({width}...), e.g. '{value}' (an unquoted comma?)").format(rowno=rowno, extra=len(extra), width=columns.column_letter(width), value=_cell_text(extra[0])[:40])
            )
        return row

    def _formula_note(self, rowno: int, fld: str) -> str:
        """Why a required cell reads as empty when it holds a formula nobody saved a value for."""
        if self.formula_cells is None:
            return ""
        if (rowno - 1, self.idx[fld] + self.col_offset) in self.formula_cells():
            return _(_FORMULA_NOTE)
        return ""
    def _fail(self, errors: list[str], rowno: int, fld: str, message: str) -> None:
        i = self.idx.get(fld)
        where = f"column {self.names[i]}" if i is not None else fld
        errors.append(_shown(f"row {rowno}, {where}: {message}"))

    def _said(self, errors: list[str], rowno: int, fld: str) -> bool:
        """Has a reason about this field's column been given already?"""
        prefix = _("row {rowno}, column {column}:").format(rowno=rowno, column=self.names[self.idx[fld]])
        return any(e.startswith(prefix) for e in errors)

    def _required(self, items: list[tuple[int, list[Any]]], errs: list[list[str]], fld: str, message: str, values: list[Any]) -> None:
        """A reason for each row whose required ``fld`` is empty (unless its cell was refused)."""
        for k, v in enumerate(values):
            if v is None:
                rowno = items[k][0]
                if fld not in self.idx or not self._said(errs[k], rowno, fld):
                    self._fail(errs[k], rowno, fld, message + self._formula_note(rowno, fld))

    def _assemble(
        self, items: list[tuple[int, list[Any]]], conv: dict[str, list[Any]], stages: list[str | None] | None,
        sensitive: list[str | None] | None, errs: list[list[str]],
    ) -> list[tuple[_Parsed | None, list[str]]]:  # fmt: skip
        """The checks across columns, one column at a time, then one ``_Parsed`` per valid row."""
        n = len(items)
        nones: list[Any] = [None] * n
        get = conv.get
        fail = self._fail
        columns_of: dict[str, list[Any]] = {}  # the customer columns that differ from conv
        self._people_and_places(conv, columns_of, n, nones)

        names = columns_of.get("name") or get("name", nones)
        name_keys: list[Any] | None = None
        if None not in names and max(map(len, names), default=0) <= MAX_NAME:
            try:
                name_keys = list(map(_name_key, names))
            except ParseError:
                pass  # the row-by-row loop says which
        if name_keys is None:
            name_keys = list(nones)
            if self.require_name:
                self._required(items, errs, "name", "name is empty (客户名称 is required)", names)
            for k, name in enumerate(names):
                if name is None:
                    continue
                if len(name) > MAX_NAME:
                    fail(errs[k], items[k][0], "name", _("name is too long ({name} characters; at most {MAX_NAME})").format(name=len(name), MAX_NAME=MAX_NAME))
                    continue
                try:
                    name_keys[k] = _name_key(name)
                except ParseError as exc:
                    fail(errs[k], items[k][0], "name", str(exc))
        columns_of["name"], columns_of["name_key"] = names, name_keys

        pairs = get("phone", nones)
        other_keys: list[tuple[str, ...]] = [()] * n
        if n and None not in pairs and all(len(p) == 4 and not p[2] and p[3] is None for p in pairs) and "other_phones" not in conv:
            phones, phone_keys = [p[0] for p in pairs], [p[1] for p in pairs]  # one plain number a cell
        else:
            phones, phone_keys, other_keys = self._phones(pairs, conv.get("other_phones"), columns_of, get("notes", nones), n)
        columns_of["phone"], columns_of["phone_key"] = phones, phone_keys

        codes = get("code", nones)
        fast = _CODE_FAST.fullmatch
        if not all(map(fast, [c for c in codes if c is not None])):
            codes = list(codes)
            for k, code in enumerate(codes):
                if code is not None and not fast(code):  # else already what check_code returns
                    try:
                        codes[k] = self._check_code(code)
                    except ParseError as exc:
                        fail(errs[k], items[k][0], "code", str(exc))

        created = get("created_at")
        if created is not None:  # a customer is created when it is first met, never later
            for k, day in enumerate(created):
                if day is not None and day > self.today_iso:
                    fail(errs[k], items[k][0], "created_at", _future("creation date", day, self.today_iso))

        cts = get("contact_title")
        if cts is not None:
            contacts, titles = list(get("contact", nones)), list(get("title", nones))
            for k, ct in enumerate(cts):
                if ct is None:
                    continue
                parts = re.split(r"\s*[/|]\s*", ct, maxsplit=1)  # NFKC made ／ and ｜ ASCII
                if parts[0].strip() and contacts[k] is None:
                    contacts[k] = parts[0].strip()
                if len(parts) > 1 and parts[1].strip() and titles[k] is None:
                    titles[k] = parts[1].strip()
            columns_of["contact"], columns_of["title"] = contacts, titles
        if stages is not None:
            columns_of["stage"] = stages

        no_tags: tuple[str, ...] = ()
        tag_cells = get("tags")
        tags = [self._clean_tags([t]) if t else no_tags for t in tag_cells] if tag_cells is not None else [no_tags] * n

        follow_ups = self._follow_ups(items, conv, errs, n, nones)
        deals = self._deals(items, conv, stages, errs, n, nones) if "deal_date" in conv or "deal_amount" in conv else nones

        # A row's values: its customer columns, and the ones worked out above; nothing else (the
        # file's 最后跟进日期 is information only: a customer's summary comes from its follow-ups).
        value_columns = [
            columns_of[c] if c in columns_of else conv[c] if c in self.customer_fields else nones for c in INSERT_COLUMNS
        ]
        idents = list(map(hash, zip(name_keys, phone_keys, strict=True)))
        customs: list[Any] = nones
        if self.custom_fields:
            keyed = [(f[len(CUSTOM):], conv[f]) for f in self.custom_fields]
            customs = [{key: col[k] for key, col in keyed if col[k] is not None} or None for k in range(n)]
        by = get("follow_by", nones)
        today = self.today_iso
        if sensitive is None:
            sensitive = nones
        out: list[tuple[_Parsed | None, list[str]]] = []
        append = out.append
        for k, values in enumerate(zip(*value_columns, strict=True)):
            errors = errs[k]
            if errors:
                append((None, errors))
                continue
            fus = follow_ups[k]
            rowno, row = items[k]
            append((
                _Parsed(
                    rowno, dict(zip(INSERT_COLUMNS, values, strict=True)), codes[k], tags[k], fus, deals[k],
                    fus[0][0] if fus else today, by[k], row, sensitive[k], idents[k], customs[k], other_keys[k],
                ),
                errors,
            ))  # fmt: skip
        return out

    def _people_and_places(self, conv: dict[str, list[Any]], columns_of: dict[str, list[Any]], n: int, nones: list[Any]) -> None:
        """A person column (客户姓名, First + Last Name) and the parts of a region (省 市 区).

        Spec §12: when a sheet has a company column and a person column, the customer's name is
        the company where the row has one, else the person (a 个人客户); the person is the contact.
        """
        get = conv.get
        persons = get("person")
        first, last = get("first_name"), get("last_name")
        if first is not None or last is not None:
            joined = [_person_name(f, la) for f, la in zip(first or nones, last or nones, strict=True)]
            persons = [p if p is not None else j for p, j in zip(persons or nones, joined, strict=True)]
        if persons is not None:
            columns_of["name"] = [c if c is not None else p for c, p in zip(get("name", nones), persons, strict=True)]
            columns_of["contact"] = [c if c is not None else p for c, p in zip(get("contact", nones), persons, strict=True)]
        parts = [get(k) for k in ("province", "city", "district") if get(k) is not None]
        if parts:
            regions = ["".join(dict.fromkeys(x for x in row if x)) or None for row in zip(*parts, strict=True)]
            columns_of["region"] = [r if r is not None else j for r, j in zip(get("region", nones), regions, strict=True)]

    def _phones(
        self, pairs: list[Any], others: list[Any] | None, columns_of: dict[str, list[Any]], notes: list[Any], n: int,
    ) -> tuple[list[Any], list[str], list[tuple[str, ...]]]:  # fmt: skip
        """Each row's phone, its key ('' for none: spec §3), its other phones' keys; the other
        phones (shown) and what a phone cell said besides its numbers (into the notes)."""
        phones: list[Any] = [None] * n
        keys: list[str] = [""] * n
        other_keys: list[tuple[str, ...]] = [()] * n
        shown_others: list[Any] = [None] * n
        new_notes = list(columns_of.get("notes") or notes)
        for k in range(n):
            cells = [c for c in [pairs[k], *(others[k] if others else ())] if c]
            numbers: dict[str, str] = {}  # key -> as shown, the phone first
            said = []
            for shown, key, more, note in cells:
                for s_, k_ in ((shown, key), *more):
                    numbers.setdefault(k_, s_)
                if note:
                    said.append(note)
            if numbers:
                (keys[k], phones[k]), *rest = numbers.items()
                if rest:
                    other_keys[k] = tuple(x for x, _ in rest)
                    shown_others[k] = "; ".join(v for _, v in rest)
            if said:
                new_notes[k] = _join(new_notes[k], "; ".join(dict.fromkeys(said)))
        columns_of["other_phones"] = shown_others
        columns_of["notes"] = new_notes
        return phones, keys, other_keys

    def _follow_ups(
        self, items: list[tuple[int, list[Any]]], conv: dict[str, list[Any]], errs: list[list[str]], n: int, nones: list[Any],
    ) -> list[tuple[_FollowUp, ...]]:  # fmt: skip
        """Each row's follow-ups: one from the follow-up columns, and one per line of 跟进记录."""
        none: tuple[_FollowUp, ...] = ()
        out: list[tuple[_FollowUp, ...]] = [none] * n
        log_cells = conv.get("follow_log")
        if not self.has_follow and log_cells is None:
            return out
        get = conv.get
        by_c, last_c, created_c = get("follow_by", nones), get("last_follow_at", nones), get("created_at", nones)
        if self.has_follow:
            today = self.today_iso
            next_c = get("next_follow_at", nones)
            for k, (content, method, fb, plan, day) in enumerate(zip(
                get("follow_content", nones), get("follow_method", nones), get("follow_feedback", nones),
                get("follow_next_plan", nones), get("follow_date", nones), strict=True,
            )):  # fmt: skip
                feedback, feedback_text = fb or (None, None)
                if not (content or method or feedback or feedback_text or plan or day):
                    continue
                if day is not None and day > today:
                    self._fail(errs[k], items[k][0], "follow_date", _future("follow-up date", day, today) + _PLANS)
                elif day is None and last_c[k] is not None and last_c[k] > today:
                    self._fail(errs[k], items[k][0], "last_follow_at", _future("last follow-up date", last_c[k], today))
                day = day or last_c[k] or created_c[k] or today
                if feedback_text:
                    # free text in 客户反馈 (seed 004's Feedback) is kept in the content
                    content = f"{content}\n客户反馈：{feedback_text}" if content else f"客户反馈：{feedback_text}"
                next_date = next_c[k]
                if next_date is not None and next_date < day:
                    self._fail(errs[k], items[k][0], "next_follow_at", _("next follow-up date {next_date} is before the follow-up date {day}").format(next_date=next_date, day=day))
                out[k] = ((day, method, content or "", feedback, by_c[k], next_date, plan),)
        if log_cells is not None:
            for k, log in enumerate(log_cells):
                if not log:
                    continue
                try:
                    logged = tuple(_parse_log(log, by=by_c[k], last_follow=last_c[k], created=created_c[k], today=self.today))
                except ParseError as exc:
                    self._fail(errs[k], items[k][0], "follow_log", str(exc))
                    continue
                late = max(fu[0] for fu in logged)
                if late > self.today_iso:
                    self._fail(errs[k], items[k][0], "follow_log", _future("a follow-up dated", late, self.today_iso) + _PLANS)
                out[k] += logged
        return out

    def _deals(
        self, items: list[tuple[int, list[Any]]], conv: dict[str, list[Any]], stages: list[str | None] | None,
        errs: list[list[str]], n: int, nones: list[Any],
    ) -> list[tuple[str, float] | None]:  # fmt: skip
        out: list[tuple[str, float] | None] = [None] * n
        amounts = conv.get("amount", nones)
        for k, (deal_date, amount) in enumerate(zip(conv.get("deal_date", nones), conv.get("deal_amount", nones), strict=True)):
            rowno = items[k][0]
            if deal_date is not None and deal_date > self.today_iso:
                self._fail(errs[k], rowno, "deal_date", _future("deal date", deal_date, self.today_iso))
            elif deal_date is not None:
                if amount is None and stages is not None and stages[k] == "won":
                    amount = amounts[k]
                if amount is None:
                    self._fail(errs[k], rowno, "deal_date", "a deal date (成交日期) needs an amount (成交金额, or 预计成交金额 on a won row)")
                elif amount <= 0:
                    self._fail(errs[k], rowno, "deal_date", "the deal amount must be greater than 0")
                else:
                    out[k] = (deal_date, amount)
            elif amount is not None:
                self._fail(errs[k], rowno, "deal_amount", "a deal amount (成交金额) needs a deal date (成交日期)")
        return out
