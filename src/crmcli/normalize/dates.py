"""Dates as people type them (§5): ISO and Chinese forms, relative words, Excel serials, a
stated day order; ``dateutil.parser`` only as the last resort, imported when needed."""

from __future__ import annotations

import datetime as dt
import math
import re

from crmcli.errors import ParseError
from crmcli.i18n import N_, Text
from crmcli.normalize.text import _int_text, _nfkc

_MIN_DATE = dt.date(1900, 1, 1)
_WHY_NOT_A_DATE = {"month must be in 1..12": N_("month must be in 1..12"), "day is out of range for month": N_("day is out of range for month")}
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAY_WORDS = {
    "today": 0, "今天": 0, "今日": 0,
    "tomorrow": 1, "明天": 1, "明日": 1,
    "yesterday": -1, "昨天": -1, "昨日": -1,
    "后天": 2, "前天": -2,
}  # fmt: skip
_TIME = (
    r"(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]{1,9})?)?"
    r"\s*(?:[zZ]|[+-][0-9]{2}:?[0-9]{2})?"
)
_YMD_RE = re.compile(
    rf"(?P<y>[0-9]{{4}})(?P<sep>[-/.])(?P<m>[0-9]{{1,2}})(?P=sep)(?P<d>[0-9]{{1,2}})(?:(?:\s*T\s*|\s+){_TIME})?"
)
_ZH_RE = re.compile(
    rf"(?:(?P<y>[0-9]{{4}})\s*年\s*)?(?P<m>[0-9]{{1,2}})\s*月\s*(?P<d>[0-9]{{1,2}})(?:\s*[日号]|(?=\s|$))(?:\s*{_TIME})?"
)
_COMPACT_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_NUMBER_RE = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?")
_RELATIVE_RE = re.compile(r"([-+])\s*([0-9]{1,5})\s*([dwmy])")
# Two defaults that differ in every field: a date that depends on the default is incomplete.
_DEFAULTS = (dt.datetime(2000, 1, 1), dt.datetime(2011, 12, 28))


def _check_range(day: dt.date, shown: str) -> dt.date:
    if day < _MIN_DATE:
        raise ParseError(N_("date '{shown}' is out of range (years 1900 to 9999)"), shown=shown)
    return day


def _make_date(year: int, month: int, day: int, shown: str, m: re.Match[str] | None = None) -> dt.date:
    if m is not None and m.group("H") is not None:
        second = m.group("S")
        if int(m.group("H")) > 23 or int(m.group("M")) > 59 or (second is not None and int(second) > 59):
            raise ParseError(N_("cannot read date '{shown}' (bad time of day)"), shown=shown)
    try:
        result = dt.date(year, month, day)
    except ValueError as e:
        why = _WHY_NOT_A_DATE.get(str(e))  # Python's own words for the two ways a date is not one
        raise ParseError(N_("date '{shown}' is not a real date ({e})"), shown=shown, e=Text(why) if why else e) from None
    return _check_range(result, shown)


def _excel_serial(value: float, shown: str) -> dt.date:
    if not math.isfinite(value):
        raise ParseError(N_("cannot read date {shown}"), shown=shown)
    if value < 1 or value > _EXCEL_MAX_SERIAL:
        raise ParseError(N_("number {shown} is not an Excel date (serials run from 1 to {excel_max_serial})"), shown=shown, excel_max_serial=_EXCEL_MAX_SERIAL)
    serial = int(value)  # the fraction is the time of day
    if serial == 60:
        raise ParseError(N_("Excel date serial 60 is 1900-02-29, a day that does not exist"))
    # Excel counts the fake 1900-02-29, so serials from 61 on are one day further on.
    epoch = dt.date(1899, 12, 31) if serial < 60 else dt.date(1899, 12, 30)
    return epoch + dt.timedelta(days=serial)


def _add_months(day: dt.date, months: int) -> dt.date:
    # What relativedelta(months=n) does (clamp to the month's last day), without its
    # ~20 ms import (it pulls in calendar and locale) on every `--next-date +1m`.
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    last = 31 if month == 12 else (dt.date(year, month + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def _relative(m: re.Match[str], today: dt.date, shown: str) -> dt.date:
    n = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
    unit = m.group(3)
    try:
        if unit == "d":
            result = today + dt.timedelta(days=n)
        elif unit == "w":
            result = today + dt.timedelta(weeks=n)
        elif unit == "m":
            result = _add_months(today, n)
        else:
            result = _add_months(today, 12 * n)
    except (OverflowError, ValueError):
        raise ParseError(N_("date '{shown}' is out of range"), shown=shown) from None
    return _check_range(result, shown)


def _describe(day: dt.date, with_year: bool) -> str:
    text = f"{_MONTHS[day.month - 1]} {day.day}"
    return f"{text}, {day.year}" if with_year else text


def _dateutil_date(text: str) -> dt.date:
    from dateutil import parser

    results: list[tuple[dt.date, dt.date]] = []
    for dayfirst in (False, True):
        for yearfirst in (False, True):
            pair: list[dt.date] = []
            for default in _DEFAULTS:
                try:
                    parsed = parser.parse(text, dayfirst=dayfirst, yearfirst=yearfirst, default=default, ignoretz=True)
                    pair.append(parsed.date())
                except Exception:  # noqa: BLE001 - dateutil raises a zoo of types; all mean "no"
                    break
            if len(pair) == 2:
                results.append((pair[0], pair[1]))
    if not results:
        raise ParseError(N_("cannot read date '{text}'"), text=text)
    if any(a != b for a, b in results):
        raise ParseError(N_("date '{text}' is incomplete; write it as YYYY-MM-DD"), text=text)
    candidates = list(dict.fromkeys(a for a, _ in results))
    if len(candidates) > 1:
        with_year = len({d.year for d in candidates}) > 1
        options = " or ".join(_describe(d, with_year) for d in candidates)
        raise ParseError(N_("date '{text}' is ambiguous ({value}?); write it as {value2}"), text=text, value=options, value2=candidates[0].isoformat())
    return _check_range(candidates[0], text)


def _parse_date_text(value: str, today: dt.date) -> dt.date:
    text = " ".join(_nfkc(value).split())
    if not text:
        raise ParseError(N_("date is empty"))
    if len(text) > 64:
        raise ParseError(N_("cannot read date '{value}...'"), value=text[:64])
    low = text.casefold()
    if low in _DAY_WORDS:
        return _check_range(today + dt.timedelta(days=_DAY_WORDS[low]), text)
    m = _RELATIVE_RE.fullmatch(low)
    if m:
        return _relative(m, today, text)
    m = _YMD_RE.fullmatch(text)
    if m:
        return _make_date(int(m.group("y")), int(m.group("m")), int(m.group("d")), text, m)
    m = _ZH_RE.fullmatch(text)
    if m:
        year = int(m.group("y")) if m.group("y") else today.year
        return _make_date(year, int(m.group("m")), int(m.group("d")), text, m)
    m = _COMPACT_RE.fullmatch(text)
    if m:  # ISO 8601 basic form, 20240508
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    if _NUMBER_RE.fullmatch(text):
        # dateutil would read "2024" or "0508" as a partial date; Excel serials arrive as
        # numbers, not text, so a bare number here is a mistake either way.
        raise ParseError(N_("cannot read date '{text}' (a bare number); write it as YYYY-MM-DD"), text=text)
    return _dateutil_date(text)


DATE_ORDERS = ("ymd", "dmy", "mdy")
_ORDERED_RE = re.compile(r"([0-9]{1,4})\s*[-/.]\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{1,4})(?:\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?")


def _ordered_date(text: str, order: str) -> dt.date | None:
    """A numeric date read in the order a file says it writes them (``--date-order``, §12), or None."""
    m = _ORDERED_RE.fullmatch(text.strip())
    if m is None:
        return None
    a, b, c = m.groups()
    if len(a) == 4:  # 2017-03-11 is year first whatever the order
        order = "ymd"
    y, mo, d = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    if len(y) != 4:
        raise ParseError(N_("date '{text}': the year must have 4 digits (--date-order {order})"), text=text, order=order)
    return _make_date(int(y), int(mo), int(d), text)


def parse_date(value: object, today: dt.date, order: str | None = None) -> dt.date:
    """A calendar date from a cell or a flag (§5, §9); never a guess.

    date/datetime objects are taken as they are (a datetime's time is dropped), numbers
    are Excel serial dates (1900 system), and text is ISO, 2024/5/8, 2024.5.8,
    2024年5月8日, 5月8日 (this year), today/tomorrow/yesterday, +3d/-1d/+2w/+1m/+1y, or
    anything python-dateutil reads the same way whether days or years come first. ``order``
    (ymd, dmy, mdy: ``--date-order``) says how numeric dates are written, so ``3/11/2017`` is
    read instead of refused as ambiguous.
    """
    if order is not None and type(value) is str:
        day = _ordered_date(_nfkc(value), order)
        if day is not None:
            return _check_range(day, value)
    # The common cell: an ISO date string.
    if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if day >= _MIN_DATE:
                return day
    if isinstance(value, dt.datetime):
        return _check_range(value.date(), value.isoformat())
    if isinstance(value, dt.date):
        return _check_range(value, value.isoformat())
    if isinstance(value, bool):
        raise ParseError(N_("cannot read date {value!r}"), value=value)
    if isinstance(value, (int, float)):
        return _excel_serial(value, repr(value) if isinstance(value, float) else _int_text(value))
    if isinstance(value, str):
        return _parse_date_text(value, today)
    raise ParseError(N_("cannot read date {value!r}"), value=value)
