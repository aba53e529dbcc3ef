"""Reading cells: one converter per import field, from a cell as read to the value stored.

A converter returns None for an empty cell and raises ``ParseError`` for a bad one (its text
becomes the row's reason). Which converter reads a field follows from its kind
(``fieldsets``). The text cleaners (and the name key, ``_name_key``) have a fast path for the
common, already-clean cell, and ``_batch_text`` checks a whole column of such cells at once;
tests/test_import_fastpaths.py and tests/test_identity.py pin them to the plain functions.

Also here: undoing the csv export's formula quote (``_unquote``), a cell as the rejects file shows
it (``_cell_text``), the notes for a NUL character and for a formula without a saved value, and
the scan for text that looks like a resident ID or bank card number.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from crmcli import normalize, vocab
from crmcli.errors import ParseError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.services.importer import fieldsets

MAX_CELL = 32767  # Excel's own limit for a cell

Converter = Callable[[Any], Any]

_FORMULA_START = frozenset("=+-@\t\r")
_MARKERS_FOLDED = frozenset(m.casefold() for m in normalize.EMPTY_MARKERS)
_MARKER_CELLS = frozenset({"-", "—", "——", "/", "无", "n/a", "N/A", "n/A", "N/a"})
_CLEAN_MARKERS = frozenset(m for m in _MARKER_CELLS if m.casefold() in _MARKERS_FOLDED)
_SERIAL_TEXT = re.compile(r"\d{1,5}(?:\.\d+)?")
# 16+ digits, maybe grouped by spaces or dashes (\d also matches full-width digits).
_LONG_NUMBER_RE = re.compile(r"\d[\d -]{14,}[\dXx]")
_LONG_NUMBER_MIN = 16  # the shortest text _LONG_NUMBER_RE matches
_SENSITIVE_KINDS = {"id_number": N_("a Chinese resident ID number (身份证号)"), "bank_card": N_("a bank card number (银行卡号)")}

_NUL_NOTE = N_("the cell holds a NUL character (binary data?), shown as ␀ in the rejects file")
# Why a required cell reads as empty when it holds a formula nobody saved a value for.
_FORMULA_NOTE = N_(
    "; the cell holds a formula with no saved value (formulas are never evaluated: "
    "open and save the file in Excel, or paste the values)"
)


CUSTOM = "custom:"  # the import field of custom field KEY is "custom:KEY"


def custom_converter(field: Any, today: dt.date) -> tuple[dict[Any, Any] | None, Converter]:
    """The converter of a custom field's column: its type's validation (custom_fields.parse_value)."""
    from crmcli.services.custom_fields import parse_value

    def conv(v: Any) -> str | None:
        return parse_value(field, v, today)

    return ({"": None} if field.kind != "prose" else None), conv


class UnknownValue(ParseError):
    """A value of an enum column nobody knows: the row is rejected, and the summary counts the
    value and names the ``--map-value`` that would take it (spec §12)."""

    def __init__(self, field: str, value: str, error: ParseError) -> None:
        super().__init__(error.message, options=error.options, **error.values)  # vocabulary's own words
        self.field, self.value = field, value


def converter(
    fld: str, today: dt.date, value_maps: dict[str, dict[str, str]] | None = None, date_order: str | None = None
) -> tuple[dict[Any, Any] | None, Converter]:
    """The converter of an import field, and the memo it fills (None: not memoised).

    Low-cardinality fields (dates, enums, industry, owner...) are memoised per cell value.
    ``value_maps`` (``--map-value``: vocabulary -> folded value -> key) and ``date_order``
    (``--date-order``) say how this file writes enum values and numeric dates.
    """
    maps = value_maps or {}
    if fld in fieldsets.CLEAN:
        return None, _clean_cell
    if fld in fieldsets.PROSE:
        return None, _keep_cell
    if fld == "email":
        return None, _email_conv
    if fld in ("phone", "other_phones"):
        return None, _phone_conv
    if fld in fieldsets.MONEY:
        return None, _money_conv
    if fld in fieldsets.NUMBERS:
        return None, _count_conv
    memo: dict[Any, Any] = {"": None}
    conv: Converter
    if fld in fieldsets.CLEAN_MEMO:
        conv = _clean_cell
    elif fld == "follow_feedback":
        conv = _feedback_conv(maps.get("feedback", {}))
    elif fld in ("level", "follow_method"):
        vocabulary = "level" if fld == "level" else "method"
        conv = _enum_conv(vocabulary, maps.get(vocabulary, {}))
    elif fld in fieldsets.DATES:
        conv = _date_conv(today, date_order)
    else:  # pragma: no cover
        raise AssertionError(fld)
    return memo, conv


# --------------------------------------------------------------------------- text


def _unquote(v: str) -> str:
    """Undo the csv export's formula neutralisation: one "'" comes off a cell that starts with
    quotes and then one of = + - @ TAB CR ("'=1+1" -> "=1+1", "''-x" -> "'-x"); the export
    prefixes exactly those cells, so any text round-trips."""
    if v[:1] == "'":
        rest = v.lstrip("'")
        if rest[:1] in _FORMULA_START and rest:
            return v[1:]
    return v


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


def _empty(v: Any) -> bool:
    return v == "" or v is None or (type(v) is str and normalize.is_empty(v))


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
    characters or capitals is its own key. isprintable() rules out the format characters but
    not the printable invisible ones (variation selectors, Hangul fillers, the braille blank):
    a non-ASCII name also goes through ``drop_invisible``, one regex scan."""
    if " " not in name and name.isprintable() and name.casefold() == name and normalize.drop_invisible(name) == name:
        return name
    return normalize.name_key(name)


def _too_long(v: str) -> ParseError:
    return ParseError(N_("cell is too long ({v:,} characters; at most {max_cell:,})"), v=len(v), max_cell=MAX_CELL)


def _shown(message: str) -> str:
    return message if len(message) <= 300 else message[:300] + "..."


# --------------------------------------------------------------------------- typed cells


def _feedback_conv(mapped: dict[str, str]) -> Converter:
    """客户反馈: a feedback key (积极...), else free text kept in the follow-up's content."""

    def conv(v: Any) -> tuple[str | None, str | None] | None:
        if v == "" or v is None:
            return None
        if type(v) is str and len(v) > MAX_CELL:
            raise _too_long(v)
        text = normalize.keep_text(v)
        if text is None:
            return None
        key = mapped.get(vocab.fold(text)) if mapped else None
        key = key or vocab.lookup("feedback", text)
        return (key, None) if key else (None, text)

    return conv


def _email_conv(v: Any) -> str | None:
    if v == "" or v is None:
        return None
    if type(v) is str and len(v) > MAX_CELL:
        raise _too_long(v)
    email = _fast_clean(v) if type(v) is str else normalize.clean_text(v)
    if email is None:
        return None
    if not normalize.EMAIL_RE.fullmatch(email):
        raise ParseError(N_("email '{value}' is not an e-mail address"), value=email[:60])
    return email


def _phone_conv(v: Any) -> tuple[str, str, tuple[tuple[str, str], ...], str | None] | None:
    """A phone cell: (phone as shown, its key, further numbers, a note) -- people write
    ``电话:13922220001(同微信)`` and ``138..., 139...`` (``phone_cells.read``)."""
    if v == "" or v is None:
        return None
    if type(v) is str:
        if len(v) == 11 and v[0] == "1" and v.isdigit() and v.isascii():
            return v, v, (), None
        if len(v) > 200:
            raise ParseError(N_("phone is too long ({v:,} characters)"), v=len(v))
        if normalize.is_empty(v):
            return None
    from crmcli import phone_cells

    cell = phone_cells.read(v)
    (shown, key), *others = cell.phones
    return shown, key, tuple(others), cell.note


def _enum_conv(fld: str, mapped: dict[str, str]) -> Converter:
    def conv(v: Any) -> str | None:
        if type(v) is str and len(v) > MAX_CELL:
            raise _too_long(v)
        text = normalize.clean_text(v)
        if text is None:
            return None
        key = mapped.get(vocab.fold(text)) if mapped else None
        key = key or vocab.lookup(fld, text)
        if key is None:
            raise UnknownValue(fld, text, _unknown(fld, text))
        return key

    return conv


def _money_conv(v: Any) -> float | None:
    if v == "" or v is None:
        return None
    if type(v) is str:
        if len(v) > 200:
            raise ParseError(N_("amount is too long ({v:,} characters)"), v=len(v))
        if normalize.is_empty(v):
            return None
    return normalize.parse_money(v)


def _count_conv(v: Any) -> int | float | None:
    """A count (合作次数): a number not below 0, whole when it is (``12``, ``12.0``, ``12次``)."""
    if v == "" or v is None:
        return None
    if type(v) is str:
        if len(v) > 200:
            raise ParseError(N_("number is too long ({v:,} characters)"), v=len(v))
        if normalize.is_empty(v):
            return None
        text = normalize.clean_text(v) or ""
        try:
            number = float(text.rstrip("次笔单个").replace(",", ""))
        except ValueError:
            raise ParseError(N_("'{value}' is not a number"), value=text[:40]) from None
    elif isinstance(v, bool) or not isinstance(v, int | float):
        raise ParseError(N_("'{v}' is not a number"), v=v)
    else:
        number = float(v)
    if not 0 <= number < 1e15:  # False for NaN
        raise ParseError(N_("{number:g} is out of range (0 or more)"), number=number)
    return int(number) if number.is_integer() else number


def _date_conv(today: dt.date, order: str | None = None) -> Converter:
    def conv(v: Any) -> str | None:
        if type(v) is str:
            if len(v) > 200:
                raise ParseError(N_("date is too long ({v:,} characters)"), v=len(v))
            if normalize.is_empty(v):
                return None
            if _SERIAL_TEXT.fullmatch(v.strip()):
                # A CSV saved by Excel from a date column formatted "General" holds the serial
                # (45420); spec §9: a number in a date column is an Excel serial date.
                v = float(v)
        return normalize.parse_date(v, today, order).isoformat()

    return conv


def _unknown(fld: str, raw: Any) -> ParseError:
    try:
        vocab.parse(fld, normalize.clean_text(raw) or "")
    except ParseError as exc:
        return exc
    return ParseError(N_("unknown {field} '{raw}'"), field=fld, raw=raw)  # pragma: no cover


# --------------------------------------------------------------------------- sensitive numbers


def _may_hold_long_number(cols: Iterable[tuple[Any, ...]]) -> bool:
    """Could a cell of these columns hold a long number? The chunk's free text in one search:
    most chunks hold no long number at all; a column whose cells are all shorter than a match
    (codes, industries...) is left out."""
    try:
        text = "\x1f".join(chain.from_iterable(c for c in cols if max(map(len, c), default=0) >= _LONG_NUMBER_MIN))
    except TypeError:  # a number or date cell among them
        return True
    return bool(_LONG_NUMBER_RE.search(text))


def _sensitive(rowno: int, row: list[Any], idx: list[int], names: dict[int, str]) -> str | None:
    """Where the row's text in columns ``idx`` holds what looks like a resident ID or bank card number."""
    # One search over the row's text first (a separator no digit run crosses): most rows
    # hold no long number at all, and 12 searches per row cost 10% of an import.
    if not _LONG_NUMBER_RE.search("\x1f".join([v for v in map(row.__getitem__, idx) if type(v) is str])):
        return None
    for i in idx:
        v = row[i]
        # A cheap scan first: looks_sensitive only for cells with a long run of digits.
        if type(v) is str and _LONG_NUMBER_RE.search(v):
            kind = normalize.looks_sensitive(v)
            if kind:
                return _("row {rowno}, column {column}: looks like {kind}").format(rowno=rowno, column=names[i], kind=_(_SENSITIVE_KINDS[kind]))
    return None
