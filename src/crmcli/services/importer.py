"""Importing customers (and their follow-ups) from a spreadsheet; undoing an import (spec §9).

One import is one write transaction and one ``import_batch`` row. The file is opened (calamine
parses the whole sheet, 1.4 s per 100k rows, without the GIL) in a thread while the database
is opened. Rows then stream in chunks of ``CHUNK``; each chunk is

1. parsed (pure: cells -> values, or the row's reasons for rejection; one converter per column,
   memoised for the low-cardinality ones; the checks across columns -- required name and phone,
   codes, follow-ups, deals -- run over whole columns too, since after the sheet is read the
   import is bound by the GIL: Python time is what makes it fast or slow),
2. resolved: identity (name key + phone key) and code -> id maps of every customer this import
   created or looked at, and, when the database had customers before, one query per chunk for
   the others whose phone key or code appears in the chunk,
3. applied in file order to a chunk-local view (new customers, updates, follow-ups, deals),
4. written by a writer thread with multi-row INSERTs on the raw sqlite3 connection (never
   per-row ORM) while the next chunk is parsed.

Identity (§3): a code the database already has names that customer when the row's name or
phone matches it; otherwise normalised name + phone decides. Within the file, later rows see
the customers earlier rows created.

Stage columns: the "at least half of the values are stages" rule needs the whole column, which
a stream only knows at the end. The import therefore assumes every candidate column passes; when
a column that fails the rule was actually used by some row, the work is rolled back to a
savepoint and done again with that column set aside. (Seed 000's 合作状态 is never used when
客户类型 is filled, so the usual 100k-row sheet is read once.)

Codes for rows without one are handed out at the end, in file order (a placeholder ``~id``
holds the unique column meanwhile), so a code written further down the file is never taken by
an earlier code-less row.

Undo: ``batch_change`` holds, for this batch, one row per customer it created (``before`` NULL),
one per existing customer it changed (``before`` = ``{"before": {field: old}, "after":
{field: new}}``) and one per tag it added to an existing customer (``table_name`` "tag",
``before`` = ``{"name": tag}``). Follow-ups, stage changes and deals carry ``batch_id``.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import operator
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli import normalize, vocab
from crmcli.errors import CrmError, NotFound, ParseError, UsageError
from crmcli.io import columns, readers

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

CHUNK = 1000  # rows parsed, then written, at a time: smaller chunks keep both threads busy (1000-1333 measured best)
MAX_CELL = 32767  # Excel's own limit for a cell
MAX_NAME = 200
REASON_SAMPLES = 20

ON_DUPLICATE = ("skip", "update", "fail")

# Customer columns an import writes, in INSERT order (archived takes its default, 0).
INSERT_COLUMNS = (
    "id", "code", "name", "name_key", "phone", "phone_key", "contact", "title", "email", "industry",
    "source", "level", "stage", "owner", "need", "notes", "amount", "expected_close", "lost_reason",
    "created_at", "last_follow_at", "last_method", "next_date", "next_plan",
)  # fmt: skip
# Fields a row may set on an existing customer with --on-duplicate update.
UPDATE_FIELDS = (
    "code", "name", "phone", "contact", "title", "email", "industry", "source", "level", "stage",
    "owner", "need", "notes", "amount", "expected_close", "lost_reason", "created_at",
)  # fmt: skip
_insert_row = operator.itemgetter(*INSERT_COLUMNS)
_LOAD_COLUMNS = tuple(c for c in INSERT_COLUMNS if c not in ("last_follow_at", "last_method", "next_date", "next_plan"))

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_LABEL_RE = re.compile(r"^\s*(?:电话|手机|手机号|座机|tel|mobile|phone)\s*[:：]\s*", re.IGNORECASE)
_FORMULA_START = frozenset("=+-@\t\r")
# 跟进记录 cells (seed 002): "09-20电话沟通:…;下一步:…", one follow-up per dated line.
_LOG_DATE_RE = re.compile(r"^\s*(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?")
_LOG_LINE_START_RE = re.compile(r"(?m)^(?=\s*(?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2})")
_NEXT_STEP_RE = re.compile(r"(?:下一步(?:计划)?|下步计划|next\s*step)\s*[:：]\s*(?P<plan>.+)$", re.IGNORECASE | re.S)
_PLAN_DATE_RE = re.compile(r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")


def _unquote(v: str) -> str:
    """Undo the csv export's formula neutralisation: one "'" comes off a cell that starts with
    quotes and then one of = + - @ TAB CR ("'=1+1" -> "=1+1", "''-x" -> "'-x"); the export
    prefixes exactly those cells, so any text round-trips."""
    if v[:1] == "'":
        rest = v.lstrip("'")
        if rest[:1] in _FORMULA_START and rest:
            return v[1:]
    return v


@dataclass
class ImportOptions:
    user: str
    today: dt.date
    on_duplicate: str = "skip"
    dry_run: bool = False
    strict: bool = False
    rejects: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    source: str | None = None
    sheet: str | None = None
    lang: str = "en"
    reject_sensitive: bool = False  # reject rows holding what looks like an ID or bank card number


@dataclass
class ImportResult:
    file: str
    batch: int | None = None
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    follow_ups: int = 0
    deals: int = 0
    stage_changes: int = 0
    blank_rows: int = 0
    example_rows: int = 0  # rows marked 示例 / EXAMPLE in the code column (the template's example)
    data_rows: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    stage_columns: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    reasons: list[str] = field(default_factory=list)  # the first few reject reasons
    updated_rows: list[str] = field(default_factory=list)  # the first few updates: row, customer, fields
    skipped_rows: list[str] = field(default_factory=list)  # the first few duplicates skipped
    header_row: int = 0
    sheet: str | None = None
    encoding: str | None = None
    dry_run: bool = False
    strict_failed: bool = False
    # Accepted rows holding what looks like a resident ID or bank card number (seeds 003/004 forbid
    # storing them), and where: "row 5, column 备注: looks like a Chinese ID number" -- never the number.
    sensitive: int = 0
    sensitive_rows: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        """Exit status (spec §9): 0 all imported or skipped, 3 partial, 1 nothing valid."""
        if self.strict_failed:
            return 1
        if self.rejected == 0:
            return 0
        return 3 if (self.created + self.updated + self.skipped) > 0 else 1

    def summary(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "follow_ups": self.follow_ups,
            "blank_rows": self.blank_rows,
            "example_rows": self.example_rows,
            "sensitive": self.sensitive,
            "unknown_columns": self.unknown_columns,
            "rejects_file": self.rejects_file,
            "unused_columns": self.unused_columns,
            "deals": self.deals,
            "stage_changes": self.stage_changes,
            "dry_run": self.dry_run,
            "file": self.file,
            # the first few of each, with why: what a dry run is for
            "rejected_rows": self.reasons,
            "updated_rows": self.updated_rows,
            "skipped_rows": self.skipped_rows,
        }


Progress = Callable[[int, int | None], None]  # (rows done, rows in total or None)


class _Rollback(Exception):
    """Raised inside the transaction to roll it back on purpose (dry run, --strict)."""


class _Redo(Exception):
    def __init__(self, failing: set[int]) -> None:
        self.failing = failing


# --------------------------------------------------------------------------- parsing one row


# A follow-up as parsed: (date, method, content, feedback, by, next_date, next_plan), the
# order of follow_up's INSERT columns after customer_id.
_FollowUp = tuple[str, "str | None", str, "str | None", "str | None", "str | None", "str | None"]


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
    ident: int = 0  # hash((name key, phone key)): the key of _Run.by_identity


def _cell_text(cell: object) -> str:
    """A cell as the rejects file shows it."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        # neutralise what Excel would run as a formula, as the csv export does (import strips
        # the "'" again); a lone "-" is an empty marker, not a formula
        if cell.lstrip("'")[:1] in _FORMULA_START and cell.lstrip("'") and len(cell.strip()) > 1:
            return "'" + cell
        return cell
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time() else cell.isoformat(sep=" ", timespec="seconds")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell)


_MARKERS_FOLDED = frozenset(m.casefold() for m in normalize.EMPTY_MARKERS)
_MISS = object()
# 16+ digits, maybe grouped by spaces or dashes (\d also matches full-width digits).
_CODE_FAST = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
_LONG_NUMBER_RE = re.compile(r"\d[\d -]{14,}[\dXx]")
_LONG_NUMBER_MIN = 16  # the shortest text _LONG_NUMBER_RE matches
_SENSITIVE_KINDS = {"id_number": "a Chinese resident ID number (身份证号)", "bank_card": "a bank card number (银行卡号)"}


def _clean_cell(v: Any) -> str | None:
    """A cell as grouping text (``normalize.clean_text``); refuses a cell over ``MAX_CELL``."""
    if v == "" or v is None:
        return None
    if type(v) is not str:
        return normalize.clean_text(v)  # numbers and dates as a person writes them
    if len(v) > MAX_CELL:
        raise _too_long(v)
    return _fast_clean(v)


def _keep_cell(v: Any) -> str | None:
    """A cell as prose (``normalize.keep_text``); refuses a cell over ``MAX_CELL``."""
    if v == "" or v is None:
        return None
    if type(v) is not str:
        return normalize.clean_text(v)
    if len(v) > MAX_CELL:
        raise _too_long(v)
    return _fast_keep(v)


_MARKER_CELLS = frozenset({"-", "—", "——", "/", "无", "n/a", "N/A", "n/A", "N/a"})
_CLEAN_MARKERS = frozenset(m for m in _MARKER_CELLS if m.casefold() in _MARKERS_FOLDED)


def _batch_text(col: tuple[Any, ...], prose: bool) -> list[Any] | None:
    """A whole column through the fast path of ``_fast_clean`` (or ``_fast_keep`` for prose)
    at once, with C-level string checks on the joined column; None when any cell needs the
    cell-by-cell path (a number, an edge space, a line break, a marker, a full-width form...).

    '|' joins the cells: it is printable, NFKC-stable and composes with nothing, so the joined
    text passes a check exactly when every cell does.
    """
    try:
        joined = "|".join(col)
    except TypeError:  # a number or date cell
        return None
    if not _plain(joined) or max(map(len, col), default=0) > MAX_CELL:
        return None
    if prose:
        if min(map(len, filter(None, col)), default=7) <= 6 and any(len(v) <= 6 and normalize.is_empty(v) for v in set(col) if v):
            return None
    elif "  " in joined or not _CLEAN_MARKERS.isdisjoint(col):
        return None
    elif not unicodedata.is_normalized("NFKC", joined):
        # Full-width brackets in company names ("（合肥）"): NFKC the cells that need it, then
        # the checks again on the result (NFKC can make spaces: "¨" is " " + a combining mark).
        isn, nfkc = unicodedata.is_normalized, unicodedata.normalize
        col = tuple([v if isn("NFKC", v) else nfkc("NFKC", v) for v in col])
        joined = "|".join(col)
        if not _plain(joined) or "  " in joined or not _CLEAN_MARKERS.isdisjoint(col):
            return None
    return [v if v else None for v in col] if "" in col else list(col)


def _plain(joined: str) -> bool:
    """'|'-joined cells hold no character and no cell an edge that the text cleaners change
    (isprintable() is False for line breaks, tabs, NBSP and invisible characters)."""
    return joined.isprintable() and joined[:1] != " " and joined[-1:] != " " and " |" not in joined and "| " not in joined


def _fast_clean(v: str) -> str | None:
    """``normalize.clean_text`` for a str, with a fast path for the common, already-clean cell."""
    if v.isprintable() and v[0] != " " and v[-1] != " " and "  " not in v and unicodedata.is_normalized("NFKC", v):
        # isprintable() excludes tabs, line breaks, NBSP and the invisible characters that
        # clean_text trims, so only the empty markers remain to check
        return None if len(v) <= 3 and v.casefold() in _MARKERS_FOLDED else v
    return normalize.clean_text(v)


def _fast_keep(v: str) -> str | None:
    """``normalize.keep_text`` for a str, with a fast path for text with no line breaks or edges."""
    if v.isprintable() and v[0] != " " and v[-1] != " ":
        return None if len(v) <= 6 and normalize.is_empty(v) else v
    return normalize.keep_text(v)


def _name_key(name: str) -> str:
    """``normalize.name_key`` of a cleaned (NFKC) name; a name with no spaces, invisible
    characters or capitals is its own key."""
    if " " not in name and name.isprintable() and name.casefold() == name:
        return name
    return normalize.name_key(name)


def _too_long(v: str) -> ParseError:
    return ParseError(f"cell is too long ({len(v):,} characters; at most {MAX_CELL:,})")


def _shown(message: str) -> str:
    return message if len(message) <= 300 else message[:300] + "..."


Converter = Callable[[Any], Any]
_IDENT = operator.attrgetter("ident")
_CODE = operator.attrgetter("code")

# Fields and how their cells are read.
_CLEAN = ("name", "contact", "code", "contact_title")  # NFKC text, unique per row
_CLEAN_MEMO = ("title", "industry", "source", "owner", "follow_by", "tags")  # NFKC text, few values
_PROSE = ("need", "notes", "lost_reason", "follow_content", "follow_next_plan", "follow_log")  # as typed
_DATES = ("created_at", "expected_close", "last_follow_at", "next_follow_at", "follow_date", "deal_date")
# Parsed fields that are not customer columns.
_NOT_CUSTOMER = (
    "name", "phone", "code", "contact_title", "tags", "last_follow_at", "next_follow_at", "follow_date",
    "follow_by", "follow_method", "follow_content", "follow_feedback", "follow_next_plan", "follow_log",
    "deal_date", "deal_amount",
)  # fmt: skip


class _Parser:
    """Cells -> values. One converter per present column, built once; results of the
    low-cardinality columns (dates, enums, industry, owner...) are memoised per cell value."""

    def __init__(self, header: columns.Header, opts: ImportOptions, *, from_csv: bool, check_nul: bool, stage_cols: list[columns.Column]) -> None:
        self.today = opts.today
        self.today_iso = opts.today.isoformat()
        self.from_csv = from_csv
        self.check_nul = check_nul
        self.width = header.width
        self.idx: dict[str, int] = {}
        self.names: dict[int, str] = {}
        for col in header.columns:
            self.names[col.index] = col.header
            if col.field and col.field != "stage" and col.field not in self.idx:
                self.idx[col.field] = col.index
        # (field, column index, memo or None, converter): the converter fills the memo
        self.plan: list[tuple[str, int, dict[Any, Any] | None, Converter]] = []
        for fld, i in self.idx.items():
            memo, conv = self._converter(fld)
            if from_csv:
                conv = _unquoting(conv)  # the memo is keyed by the cell as read
            self.plan.append((fld, i, memo, conv))
        self.customer_fields = frozenset(self.idx) - frozenset(_NOT_CUSTOMER)
        self.stage_cols = stage_cols
        self.stage_idx = [c.index for c in stage_cols]
        self.stage_nonempty = {c.index: 0 for c in stage_cols}
        self.stage_hits = {c.index: 0 for c in stage_cols}
        self.stage_used: set[int] = set()
        # columns whose header cell is empty: named "column C" (a header typed so is "unknown")
        self.headerless = [
            c.index for c in header.columns
            if c.field is None and c.header.startswith("column ") and c.header not in header.unknown and c.index < self.width
        ]  # fmt: skip
        self.headerless_with_data: set[int] = set()
        self._stage_cache: dict[Any, Any] = {}  # cell -> '' (empty), None (not a stage) or key
        self.has_follow = any(f in self.idx for f in columns.FOLLOW_FIELDS)
        from crmcli.services.customers import check_code, clean_tags

        self._check_code = check_code
        self._clean_tags = clean_tags
        self.formula_cells: Callable[[], set[tuple[int, int]]] | None = None  # set by the run for .xlsx
        self.col_offset = 0
        self.reject_sensitive = opts.reject_sensitive
        # Free-text columns only: a phone, date, amount or enum cell cannot hold such a number
        # and be accepted (a phone has at most 15 digits, an amount at most 1e15).
        self.sensitive_idx = [i for f, i in self.idx.items() if f in _CLEAN + _CLEAN_MEMO + _PROSE + ("email", "follow_feedback")]

    # -- converters: cell -> stored value, None for an empty cell, ParseError for a bad one

    def _converter(self, fld: str) -> tuple[dict[Any, Any] | None, Converter]:
        if fld in _CLEAN:
            return None, _clean_cell
        if fld in _PROSE:
            return None, _keep_cell
        if fld == "email":
            return None, _email_conv
        if fld == "phone":
            return None, _phone_conv
        if fld in ("amount", "deal_amount"):
            return None, _money_conv
        memo: dict[Any, Any] = {"": None}
        conv: Converter
        if fld in _CLEAN_MEMO:
            conv = _clean_cell
        elif fld == "follow_feedback":
            conv = _feedback_conv
        elif fld in ("level", "follow_method"):
            conv = _enum_conv("level" if fld == "level" else "method")
        elif fld in _DATES:
            conv = _date_conv(self.today)
        else:  # pragma: no cover
            raise AssertionError(fld)
        return memo, conv

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
                        errs[k].append(f"row {items[k][0]}, {at}: the cell holds a NUL character (binary data?), shown as ␀ in the rejects file")
                        break
        for i in self.headerless:
            if i not in self.headerless_with_data and any(not _empty(row[i]) for row in rows):
                self.headerless_with_data.add(i)
        cols = list(zip(*rows, strict=True)) if width else []
        converted: dict[str, list[Any]] = {}
        for fld, i, memo, conv in self.plan:
            converted[fld] = self._column(fld, i, cols[i], memo, conv, items, errs)
        stages = self._stages(cols, rows, items, errs) if self.stage_idx else None
        sensitive: list[str | None] | None = None
        # the chunk's free text in one search first: most chunks hold no long number at all;
        # a column whose cells are all shorter than a match (codes, industries...) is left out
        try:
            text = "\x1f".join(chain.from_iterable(
                c for c in (cols[i] for i in self.sensitive_idx) if max(map(len, c), default=0) >= _LONG_NUMBER_MIN
            ))  # fmt: skip
            scan = bool(_LONG_NUMBER_RE.search(text))
        except TypeError:  # a number or date cell among them
            scan = True
        if scan:
            sensitive = [self._sensitive(items[k][0], row) for k, row in enumerate(rows)]
            if self.reject_sensitive:
                for k, where in enumerate(sensitive):
                    if where:
                        errs[k].append(f"{where}; such numbers must not be stored (--reject-sensitive)")
        return self._assemble(items, converted, stages, sensitive, errs)

    def _column(
        self, fld: str, i: int, col: tuple[Any, ...], memo: dict[Any, Any] | None, conv: Converter,
        items: list[tuple[int, list[Any]]], errs: list[list[str]],
    ) -> list[Any]:  # fmt: skip
        """One column of a chunk converted; a bad cell gets None and a reason in its row."""
        if memo is not None:
            bad: dict[Any, str] = {}
            for v in set(col).difference(memo):
                try:
                    memo[v] = conv(v)
                except ParseError as exc:
                    bad[v] = str(exc)
            if bad:
                for k, v in enumerate(col):
                    if v in bad:
                        errs[k].append(_shown(f"row {items[k][0]}, column {self.names[i]}: {bad[v]}"))
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
                errs[k].append(_shown(f"row {items[k][0]}, column {self.names[i]}: {exc}"))
        return values

    def _sensitive(self, rowno: int, row: list[Any]) -> str | None:
        """Where the row's imported text holds what looks like a resident ID or bank card number."""
        # One search over the row's text first (a separator no digit run crosses): most rows
        # hold no long number at all, and 12 searches per row cost 10% of an import.
        if not _LONG_NUMBER_RE.search("\x1f".join([v for v in map(row.__getitem__, self.sensitive_idx) if type(v) is str])):
            return None
        for i in self.sensitive_idx:
            v = row[i]
            # A cheap scan first: looks_sensitive only for cells with a long run of digits.
            if type(v) is str and _LONG_NUMBER_RE.search(v):
                kind = normalize.looks_sensitive(v)
                if kind:
                    return f"row {rowno}, column {self.names[i]}: looks like {_SENSITIVE_KINDS[kind]}"
        return None

    def _fit(self, rowno: int, row: list[Any], errors: list[str]) -> list[Any]:
        width = self.width
        if len(row) < width:
            return row + [""] * (width - len(row))
        extra = [c for c in row[width:] if not _empty(c)]
        if extra:
            errors.append(
                f"row {rowno}: {len(extra)} cell(s) beyond the last column of the header "
                f"({columns.column_letter(width)}...), e.g. '{_cell_text(extra[0])[:40]}' (an unquoted comma?)"
            )
        return row

    def _formula_note(self, rowno: int, fld: str) -> str:
        """Why a required cell reads as empty when it holds a formula nobody saved a value for."""
        if self.formula_cells is None:
            return ""
        if (rowno - 1, self.idx[fld] + self.col_offset) in self.formula_cells():
            return (
                "; the cell holds a formula with no saved value (formulas are never evaluated: "
                "open and save the file in Excel, or paste the values)"
            )
        return ""

    def _fail(self, errors: list[str], rowno: int, fld: str, message: str) -> None:
        i = self.idx.get(fld)
        where = f"column {self.names[i]}" if i is not None else fld
        errors.append(_shown(f"row {rowno}, {where}: {message}"))

    def _said(self, errors: list[str], rowno: int, fld: str) -> bool:
        """Has a reason about this field's column been given already?"""
        prefix = f"row {rowno}, column {self.names[self.idx[fld]]}:"
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

        names = get("name", nones)
        name_keys: list[Any] | None = None
        if None not in names and max(map(len, names), default=0) <= MAX_NAME:
            try:
                name_keys = list(map(_name_key, names))
            except ParseError:
                pass  # the row-by-row loop says which
        if name_keys is None:
            name_keys = list(nones)
            self._required(items, errs, "name", "name is empty (客户名称 is required)", names)
            for k, name in enumerate(names):
                if name is None:
                    continue
                if len(name) > MAX_NAME:
                    fail(errs[k], items[k][0], "name", f"name is too long ({len(name)} characters; at most {MAX_NAME})")
                    continue
                try:
                    name_keys[k] = _name_key(name)
                except ParseError as exc:
                    fail(errs[k], items[k][0], "name", str(exc))
        columns_of["name"], columns_of["name_key"] = names, name_keys

        pairs = get("phone", nones)
        if n and None not in pairs:
            phones, phone_keys = map(list, zip(*pairs, strict=True))
        else:
            self._required(items, errs, "phone", "phone is empty (联系电话 is required)", pairs)
            phones = [p[0] if p else None for p in pairs]
            phone_keys = [p[1] if p else None for p in pairs]
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
                    fus[0][0] if fus else today, by[k], row, sensitive[k], idents[k],
                ),
                errors,
            ))  # fmt: skip
        return out

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
                    self._fail(errs[k], items[k][0], "next_follow_at", f"next follow-up date {next_date} is before the follow-up date {day}")
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

    def _stages(self, cols: list[tuple[Any, ...]], rows: list[list[Any]], items: list[tuple[int, list[Any]]], errs: list[list[str]]) -> list[str | None]:
        """Each row's stage: the first stage column with a value wins (None: no stage given)."""
        out: list[str | None] = [None] * len(rows)
        pending = range(len(rows))
        for i, keys in zip(self.stage_idx, self._stage_keys(cols, len(rows)), strict=True):
            rest = []
            for k in pending:
                key = keys[k]
                if key == "":
                    rest.append(k)
                    continue
                self.stage_used.add(i)
                if key is None:
                    errs[k].append(_shown(f"row {items[k][0]}, column {self.names[i]}: {_unknown('stage', rows[k][i])}"))
                else:
                    out[k] = key
            pending = rest  # type: ignore[assignment]
        return out

    def _stage_keys(self, cols: list[tuple[Any, ...]], n: int) -> list[list[Any]]:
        """For each stage column, each cell as '' (empty), None (not a stage) or its stage key;
        counting, for the half rule, the column's values and how many are stages."""
        out = []
        cache = self._stage_cache
        for i in self.stage_idx:
            col = cols[i]
            for v in set(col).difference(cache):
                cache[v] = self._stage_key(v)
            keys = list(map(cache.__getitem__, col))
            empty = keys.count("")
            self.stage_nonempty[i] += n - empty
            self.stage_hits[i] += n - empty - keys.count(None)
            out.append(keys)
        if len(cache) > 10_000:
            cache.clear()
        return out

    def _stage_key(self, v: Any) -> str | None:
        """'' for an empty cell, None for a value that is not a stage, else the stage key."""
        if type(v) is str:
            if self.from_csv:
                v = _unquote(v)
            if len(v) > MAX_CELL:
                return None
        text = normalize.clean_text(v)
        if text is None:
            return ""
        return vocab.lookup("stage", text)


def _future(what: str, day: str, today: str) -> str:
    return f"{what} {day} is in the future (today is {today})"


# What a future follow-up date usually is: a plan typed into the wrong column.
_PLANS = "; a follow-up is recorded once it has happened: plans go in 下次跟进计划 / 下次跟进日期"


def _empty(v: Any) -> bool:
    return v == "" or v is None or (type(v) is str and normalize.is_empty(v))


def _unquoting(conv: Converter) -> Converter:
    """CSV only: undo the exporter's formula neutralisation ("'=..." -> "=...")."""

    def unquote(v: Any) -> Any:
        if type(v) is str:
            v = _unquote(v)
        return conv(v)

    return unquote


def _feedback_conv(v: Any) -> tuple[str | None, str | None] | None:
    if v == "" or v is None:
        return None
    if type(v) is str and len(v) > MAX_CELL:
        raise _too_long(v)
    text = normalize.keep_text(v)
    if text is None:
        return None
    key = vocab.lookup("feedback", text)
    return (key, None) if key else (None, text)


def _email_conv(v: Any) -> str | None:
    if v == "" or v is None:
        return None
    if type(v) is str and len(v) > MAX_CELL:
        raise _too_long(v)
    email = _fast_clean(v) if type(v) is str else normalize.clean_text(v)
    if email is None:
        return None
    if not _EMAIL_RE.fullmatch(email):
        raise ParseError(f"email '{email[:60]}' is not an e-mail address")
    return email


def _phone_conv(v: Any) -> tuple[str, str] | None:
    if v == "" or v is None:
        return None
    if type(v) is str:
        if len(v) == 11 and v[0] == "1" and v.isdigit() and v.isascii():
            return v, v
        if len(v) > 200:
            raise ParseError(f"phone is too long ({len(v):,} characters)")
        if normalize.is_empty(v):
            return None
        v = _PHONE_LABEL_RE.sub("", v)
    return normalize.clean_phone(v), normalize.phone_key(v)


def _enum_conv(fld: str) -> Converter:
    def conv(v: Any) -> str | None:
        if type(v) is str and len(v) > MAX_CELL:
            raise _too_long(v)
        text = normalize.clean_text(v)
        if text is None:
            return None
        key = vocab.lookup(fld, text)
        if key is None:
            raise ParseError(_unknown(fld, text))
        return key

    return conv


def _money_conv(v: Any) -> float | None:
    if v == "" or v is None:
        return None
    if type(v) is str:
        if len(v) > 200:
            raise ParseError(f"amount is too long ({len(v):,} characters)")
        if normalize.is_empty(v):
            return None
    return normalize.parse_money(v)


_SERIAL_TEXT = re.compile(r"\d{1,5}(?:\.\d+)?")


def _date_conv(today: dt.date) -> Converter:
    def conv(v: Any) -> str | None:
        if type(v) is str:
            if len(v) > 200:
                raise ParseError(f"date is too long ({len(v):,} characters)")
            if normalize.is_empty(v):
                return None
            if _SERIAL_TEXT.fullmatch(v.strip()):
                # A CSV saved by Excel from a date column formatted "General" holds the serial
                # (45420); spec §9: a number in a date column is an Excel serial date.
                v = float(v)
        return normalize.parse_date(v, today).isoformat()

    return conv


def _unknown(fld: str, raw: Any) -> str:
    try:
        vocab.parse(fld, normalize.clean_text(raw) or "")
    except ParseError as exc:
        return str(exc)
    return f"unknown {fld} '{raw}'"  # pragma: no cover


_METHOD_WORDS: list[tuple[str, str]] = sorted(
    ((name, key) for key in vocab.METHODS for name in (vocab.ZH_LABELS["method"][key], *vocab.ALIASES["method"][key])),
    key=lambda p: -len(p[0]),
)


def _log_year(month: int, day: int, last_follow: str | None, created: str | None, today: dt.date) -> dt.date:
    """A MM-DD of a 跟进记录 gets the year that puts it on or before the last follow-up date (or
    today), and on or after the creation date."""

    def make(year: int) -> dt.date:
        try:
            return dt.date(year, month, day)
        except ValueError:
            raise ParseError(f"'{month:02d}-{day:02d}' is not a real date in {year}") from None

    if last_follow:
        ref = dt.date.fromisoformat(last_follow)
        d = make(ref.year)
        return d if d <= ref else make(ref.year - 1)
    if created:
        ref = dt.date.fromisoformat(created)
        d = make(ref.year)
        return d if d >= ref else make(ref.year + 1)
    d = make(today.year)
    return d if d <= today else make(today.year - 1)


def _parse_log(text: str, *, by: str | None, last_follow: str | None, created: str | None, today: dt.date) -> list[_FollowUp]:
    """跟进记录 text -> follow-ups; each keeps its whole text as the content."""
    parts = [p.strip() for p in _LOG_LINE_START_RE.split(text) if p.strip()]
    out: list[_FollowUp] = []
    for part in parts or [text]:
        m = _LOG_DATE_RE.match(part)
        day: dt.date | None = None
        rest = part
        if m:
            month, dom = int(m.group("m")), int(m.group("d"))
            if m.group("y"):
                try:
                    day = dt.date(int(m.group("y")), month, dom)
                except ValueError:
                    raise ParseError(f"'{m.group(0).strip()}' is not a real date") from None
            else:
                day = _log_year(month, dom, last_follow, created, today)
            rest = part[m.end() :].lstrip()
        if day is None:
            day = dt.date.fromisoformat(last_follow or created or today.isoformat())
        method = None
        for word, key in _METHOD_WORDS:
            if rest.startswith(word):
                method = key
                break
        plan = None
        nm = _NEXT_STEP_RE.search(part)
        if nm:
            plan = nm.group("plan").strip().rstrip("。.;；") or None
        next_date = None
        if plan:
            pm = _PLAN_DATE_RE.search(plan)
            if pm:
                year = int(pm.group("y")) if pm.group("y") else day.year
                try:
                    nd = dt.date(year, int(pm.group("m")), int(pm.group("d")))
                    if nd < day and not pm.group("y"):
                        nd = dt.date(year + 1, nd.month, nd.day)
                    next_date = nd.isoformat() if nd >= day else None
                except ValueError:
                    next_date = None
        out.append((day.isoformat(), method, part, None, by, next_date, plan))
    return out


# --------------------------------------------------------------------------- the run


_REASON_HEADERS = ("reject_reason", "拒绝原因")


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
        known = {columns.norm_header(h) for h in _REASON_HEADERS}
        self.reason_at = next((i for i, h in enumerate(self.header) if columns.norm_header(h) in known), None)
        self.width = len(self.header)
        if self.reason_at is None:
            self.header.append(reason_header)
        self.tmp: Path | None = None
        self.fh: Any = None
        self.writer: Any = None
        self.count = 0

    def add(self, row: list[Any], reason: str) -> None:
        if self.fh is None:
            fd, name = tempfile.mkstemp(prefix=".rejects-", suffix=".csv", dir=self.target.parent)
            self.tmp = Path(name)
            self.fh = os.fdopen(fd, "w", encoding="utf-8-sig", newline="")
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

    def finish(self) -> str | None:
        if self.fh is None:
            return None
        self.fh.close()
        assert self.tmp is not None
        os.replace(self.tmp, self.target)
        return str(self.target)

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
            if self.tmp is not None:
                self.tmp.unlink(missing_ok=True)
        self.fh = None
        self.count = 0


class _ShortSwitchInterval:
    """While any import runs, a 1 ms GIL switch interval instead of the default 5 ms.

    Each time an INSERT finishes (without the GIL) the writer thread needs the GIL back to
    bind the next one, and the parsing thread keeps it for up to the switch interval: at 1 ms
    the writer waits less, ~4% off a 100k-row import. The interval is the interpreter's, so
    imports running at once share one setting, and the last to finish puts the old one back.
    """

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.users = 0
        self.saved = 0.0

    def __enter__(self) -> None:
        with self.lock:
            if self.users == 0:
                self.saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.saved, 0.001))
            self.users += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                sys.setswitchinterval(self.saved)


_SWITCH_INTERVAL = _ShortSwitchInterval()


class _Run:
    def __init__(self, conn: Connection, located: readers.Located, opts: ImportOptions, batch_id: int, result: ImportResult, rejects: _Rejects, progress: Progress | None, set_aside: set[int]) -> None:
        self.conn = conn
        self.loc = located
        self.opts = opts
        self.batch_id = batch_id
        self.res = result
        self.rejects = rejects
        self.progress = progress
        self.mode = opts.on_duplicate
        stage_cols = [c for c in located.header.stage_columns() if c.index not in set_aside]
        table = located.table
        self.parser = _Parser(
            located.header, opts, from_csv=table.from_csv, check_nul=table.has_nul, stage_cols=stage_cols
        )
        if table.kind == "xlsx":
            cache: list[set[tuple[int, int]]] = []

            def formula_cells() -> set[tuple[int, int]]:
                if not cache:
                    cache.append(readers.formula_cells(table.path, table.sheet) or set())
                return cache[0]

            self.parser.formula_cells = formula_cells
            self.parser.col_offset = table.col_offset
        self.stage_cols = stage_cols
        self.first_new_id = (conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM customer").scalar() or 0) + 1
        self.next_id = self.first_new_id
        self.images: dict[int, dict[str, dict[str, Any]]] = {}  # before/after of existing customers
        self.needs_refresh: set[int] = set()
        self.default_owner = normalize.clean_text(opts.owner) if opts.owner else None
        self.default_source = normalize.clean_text(opts.source) if opts.source else None
        self.user = opts.user
        self.today_iso = opts.today.isoformat()
        self.codeless: list[int] = []
        self.refused: list[tuple[int, list[Any], str]] = []  # (row number, cells, reason) of this chunk
        self.failing: set[int] = set()
        self.dbapi = conn.connection.driver_connection
        self.pending: Any = None
        self.had_customers = self.first_new_id > 1
        # hash of the identity (name key, phone key) and of the code -> id, for every customer
        # this import created or looked at; the database is asked (per chunk) only about the
        # others, and not at all when it was empty. Hashes keep this to ~100 bytes a customer
        # (a million-row file); a hit is checked against the customer's row before it counts.
        self.by_identity: dict[int, int] = {}
        self.by_code: dict[int, int] = {}
        self._reset_chunk()

    def _ident(self, ident: int, nk: str, pk: str) -> int | None:
        cid = self.by_identity.get(ident)
        if cid is not None:
            r = self.rows.get(cid)
            if r is None or r["name_key"] != nk or r["phone_key"] != pk:
                return None
        return cid

    def _coded(self, code: str) -> int | None:
        cid = self.by_code.get(hash(code))
        if cid is not None:
            r = self.rows.get(cid)
            if r is None or r["code"] != code:
                return None
        return cid

    # -- chunk state

    def _reset_chunk(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}  # id -> current values (DB form)
        self.new_ids: list[int] = []
        self.new_set: set[int] = set()
        self.updates: dict[int, dict[str, Any]] = {}
        self.tags_of: dict[int, set[str]] = {}
        self.new_tags: list[tuple[int, str]] = []
        self.tag_images: list[tuple[int, str]] = []
        self.fu_sigs: dict[int, set[tuple[Any, ...]]] = {}
        self.deal_sigs: dict[int, set[tuple[str, float]]] = {}
        self.follow_rows: list[tuple[Any, ...]] = []
        self.stage_rows: list[tuple[Any, ...]] = []
        self.deal_rows: list[tuple[Any, ...]] = []
        self.has_fu: set[int] = set()  # new customers of this chunk whose summary is filled in

    # -- main loop

    def execute(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        # The writer thread runs each chunk's inserts (see _write) while this thread parses the
        # next chunk. The connection is used by one thread at a time: this one waits for the
        # writer (_wait) before it touches the database itself.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import-writer")
        try:
            with _SWITCH_INTERVAL:
                self._execute()
        finally:
            try:
                self._wait()
            finally:
                self.writer.shutdown(wait=True)

    def _wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def _parse_and_process(self, buffer: list[tuple[int, list[Any]]]) -> None:
        res = self.res
        chunk: list[_Parsed] = []
        for (rowno, row), (parsed, errors) in zip(buffer, self.parser.parse_chunk(buffer), strict=True):
            if parsed is None:
                self._reject(rowno, row, errors)
                continue
            if parsed.sensitive:
                res.sensitive += 1
                if len(res.sensitive_rows) < REASON_SAMPLES:
                    res.sensitive_rows.append(parsed.sensitive)
            chunk.append(parsed)
        if chunk:
            self._process(chunk)
        # in file order: rows refused while parsing and rows refused as duplicates or conflicts
        for _rowno, row, reason in sorted(self.refused, key=operator.itemgetter(0)):
            if len(self.res.reasons) < REASON_SAMPLES:
                self.res.reasons.append(reason)
            self.rejects.add(row, reason)
        self.refused.clear()

    def _execute(self) -> None:
        res = self.res
        blank_run = 0
        done = 0
        total = self.loc.table.total_rows
        if total is not None:
            total = max(total - self.loc.header_row_number, 0)
        buffer: list[tuple[int, list[Any]]] = []
        code_col = self.loc.header.first("code")
        code_at = code_col.index if code_col is not None else None
        for rowno, row in self.loc.data:
            done += 1
            if _blank(row):
                blank_run += 1
                continue
            if code_at is not None and res.data_rows < 3 and code_at < len(row) and _is_example(row[code_at]):
                # The template's example row (first rows only: this loop runs 100k times)
                res.example_rows += 1
                continue
            if blank_run:
                res.blank_rows += blank_run
                blank_run = 0
            res.data_rows += 1
            buffer.append((rowno, row))
            if len(buffer) >= CHUNK:
                self._parse_and_process(buffer)
                buffer = []
                if self.progress:
                    self.progress(done, total)
        if buffer:
            self._parse_and_process(buffer)
        if self.progress:
            self.progress(done, done)
        self._wait()
        failing = self.failing = self._stage_verdicts()
        if failing & self.parser.stage_used:
            raise _Redo(failing)
        self._finish()

    def _stage_verdicts(self) -> set[int]:
        failing: set[int] = set()
        p = self.parser
        for col in self.stage_cols:
            if col.mapped:
                continue
            n, hits = p.stage_nonempty[col.index], p.stage_hits[col.index]
            if n and hits * 2 < n:
                failing.add(col.index)
        return failing

    def _reject(self, rowno: int, row: list[Any], errors: list[str]) -> None:
        """Count a rejected row; it goes to the rejects file when its chunk is done."""
        self.res.rejected += 1
        self.refused.append((rowno, row, "; ".join(errors)))

    # -- a chunk

    def _load(self, chunk: list[_Parsed]) -> None:
        cols = ", ".join(_LOAD_COLUMNS)
        found: list[Any] = []
        if self.had_customers:
            self._wait()
            pks = list({p.values["phone_key"] for p in chunk})
            codes = list({p.code for p in chunk if p.code})
            for column, keys in (("phone_key", pks), ("code", codes)):
                for i in range(0, len(keys), 900):
                    part = keys[i : i + 900]
                    found += self.conn.exec_driver_sql(
                        f"SELECT {cols} FROM customer WHERE {column} IN ({','.join('?' * len(part))})", tuple(part)
                    ).all()
        # customers this import saw in earlier chunks (set operations: most chunks meet none)
        by_identity, by_code = self.by_identity, self.by_code
        want = {by_identity[h] for h in by_identity.keys() & set(map(_IDENT, chunk))}
        want.update(by_code[h] for h in by_code.keys() & set(map(hash, filter(None, map(_CODE, chunk)))))
        want -= {r[0] for r in found}
        ids_ = list(want)
        if ids_:
            self._wait()
        for i in range(0, len(ids_), 900):
            part = ids_[i : i + 900]
            found += self.conn.exec_driver_sql(f"SELECT {cols} FROM customer WHERE id IN ({','.join('?' * len(part))})", tuple(part)).all()
        for r in found:
            rec = dict(zip(_LOAD_COLUMNS, r, strict=True))
            cid = rec["id"]
            if cid in self.rows:
                continue
            self.rows[cid] = rec
            self.by_identity[hash((rec["name_key"], rec["phone_key"]))] = cid
            self.by_code[hash(rec["code"])] = cid
        ids = list(self.rows)
        if not ids:
            return
        need_fu = any(p.follow_ups for p in chunk)
        need_deal = any(p.deal for p in chunk)
        need_tags = self.mode == "update" and any(p.tags for p in chunk)
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            marks = ",".join("?" * len(part))
            if need_fu:
                for cid, day, method, content in self.conn.exec_driver_sql(
                    f"SELECT customer_id, date, method, content FROM follow_up WHERE customer_id IN ({marks})", tuple(part)
                ):
                    self.fu_sigs.setdefault(cid, set()).add((str(day), method, content))
            if need_deal:
                for cid, day, amount in self.conn.exec_driver_sql(
                    f"SELECT customer_id, date, amount FROM deal WHERE customer_id IN ({marks})", tuple(part)
                ):
                    self.deal_sigs.setdefault(cid, set()).add((str(day), float(amount)))
            if need_tags:
                for cid, name in self.conn.exec_driver_sql(f"SELECT customer_id, name FROM tag WHERE customer_id IN ({marks})", tuple(part)):
                    self.tags_of.setdefault(cid, set()).add(name)

    def _process(self, chunk: list[_Parsed]) -> None:
        self._load(chunk)
        res = self.res
        for p in chunk:
            v = p.values
            nk, pk = v["name_key"], v["phone_key"]
            ident = self._ident(p.ident, nk, pk)
            target = None
            owner = self._coded(p.code) if p.code is not None else None
            if owner is not None:
                o = self.rows[owner]
                if o["name_key"] != nk and o["phone_key"] != pk:
                    self._reject(
                        p.rowno, p.row,
                        [f"row {p.rowno}, column {self._hdr('code')}: code conflict: {p.code} is {o['name']} ({o['phone']}), "
                         "and neither the name nor the phone matches"],
                    )  # fmt: skip
                    continue
                if ident is not None and ident != owner:
                    x = self.rows[ident]
                    self._reject(
                        p.rowno, p.row,
                        [f"row {p.rowno}, column {self._hdr('code')}: code {p.code} is {o['name']} ({o['phone']}), "
                         f"but this name and phone are {self._code_of(ident)} {x['name']}"],
                    )  # fmt: skip
                    continue
                target = owner
            elif ident is not None:
                target = ident
            if target is None:
                self._create(p)
                res.created += 1
                continue
            if self.mode == "fail":
                o = self.rows[target]
                self._reject(
                    p.rowno, p.row,
                    [f"row {p.rowno}: duplicate of {self._code_of(target)} {o['name']} ({o['phone']}) "
                     "(same name and phone, or same code); --on-duplicate fail"],
                )  # fmt: skip
                continue
            changed = self._update(target, p) if self.mode == "update" else []
            if changed:
                res.updated += 1
                if len(res.updated_rows) < REASON_SAMPLES:
                    res.updated_rows.append(f"row {p.rowno}: {self._code_of(target)} {self.rows[target]['name']}: {', '.join(changed)}")
            else:
                res.skipped += 1
                if len(res.skipped_rows) < REASON_SAMPLES:
                    why = "nothing to change" if self.mode == "update" else "already there"
                    res.skipped_rows.append(f"row {p.rowno}: {self._code_of(target)} {self.rows[target]['name']} ({why})")
            self._events(target, p, new=False)
        self._flush()
        self._reset_chunk()

    def _hdr(self, fld: str) -> str:
        i = self.parser.idx.get(fld)
        return self.parser.names[i] if i is not None else fld

    def _code_of(self, cid: int) -> str:
        code = self.rows[cid]["code"]
        return code if code and not code.startswith("~") else "(new, this file)"

    def _create(self, p: _Parsed) -> None:
        cid = self.next_id
        self.next_id += 1
        rec = p.values  # every INSERT column (None for the cells the row left empty)
        rec["id"] = cid
        if p.code is None:
            rec["code"] = f"~{cid}"
            self.codeless.append(cid)
        else:
            rec["code"] = p.code
            self.by_code[hash(p.code)] = cid
        if rec["level"] is None:
            rec["level"] = "normal"
        if rec["stage"] is None:
            rec["stage"] = "potential"
        if rec["owner"] is None:
            rec["owner"] = self.default_owner or p.owner_fallback or self.user
        if rec["source"] is None:
            rec["source"] = self.default_source
        if rec["created_at"] is None:
            rec["created_at"] = self.today_iso
        self.rows[cid] = rec
        self.by_identity[p.ident] = cid
        self.new_ids.append(cid)
        self.new_set.add(cid)
        if p.tags:
            self.tags_of[cid] = set(p.tags)
            self.new_tags.extend((cid, t) for t in p.tags)
        self._events(cid, p, new=True)

    def _update(self, cid: int, p: _Parsed) -> list[str]:
        """Apply a row to an existing customer (--on-duplicate update); return what changed."""
        cur = self.rows[cid]
        changes: dict[str, Any] = {}
        v = p.values
        for fld in UPDATE_FIELDS:
            if fld == "code":
                new = p.code
            else:
                new = v.get(fld)
            if new is None or cur.get(fld) == new:
                continue
            if fld == "amount" and cur.get(fld) is not None and float(cur[fld]) == float(new):
                continue
            changes[fld] = new
        if "code" in changes:
            taken = self._coded(changes["code"])
            if taken is not None and taken != cid:  # pragma: no cover - resolved before
                del changes["code"]
        if "name" in changes or "phone" in changes:
            changes["name_key"], changes["phone_key"] = v["name_key"], v["phone_key"]
            if cur["name_key"] == v["name_key"]:
                changes.pop("name_key")
            if cur["phone_key"] == v["phone_key"]:
                changes.pop("phone_key")
        if "stage" in changes:
            self.stage_rows.append((cid, cur["stage"], changes["stage"], p.event_date, self.user, None, self.batch_id))
            self.res.stage_changes += 1
        new_tags = [t for t in p.tags if t not in self.tags_of.setdefault(cid, set())]
        if not changes and not new_tags:
            return []
        existing = cid < self.first_new_id
        if changes:
            if existing:
                image = self.images.setdefault(cid, {"before": {}, "after": {}})
                for fld, new in changes.items():
                    image["before"].setdefault(fld, cur.get(fld))
                    image["after"][fld] = new
            if "name_key" in changes or "phone_key" in changes:
                old = hash((cur["name_key"], cur["phone_key"]))
                if self.by_identity.get(old) == cid:
                    del self.by_identity[old]
            if "code" in changes:
                old = hash(cur["code"])
                if self.by_code.get(old) == cid:
                    del self.by_code[old]
                self.by_code[hash(changes["code"])] = cid
            cur.update(changes)
            self.by_identity[hash((cur["name_key"], cur["phone_key"]))] = cid
            if cid not in self.new_set:  # a customer of this chunk is inserted with its final values
                self.updates.setdefault(cid, {}).update(changes)
        for t in new_tags:
            self.tags_of[cid].add(t)
            self.new_tags.append((cid, t))
            if existing:
                self.tag_images.append((cid, t))
        return [f for f in changes if f not in ("name_key", "phone_key")] + (["tags"] if new_tags else [])

    def _events(self, cid: int, p: _Parsed, *, new: bool) -> None:
        if p.follow_ups:
            sigs = self.fu_sigs.get(cid)
            if sigs is None:
                sigs = self.fu_sigs[cid] = set()
            new_here = cid in self.new_set
            for fu in p.follow_ups:
                day, method, content, _feedback, _by, next_date, next_plan = fu
                sig = (day, method, content)
                if sig in sigs:
                    continue
                sigs.add(sig)
                self.follow_rows.append((cid, *fu))
                self.res.follow_ups += 1
                if new_here:
                    # inserted with this chunk: its summary columns are filled in directly
                    # (the latest follow-up: greatest date, ties to the later row, spec §6)
                    rec = self.rows[cid]
                    if cid not in self.has_fu or day >= rec["last_follow_at"]:
                        self.has_fu.add(cid)
                        rec["last_follow_at"] = day
                        rec["last_method"] = method
                        rec["next_date"] = next_date
                        rec["next_plan"] = next_plan
                else:
                    self.needs_refresh.add(cid)
        if p.deal:
            deal_sigs = self.deal_sigs.setdefault(cid, set())
            deal_sig = (p.deal[0], float(p.deal[1]))
            if deal_sig not in deal_sigs:
                deal_sigs.add(deal_sig)
                self.deal_rows.append((cid, p.deal[1], p.deal[0], self.user, self.batch_id))
                self.res.deals += 1

    def _flush(self) -> None:
        jobs: list[tuple[str, list[tuple[Any, ...]]]] = []

        def ex(sql: str, params: list[tuple[Any, ...]]) -> None:
            jobs.append((sql, params))

        if self.new_ids:
            rows = self.rows
            names, values = _bound_columns(INSERT_COLUMNS, [_insert_row(rows[c]) for c in self.new_ids])
            ex(f"INSERT INTO customer ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values)
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for cid, changes in self.updates.items():
            keys = tuple(sorted(changes))
            groups.setdefault(keys, []).append((*(changes[k] for k in keys), cid))
        for keys, params in groups.items():
            ex(f"UPDATE customer SET {', '.join(f'{k} = ?' for k in keys)} WHERE id = ?", params)
        if self.new_tags:
            ex("INSERT OR IGNORE INTO tag (customer_id, name) VALUES (?, ?)", self.new_tags)
        if self.tag_images:
            ex(
                "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'tag', ?, ?)",
                [(self.batch_id, cid, json.dumps({"name": t}, ensure_ascii=False)) for cid, t in self.tag_images],
            )
        if self.follow_rows:
            names, values = _bound_columns(_FOLLOW_UP_COLUMNS, self.follow_rows)
            ex(
                f"INSERT INTO follow_up ({', '.join(names)}, batch_id) "
                f"VALUES ({', '.join('?' * len(names))}, {int(self.batch_id)})",  # the batch id is ours: an int literal
                values,
            )
        if self.stage_rows:
            ex(
                'INSERT INTO stage_change (customer_id, from_stage, to_stage, date, "by", reason, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
                self.stage_rows,
            )
        if self.deal_rows:
            ex('INSERT INTO deal (customer_id, amount, date, "by", batch_id) VALUES (?, ?, ?, ?, ?)', self.deal_rows)
        if jobs:
            self._wait()
            self.pending = self.writer.submit(_write, self.dbapi, jobs)

    def _finish(self) -> None:
        from crmcli.services.customers import CodeAllocator
        from crmcli.services.followups import refresh_summary

        ex = self.conn.exec_driver_sql
        if self.next_id > self.first_new_id:
            # the customers this batch created, for undo: ids were handed out in one run
            # inside this write transaction, so they are exactly this range (one statement,
            # in SQLite, instead of 100k rows bound from Python)
            ex(
                "INSERT INTO batch_change (batch_id, table_name, row_id, before) "
                "SELECT ?, 'customer', id, NULL FROM customer WHERE id >= ? AND id < ? ORDER BY id",
                (self.batch_id, self.first_new_id, self.next_id),
            )
        if self.codeless:
            alloc = CodeAllocator(self.conn)
            params = []
            for i in range(0, len(self.codeless), 900):
                part = self.codeless[i : i + 900]
                rows = ex(f"SELECT id, created_at FROM customer WHERE id IN ({','.join('?' * len(part))})", tuple(part)).all()
                created = {r[0]: r[1] for r in rows}
                for cid in part:
                    day = created[cid]
                    params.append((alloc.next(day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))), cid))
            ex("UPDATE customer SET code = ? WHERE id = ?", params)
        if self.images:
            ex(
                "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'customer', ?, ?)",
                [(self.batch_id, cid, json.dumps(img, ensure_ascii=False)) for cid, img in self.images.items()],
            )
        if self.needs_refresh:
            refresh_summary(self.conn, sorted(self.needs_refresh))
        p = self.parser
        h = self.loc.header
        self.res.stage_columns = [c.header for c in self.stage_cols if p.stage_nonempty[c.index] or c.index in p.stage_used]
        for i in sorted(p.headerless_with_data):
            self.res.unknown_columns.append(f"column {columns.column_letter(i + self.loc.table.col_offset)} (no header)")
        del h


_FOLLOW_UP_COLUMNS = ("customer_id", "date", "method", "content", "feedback", '"by"', "next_date", "next_plan")
# Columns an INSERT may leave out when a chunk has no value for them: no default but NULL.
_NULL_DEFAULT = frozenset(INSERT_COLUMNS + _FOLLOW_UP_COLUMNS) - {"level", "stage"}


def _bound_columns(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The columns and rows to INSERT without the columns that are NULL in every row.

    A workbook fills a dozen of the customer's 24 columns; the writer binds each value holding
    the GIL (~0.15 µs), so every value left out is parsing time for the other thread.
    """
    if not rows:
        return names, rows
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    keep = [j for j, (name, col) in enumerate(zip(names, cols, strict=True)) if name not in _NULL_DEFAULT or col.count(None) != n]
    if len(keep) == len(names):
        return names, rows
    return tuple(names[j] for j in keep), list(zip(*[cols[j] for j in keep], strict=True))


def _write(dbapi: Any, jobs: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """Run one chunk's statements on the raw sqlite3 connection (inside our transaction).

    INSERTs go as multi-row ``VALUES (...), (...), ...`` statements of up to CHUNK rows: one
    sqlite3_step each, during which sqlite3 releases the GIL -- so, run in the writer thread,
    the index maintenance of 100k rows overlaps with the parsing of the next chunk instead of
    waiting for the GIL after every row as executemany would.
    """
    import sqlite3

    cur = dbapi.cursor()
    try:
        for sql, params in jobs:
            head, sep, row = sql.partition(" VALUES ")
            if sep and head.startswith("INSERT") and len(params) > 1:
                width = len(params[0])
                size = max(1, min(CHUNK, 32000 // max(width, 1)))  # SQLite allows 32766 parameters
                for i in range(0, len(params), size):
                    part = params[i : i + size]
                    cur.execute(f"{head} VALUES {', '.join([row] * len(part))}", list(chain.from_iterable(part)))
            else:
                cur.executemany(sql, params)
    except sqlite3.IntegrityError as exc:
        raise CrmError(f"the database refused the import ({exc}); nothing was written") from None
    finally:
        cur.close()


EXAMPLE_CODES = ("示例", "example")


def _is_example(cell: Any) -> bool:
    return isinstance(cell, str) and cell.strip().casefold() in EXAMPLE_CODES


def _blank(row: list[Any]) -> bool:
    for c in row:
        if c == "" or c is None:
            continue
        if type(c) is str:
            # only a short cell, or one with space or an invisible character at an end, can
            # be blank ("  ", "-", "N/A", "\u200b"); is_empty decides those
            if (len(c) <= 6 or c[0] == " " or c[-1] == " " or not c[0].isprintable() or not c[-1].isprintable()) and normalize.is_empty(c):
                continue
        return False
    return True


# --------------------------------------------------------------------------- entry points


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


REASON_HEADERS = ("reject_reason", "拒绝原因")


def check_rejects_target(target: Path, source: Path, database: str | None) -> None:
    """Refuse a rejects path that would destroy something: the input, the database, another file.

    An existing file is replaced only when it is itself a rejects file (its header ends with
    the reason column), so a second run of the same import refreshes it.
    """
    resolved = target.expanduser().resolve()
    if resolved == source.resolve():
        raise UsageError(f"--rejects {target}: that is the file being imported")
    if database:
        db_path = Path(database).resolve()
        if resolved in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), Path(f"{db_path}-journal")):
            raise UsageError(f"--rejects {target}: that is the database file")
    if not resolved.parent.is_dir():
        raise CrmError(f"--rejects {target}: directory {resolved.parent} does not exist")
    if resolved.is_dir():
        raise UsageError(f"--rejects {target}: is a directory")
    if resolved.exists() and resolved.stat().st_size > 0:
        try:
            with resolved.open("rb") as fh:
                first = fh.read(65536).split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
        except (OSError, UnicodeDecodeError):
            first = ""
        last = next(csv.reader([first]), [""])[-1:] if first else []
        if not last or last[0].strip() not in REASON_HEADERS:
            raise CrmError(
                f"--rejects {target}: the file exists and is not a rejects file; refusing to overwrite it"
            )


class _Opener:
    """Opens the file and finds its header in a thread, while the caller opens the database.

    Calamine parses the whole sheet when it is opened (1.4 s for 100k rows) and releases the GIL
    meanwhile, so importing SQLAlchemy and migrating a new database cost nothing extra.
    """

    def __init__(self, path: Path, opts: ImportOptions) -> None:
        import threading

        self.path, self.opts = path, opts
        self.table: readers.Table | None = None
        self.located: readers.Located | None = None
        self.error: BaseException | None = None
        # set once the file passed its pre-flight (or failed): opening the database then, not
        # before, leaves the GIL to the pre-flight's regex, and overlaps calamine instead
        self.checked = threading.Event()
        self.thread = threading.Thread(target=self._run, name="crm-import-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.table = readers.open_table(self.path, self.opts.sheet, checked=self.checked.set)
            self.located = readers.locate_header(self.table, self.opts.mapping)
        except BaseException as exc:  # handed to the caller by result()
            self.error = exc
        finally:
            self.checked.set()

    def result(self) -> tuple[readers.Table, readers.Located]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.table is not None and self.located is not None
        return self.table, self.located

    def close(self) -> None:
        self.thread.join()
        if self.table is not None:
            self.table.close()


def import_file(engine: Engine | Callable[[], Engine], path: Path, opts: ImportOptions, progress: Progress | None = None) -> ImportResult:
    """Import ``path`` in one transaction (rolled back for --dry-run and a failed --strict).

    ``engine`` may be a function that opens the database: it is then called while the file is
    being read.
    """
    from crmcli import db

    if opts.on_duplicate not in ON_DUPLICATE:
        raise UsageError(f"--on-duplicate {opts.on_duplicate}: choose one of {', '.join(ON_DUPLICATE)}")
    opener = _Opener(path, opts)
    # The cyclic GC would walk the ever larger heap of an import again and again (10% of the
    # time at 100k rows) for nothing: what an import allocates is freed by reference counting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if not hasattr(engine, "connect"):
            opener.checked.wait()
            engine = engine()  # type: ignore[operator]
        table, located = opener.result()
        header = located.header
        _check_header(header, opts.mapping, path)
        result = ImportResult(file=str(path), dry_run=opts.dry_run, sheet=table.sheet, encoding=table.encoding)
        result.header_row = located.header_row_number
        target = opts.rejects or default_rejects_path(path)
        check_rejects_target(target, path, getattr(getattr(engine, "url", None), "database", None))
        rejects = _Rejects(target, _header_cells(located), "拒绝原因" if opts.lang == "zh" else "reject_reason", from_csv=table.from_csv)
        set_aside: set[int] = set()
        try:
            with db.write_connection(engine) as conn:  # type: ignore[arg-type]
                batch_id = conn.exec_driver_sql(
                    "INSERT INTO import_batch (file, started_at, created, updated, skipped, rejected, follow_ups) VALUES (?, ?, 0, 0, 0, 0, 0)",
                    (str(path.resolve()), dt.datetime.now().astimezone().isoformat(timespec="seconds")),
                ).lastrowid
                assert batch_id is not None
                # 7 B-trees take random keys: a 64 MB page cache makes the inserts 2x faster
                conn.exec_driver_sql("PRAGMA cache_size=-65536")
                while True:
                    savepoint = conn.begin_nested()
                    run = _Run(conn, located, opts, batch_id, result, rejects, progress, set_aside)
                    try:
                        run.execute()
                    except _Redo as redo:
                        savepoint.rollback()
                        set_aside |= redo.failing
                        opener.close()
                        opener = _Opener(path, opts)
                        table, located = opener.result()
                        result = ImportResult(file=str(path), dry_run=opts.dry_run, sheet=table.sheet, encoding=table.encoding)
                        result.header_row = located.header_row_number
                        rejects.discard()
                        continue
                    savepoint.commit()
                    break
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
                _columns_report(result, located.header, set_aside | run.failing)
                if result.data_rows == 0:
                    raise CrmError(f"{path.name}: no data rows below the header (row {result.header_row})")
                if opts.strict and result.rejected:
                    result.strict_failed = True
                    raise _Rollback
                if result.status == 1 or opts.dry_run:
                    raise _Rollback
                conn.exec_driver_sql(
                    "UPDATE import_batch SET created=?, updated=?, skipped=?, rejected=?, follow_ups=? WHERE id=?",
                    (result.created, result.updated, result.skipped, result.rejected, result.follow_ups, batch_id),
                )
                result.batch = batch_id
        except _Rollback:
            result.batch = None
        except BaseException:
            rejects.discard()
            raise
        result.rejects_file = rejects.finish()
        if result.rejects_file:
            result.rejects_file = str(Path(result.rejects_file))
        return result
    finally:
        if gc_was_enabled:
            gc.enable()
        opener.close()


def _header_cells(located: readers.Located) -> list[Any]:
    h = located.header
    cells: list[Any] = [""] * h.width
    for col in h.columns:
        cells[col.index] = "" if col.header.startswith("column ") and col.field is None and col.header not in h.unknown else col.header
    return cells


def _check_header(header: columns.Header, mapping: dict[str, str], path: Path) -> None:
    present = {columns.norm_header(c.header) for c in header.columns}
    missing = [k for k in mapping if k not in present]
    if missing:
        raise UsageError(f"--map: {path.name} has no column named {', '.join(missing)} in its header")
    for fld, zh in (("name", "客户名称"), ("phone", "联系电话")):
        if header.first(fld) is None:
            found = ", ".join(c.header for c in header.columns if not c.header.startswith("column ")) or "none"
            raise readers.ReadError(
                f"{path.name}: no {zh} ({fld}) column in the header row; columns found: {found}. "
                f"Name the column with --map 'HEADER={fld}'"
            )


def _columns_report(result: ImportResult, header: columns.Header, set_aside: set[int]) -> None:
    result.unknown_columns = list(header.unknown) + result.unknown_columns
    unused = list(header.unused)
    for col in header.columns:
        if col.index in set_aside:
            unused.append(f"{col.header} (not a stage column: fewer than half of its values are stages)")
    result.unused_columns = unused


# --------------------------------------------------------------------------- listing and undo


def list_batches(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.exec_driver_sql(
        "SELECT id, file, started_at, created, updated, skipped, rejected, follow_ups, undone_at FROM import_batch ORDER BY id"
    ).all()
    keys = ("batch", "file", "started_at", "created", "updated", "skipped", "rejected", "follow_ups", "undone_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def undo(conn: Connection, batch_id: int, *, force: bool = False) -> dict[str, Any]:
    """Put back what batch ``batch_id`` created or changed (one transaction, the caller's).

    Refused when a customer the batch created has since gained records of its own (a manual
    follow-up, stage change or deal, or a later import's change) unless ``force``: undoing
    would delete them with the customer.
    """
    from crmcli.services.followups import refresh_summary

    ex = conn.exec_driver_sql
    batch = ex("SELECT id, file, undone_at FROM import_batch WHERE id = ?", (batch_id,)).first()
    if batch is None:
        raise NotFound(f"no import batch {batch_id} (see: crm imports)")
    if batch[2]:
        raise CrmError(f"import batch {batch_id} was already undone at {batch[2]}")
    ex("CREATE TEMP TABLE IF NOT EXISTS _undo_ids (id INTEGER PRIMARY KEY)")
    ex("DELETE FROM _undo_ids")
    ex(
        "INSERT OR IGNORE INTO _undo_ids (id) SELECT row_id FROM batch_change "
        "WHERE batch_id = ? AND table_name = 'customer' AND before IS NULL",
        (batch_id,),
    )
    created = ex("SELECT COUNT(*) FROM _undo_ids").scalar() or 0
    later: list[Any] = []
    if created:
        later = list(ex(
            """
            SELECT c.code, c.name, COUNT(*) FROM (
                SELECT customer_id AS cid FROM follow_up WHERE customer_id IN (SELECT id FROM _undo_ids) AND batch_id IS NOT ?
                UNION ALL SELECT customer_id FROM stage_change WHERE customer_id IN (SELECT id FROM _undo_ids) AND batch_id IS NOT ?
                UNION ALL SELECT customer_id FROM deal WHERE customer_id IN (SELECT id FROM _undo_ids) AND batch_id IS NOT ?
                UNION ALL SELECT bc.row_id FROM batch_change bc JOIN import_batch b ON b.id = bc.batch_id
                    WHERE bc.row_id IN (SELECT id FROM _undo_ids) AND bc.batch_id != ? AND b.undone_at IS NULL
                    AND bc.before IS NOT NULL
            ) x JOIN customer c ON c.id = x.cid GROUP BY c.id ORDER BY c.id
            """,
            (batch_id, batch_id, batch_id, batch_id),
        ).all())
    if later and not force:
        # one line (spec §10): the first few customers, then how many more
        shown = ", ".join(f"{code} {name} ({n} later record{'s' if n != 1 else ''})" for code, name, n in later[:5])
        more = f" and {len(later) - 5} more" if len(later) > 5 else ""
        raise CrmError(
            f"cannot undo import batch {batch_id}: {len(later)} customer(s) it created have records added since "
            f"(follow-ups, stage changes, deals or later imports) that undo would delete: {shown}{more}; "
            "run again with --force to undo anyway"
        )
    # customers the batch changed: restore each field the batch set, unless it was edited since
    restored: set[int] = set()  # customers with anything put back: fields or tags
    kept: list[str] = []
    touched: list[int] = []
    for row_id, before in ex(
        "SELECT row_id, before FROM batch_change WHERE batch_id = ? AND table_name = 'customer' AND before IS NOT NULL ORDER BY id DESC",
        (batch_id,),
    ).all():
        image = json.loads(before)
        fields = list(image["before"])
        cur = ex(f"SELECT code, {', '.join(fields)} FROM customer WHERE id = ?", (row_id,)).first()
        if cur is None:
            continue
        code = cur[0]
        values = {}
        for i, fld in enumerate(fields):
            now = cur[i + 1]
            if _same(now, image["after"].get(fld)):
                values[fld] = image["before"][fld]
            else:
                kept.append(f"{code} {fld}")
        if values:
            try:
                ex(f"UPDATE customer SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?", (*values.values(), row_id))
            except Exception as exc:
                if "UNIQUE" in str(exc):
                    raise CrmError(f"cannot undo import batch {batch_id}: restoring {code} would make it a duplicate of another customer ({exc})") from None
                raise
            restored.add(row_id)
        touched.append(row_id)
    for row_id, before in ex("SELECT row_id, before FROM batch_change WHERE batch_id = ? AND table_name = 'tag'", (batch_id,)).all():
        if ex("DELETE FROM tag WHERE customer_id = ? AND name = ?", (row_id, json.loads(before)["name"])).rowcount:
            restored.add(row_id)
    fu_customers = [r[0] for r in ex("SELECT DISTINCT customer_id FROM follow_up WHERE batch_id = ?", (batch_id,)).all()]
    follow_ups = ex("DELETE FROM follow_up WHERE batch_id = ?", (batch_id,)).rowcount
    ex("DELETE FROM stage_change WHERE batch_id = ?", (batch_id,))
    ex("DELETE FROM deal WHERE batch_id = ?", (batch_id,))
    # later batches' events on the deleted customers go with them (cascade); --force only
    deleted_ids = {r[0] for r in ex("SELECT id FROM _undo_ids").all()}
    deleted = ex("DELETE FROM customer WHERE id IN (SELECT id FROM _undo_ids)").rowcount
    ex("DELETE FROM _undo_ids")
    remaining = [c for c in dict.fromkeys([*fu_customers, *touched])]
    if remaining:
        existing = []
        for i in range(0, len(remaining), 900):
            part = remaining[i : i + 900]
            existing += [r[0] for r in ex(f"SELECT id FROM customer WHERE id IN ({','.join('?' * len(part))})", tuple(part)).all()]
        refresh_summary(conn, existing)
    ex("UPDATE import_batch SET undone_at = ? WHERE id = ?", (dt.datetime.now().astimezone().isoformat(timespec="seconds"), batch_id))
    return {
        "batch": batch_id,
        "file": batch[1],
        "deleted_customers": deleted,
        "restored_customers": len(restored - deleted_ids),
        "deleted_follow_ups": follow_ups,
        "kept_later_edits": kept,
    }


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return str(a) == str(b) if a is not None and b is not None else False
