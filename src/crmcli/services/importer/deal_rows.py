"""Reading an opportunity table (spec §13): which files are one, their header, and each row as the
values of one opportunity or its reasons for rejection.

Seed 004's 销售机会阶段表 (Opportunity_ID, Customer_ID, Opportunity_Name, Stage, Amount,
Probability, Expected_Date, Responsible), the tables other CRMs export (an account name, a sales
agent per deal, a product, engage and close dates, lost deals of value 0) and our own export's
销售机会 sheet are read by the header names of the field registry (``fields.OPPORTUNITY``).

Pure: no database. As for customers, a chunk is converted column by column, the cells of the
columns that repeat (customers, stages, dates, owners, products) once per distinct value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmcli import fields, normalize, vocab
from crmcli.errors import ParseError
from crmcli.i18n import N_, Text
from crmcli.i18n import gettext as _
from crmcli.io import columns
from crmcli.services.importer.cells import MAX_CELL, _cell_text, _empty, _shown, _unquote
from crmcli.services.opportunities import Line, default_probability, parse_amount, parse_line, parse_quantity

_CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
_LINES_SPLIT = re.compile(r"\s*[;；\n]\s*")
CLOSED = ("won", "lost")
# every field a row may give (the keys of ``_aliases`` that are read)
_FIELDS = (*(f.key for f in fields.OPPORTUNITY), "quantity", "unit_price", "by")
_NONE_GIVEN: frozenset[str] = frozenset()

# Headers only an opportunity table has: a file with one of them is imported as opportunities
# (an opportunity's id and name; not "Name", which a customer has too).
_DETECT_HEADERS = ("deal_stage", "Deal Stage", "close_value", "Close Value", "engage_date", "Engage Date", "商机阶段", "机会阶段")


def _aliases() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {f.key: (f.zh, f.en, f.key, *f.headers) for f in fields.OPPORTUNITY}
    out["by"] = (fields.DEAL_BY.zh, fields.DEAL_BY.en, *fields.DEAL_BY.headers)
    out["quantity"] = ("数量", "Quantity", "Qty", "quantity")
    out["unit_price"] = ("单价", "Unit Price", "Price", "unit_price")
    out["ignore"] = ("序号", "No", "No.", "#", "reject_reason", "拒绝原因", "行号")
    # a customer's own columns beside the opportunity's: recognised, not imported
    out["info"] = tuple(n for f in fields.CUSTOMER for n in f.names)
    return out


HEADERS = columns.build_table(_aliases())
_CODE, _NAME = fields.OPPORTUNITY_BY_KEY["code"], fields.OPPORTUNITY_BY_KEY["name"]
_DETECT = frozenset(
    columns.norm_header(h) for h in (_CODE.zh, _CODE.en, *_CODE.headers, _NAME.zh, *_NAME.headers, *_DETECT_HEADERS)
)


def is_opportunity_table(head: list[list[Any]]) -> bool:
    """Does a row among the first ones hold an opportunity's own column (机会编号, Opportunity_Name,
    deal_stage, close_value, ...) beside another one we know? Then the file is an opportunity table."""
    for row in head:
        keys = [columns.norm_header(c) for c in row if isinstance(c, str) and c.strip()]
        if not _DETECT.isdisjoint(keys) and sum(k in HEADERS for k in keys) >= 2:
            return True
    return False


def parse_map(specs: tuple[str, ...]) -> dict[str, str]:
    """``--map 'HEADER=field'`` for an opportunity table: the field is a key (customer_name, amount...) or a header."""
    from crmcli.errors import UsageError

    keys = {k for k in _aliases() if k != "info"}
    out: dict[str, str] = {}
    for spec in specs:
        head, eq, target = spec.partition("=")
        if not eq or not head.strip() or not target.strip():
            raise UsageError(N_("{map} {spec!r}: write it as 'HEADER=field'"), options=["map"], spec=spec)
        t = target.strip()
        fld = t if t in keys else HEADERS.get(columns.norm_header(t))
        if fld is None or fld == "info":
            raise UsageError(N_("{map} {spec!r}: unknown opportunity field '{t}'; fields: {keys}"), options=["map"], spec=spec, t=t, keys=', '.join(sorted(keys)))
        out[columns.norm_header(head)] = fld
    return out


@dataclass(slots=True)
class DealRow:
    """One opportunity as a row gives it (dates ISO text; None for what the row leaves empty)."""

    rowno: int
    row: list[Any]
    code: str | None  # the row's id when it fits as a code
    external_id: str | None  # the row's id when it does not
    customer_code: str | None
    customer: tuple[str, str] | None  # (name, name key)
    name: str | None
    stage: str
    amount: float | None
    probability: float
    expected_close: str | None
    created: str  # the day it opened
    closed: str | None  # won or lost on
    owner: str | None
    lines: tuple[Line, ...] | None  # None: the row names no product
    lost_reason: str | None
    given: frozenset[str]  # the fields the row filled in (what --on-duplicate update overwrites)
    by: str | None = None  # who recorded it (our export's 录入人): else the importing user


class DealParser:
    """Cells -> DealRow, one converter per present column, memoised for the repeating ones."""

    def __init__(self, header: columns.Header, *, today: dt.date, from_csv: bool, value_maps: dict[str, dict[str, str]],
                 date_order: str | None, probability: dict[str, float]) -> None:  # fmt: skip
        self.today = today
        self.today_iso = today.isoformat()
        self.from_csv = from_csv
        self.width = header.width
        self.idx: dict[str, int] = {}
        self.names: dict[int, str] = {}
        for col in header.columns:
            self.names[col.index] = col.header
            if col.field and col.field not in self.idx:
                self.idx[col.field] = col.index
        self.stage_map = value_maps.get("stage", {})
        self.date_order = date_order
        self.probability = probability
        self.unknown: Counter[str] = Counter()  # stage values nobody knows, and how many rows hold them
        self.track_given = False  # --on-duplicate update: which fields each row filled in
        memo = ("customer_code", "customer_name", "stage", "owner", "by", "products", "amount", "probability", "quantity", "unit_price",
                "expected_close", "created_at", "closed_at", "lost_reason")  # fmt: skip
        self.plan: list[tuple[str, int, dict[Any, Any] | None, Callable[[Any], Any]]] = [
            (fld, i, {"": None} if fld in memo else None, self._converter(fld)) for fld, i in self.idx.items()
        ]

    def where(self, fld: str, rowno: int) -> str:
        i = self.idx.get(fld)
        return _("row {rowno}, column {column}").format(rowno=rowno, column=self.names[i]) if i is not None else _("row {rowno}").format(rowno=rowno)

    # -- converters: None for an empty cell, ParseError for a bad one

    def _converter(self, fld: str) -> Callable[[Any], Any]:
        text = self._text
        if fld == "code":
            return self._code
        if fld in ("customer_code", "external_id"):
            return lambda v: (t.upper() if (t := text(v)) else None)
        if fld == "customer_name":
            return self._customer
        if fld == "stage":
            return self._stage
        if fld == "amount":
            return lambda v: None if (t := self._raw(v)) is None else parse_amount(t)
        if fld == "probability":
            return self._probability
        if fld in ("expected_close", "created_at", "closed_at"):
            return self._date
        if fld == "products":
            return self._products
        if fld == "quantity":
            return lambda v: None if (t := self._raw(v)) is None else parse_quantity(t)
        if fld == "unit_price":
            return lambda v: None if (t := self._raw(v)) is None else parse_amount(t, what=Text(N_("unit price")))
        if fld == "lost_reason":
            return lambda v: None if (t := self._raw(v)) is None else normalize.keep_text(t)
        return text  # name, owner

    def _raw(self, v: Any) -> Any:
        if v == "" or v is None:
            return None
        if type(v) is str:
            if self.from_csv:
                v = _unquote(v)
            if len(v) > MAX_CELL:
                raise ParseError(N_("cell is too long ({v:,} characters; at most {max_cell:,})"), v=len(v), max_cell=MAX_CELL)
            if normalize.is_empty(v):
                return None
        return v

    def _text(self, v: Any) -> str | None:
        raw = self._raw(v)
        return None if raw is None else normalize.clean_text(raw)

    def _code(self, v: Any) -> tuple[str | None, str | None] | None:
        """(code, None) when the id fits as a code, else (None, external id)."""
        if type(v) is str and len(v) <= 40 and v.isascii() and v.isalnum():
            return v.upper(), None  # a plain id (O20240501001): nothing to clean, no marker is alphanumeric
        t = self._text(v)
        if t is None:
            return None
        up = t.upper()
        return (up, None) if _CODE_RE.fullmatch(up) else (None, t)

    def _customer(self, v: Any) -> tuple[str, str] | None:
        t = self._text(v)
        return None if t is None else (t, normalize.name_key(t))

    def _stage(self, v: Any) -> str | None:
        t = self._text(v)
        if t is None:
            return None
        key = self.stage_map.get(vocab.fold(t)) or vocab.lookup("deal_stage", t)
        if key is None:
            raise ParseError(N_("unknown stage '{t}'; accepted: {stages} (or map the value to one of them when importing)"), t=t, stages=', '.join(vocab.STAGES))
        return key

    def _probability(self, v: Any) -> float | None:
        raw = self._raw(v)
        if raw is None:
            return None
        if type(raw) is str and not raw.strip().endswith(("%", "％")):
            try:
                raw = float(raw.strip())
            except ValueError:
                pass  # parse_probability says why
        if isinstance(raw, int | float) and not isinstance(raw, bool) and 0 < raw < 1:
            raw = raw * 100  # a percentage cell holds 0.6 for 60% (as does its CSV); 0.6% is written "0.6%"
        from crmcli.services.opportunities import parse_probability

        return parse_probability(raw, what=Text(N_("probability")))

    def _date(self, v: Any) -> str | None:
        raw = self._raw(v)
        if raw is None:
            return None
        if type(raw) is str and raw.strip().isdigit() and len(raw.strip()) <= 5:
            raw = float(raw)  # an Excel serial in a CSV (spec §9)
        return normalize.parse_date(raw, self.today, self.date_order).isoformat()

    def _products(self, v: Any) -> tuple[Line, ...] | None:
        t = self._text(v)
        if t is None:
            return None
        return tuple(parse_line(part) for part in _LINES_SPLIT.split(t) if part)

    # -- a chunk

    def parse_chunk(self, items: list[tuple[int, list[Any]]]) -> list[tuple[DealRow | None, list[str]]]:
        width = self.width
        n = len(items)
        errs: list[list[str]] = [[] for _ in range(n)]
        rows = []
        for k, (rowno, row) in enumerate(items):
            if len(row) < width:
                row = row + [""] * (width - len(row))
            elif len(row) > width:
                extra = [c for c in row[width:] if not _empty(c)]
                if extra:
                    errs[k].append(_("row {rowno}: {extra} cell(s) beyond the last column of the header, e.g. '{value}'").format(rowno=rowno, extra=len(extra), value=_cell_text(extra[0])[:40]))
                row = row[:width]
            rows.append(row)
        cols = list(zip(*rows, strict=True)) if width else []
        conv: dict[str, list[Any]] = {}
        for fld, i, memo, fn in self.plan:
            conv[fld] = self._column(fld, i, cols[i], memo, fn, items, errs)
        nothing = [None] * n  # the column of a field the file does not have
        every = {fld: conv.get(fld, nothing) for fld in _FIELDS}
        return [self._assemble(k, items[k], conv, every, errs[k]) for k in range(n)]

    def _column(self, fld: str, i: int, col: tuple[Any, ...], memo: dict[Any, Any] | None, fn: Callable[[Any], Any],
                items: list[tuple[int, list[Any]]], errs: list[list[str]]) -> list[Any]:  # fmt: skip
        out: list[Any] = [None] * len(col)
        for k, v in enumerate(col):
            try:
                if memo is None:
                    out[k] = fn(v)
                elif v in memo:
                    out[k] = memo[v]
                else:
                    out[k] = memo[v] = fn(v)
            except ParseError as exc:
                errs[k].append(_shown(_("row {rowno}, column {column}: {reason}").format(rowno=items[k][0], column=self.names[i], reason=exc)))
                if fld == "stage":
                    self.unknown[self._text(v) or str(v)] += 1
        return out

    def _assemble(self, k: int, item: tuple[int, list[Any]], conv: dict[str, list[Any]], every: dict[str, list[Any]],
                  errs: list[str]) -> tuple[DealRow | None, list[str]]:  # fmt: skip
        rowno, row = item

        def get(fld: str) -> Any:
            return every[fld][k]

        given = frozenset(f for f in conv if conv[f][k] is not None) if self.track_given else _NONE_GIVEN
        ident = every["code"][k]
        code, external = ident if ident else (None, None)
        external = every["external_id"][k] or external
        customer_code, customer = every["customer_code"][k], every["customer_name"][k]
        if customer_code is None and customer is None and not errs:
            where = ", ".join(self.names[self.idx[f]] for f in ("customer_code", "customer_name") if f in self.idx)
            errs.append(_("row {rowno}: names no customer (column {where} is empty)").format(rowno=rowno, where=where))
        stage = every["stage"][k] or "potential"
        lines = every["products"][k]
        if lines is not None and len(lines) == 1 and (get("quantity") is not None or get("unit_price") is not None):
            only = lines[0]  # a product column beside quantity and unit price columns
            unit_price = get("unit_price") if get("unit_price") is not None else only.unit_price
            lines = (Line(only.product, get("quantity") or only.quantity, unit_price),)
        amount = every["amount"][k]
        if amount is None and lines:
            priced = [ln.quantity * ln.unit_price for ln in lines if ln.unit_price is not None]
            amount = round(sum(priced), 2) if priced else None
        if stage == "won" and not amount:
            errs.append(_("{value}: a won opportunity needs an amount greater than 0").format(value=self.where('amount', rowno)))
        expected, created, closed = every["expected_close"][k], every["created_at"][k], every["closed_at"][k]
        today = self.today_iso
        if stage in CLOSED:
            closed = closed or (expected if expected and expected <= today else None) or created or today
        elif closed is not None:  # an open opportunity's close date is when it is expected to close
            expected, closed = expected or closed, None
        created = created or closed or today
        for fld, day in (("created_at", created), ("closed_at", closed)):
            if day is not None and day > today:
                errs.append(_("{value}: {day} is in the future (today is {today})").format(value=self.where(fld, rowno), day=day, today=today))
        if closed is not None and created > closed:
            errs.append(_("{value}: it opened on {created}, after it closed on {closed}").format(value=self.where('created_at', rowno), created=created, closed=closed))
        if errs:
            return None, errs
        probability = every["probability"][k]
        if stage in CLOSED or probability is None:
            probability = default_probability(stage, self.probability)
        return DealRow(
            rowno, row, code, external, customer_code, customer, every["name"][k], stage, amount, probability, expected, created,
            closed, every["owner"][k], lines, every["lost_reason"][k] if stage == "lost" else None, given, every["by"][k],
        ), errs  # fmt: skip
