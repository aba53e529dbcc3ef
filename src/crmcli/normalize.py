"""Reading the values people type into cells and flags: text, names, phones, dates, money.

Spec §2, §3, §5 and §9. Every function is pure (no I/O, no clock: callers pass
``today``), and every parse failure is a ``ParseError`` whose message names the
value; no other exception escapes, whatever the input (the tests fuzz this).

These run once per cell on 100k-row imports, so the common shapes (a plain
11-digit mobile, an ISO date) return through a fast path before any general
machinery, and ``dateutil.parser`` is imported only when a date needs it.
``phonenumbers`` is not used: the dedup key in §3 is a digit string with a few
Chinese-specific rules, which a couple of regexes express exactly and ~30x faster.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

from crmcli.errors import ParseError

__all__ = [
    "EMPTY_MARKERS",
    "clean_phone",
    "clean_text",
    "drop_invisible",
    "is_empty",
    "looks_sensitive",
    "mask_email",
    "mask_phone",
    "name_key",
    "parse_date",
    "parse_money",
    "phone_key",
]

# "——" is the Chinese dash (破折号), typed as two em dashes: it means "nothing" in a cell
# just as "—" does.
EMPTY_MARKERS: frozenset[str] = frozenset({"-", "—", "——", "/", "无", "N/A", "n/a"})
_MARKERS_FOLDED = frozenset(m.casefold() for m in EMPTY_MARKERS)
_MARKER_MAX_LEN = max(len(m) for m in EMPTY_MARKERS)

# Invisible characters that survive NFKC and str.strip(), trimmed from the ends of stored text.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_EDGES_RE = re.compile(f"^[\\s{_INVISIBLE}]+|[\\s{_INVISIBLE}]+$")
# What an identity key never sees (§3): characters that show nothing of their own, copied from
# web pages, chat apps and spoofed lead lists, which would make two equal names two customers.
# Every format character (category Cf: zero-width spaces and joiners, direction marks, embeddings
# and isolates, the soft hyphen, the BOM, tag characters, and the few visible Cf such as the
# Arabic number signs), every variation selector, and the blank-looking fillers: the Hangul
# fillers, the braille blank, the combining grapheme joiner, the Khmer inherent vowels. This is
# Unicode's Default_Ignorable_Code_Point set plus the Cf outside it and U+2800. It is written
# out rather than read from unicodedata so that a stored key does not depend on the Unicode
# version of the Python that computed it (tests/test_identity.py checks it covers every Cf).
# NFKC maps nothing outside the set into it, so dropping before NFKC is enough.
_IGNORABLE = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_IGNORABLE_RE = re.compile(f"[{_IGNORABLE}]+")
_NAME_DROP_RE = re.compile(r"\s+")
_NEWLINE_RE = re.compile("\r\n?|[\x85\u2028\u2029]")
_HSPACE_RE = re.compile(r"[^\S\n]+")


def drop_invisible(text: str) -> str:
    """``text`` without the characters that show nothing (``_IGNORABLE``): the first step of
    every identity comparison -- name keys, phone keys, REF lookup, import headers.

    ASCII text holds none and comes back as it is, without a scan: the import calls this per
    cell on 100k-row files.
    """
    return text if text.isascii() else _IGNORABLE_RE.sub("", text)


def _nfkc(text: str) -> str:
    # ASCII is NFKC-stable; skipping the call keeps the 100k-row path cheap.
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _strip(text: str) -> str:
    text = text.strip()
    if text and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
        text = _EDGES_RE.sub("", text)
    return text


def _is_marker(text: str) -> bool:
    """``text`` is already NFKC-normalised and stripped."""
    return len(text) <= _MARKER_MAX_LEN and text.casefold() in _MARKERS_FOLDED


# --------------------------------------------------------------------------- text


def is_empty(value: object) -> bool:
    """True for None, "", whitespace and the empty markers ("-", "—", "/", "无", "N/A").

    Numbers are never empty (0 is a value), and neither is NaN: a NaN cell is not
    something a user typed, so the parsers reject it loudly instead.
    """
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = _strip(value)
    if not text:
        return True
    if len(text) > 2 * _MARKER_MAX_LEN:
        return False
    text = _strip(_nfkc(text))
    return not text or _is_marker(text)


def _int_text(value: int) -> str:
    """str(value), except for ints too long for str() (it raises past 4300 digits)."""
    if -(10**30) < value < 10**30:
        return str(value)
    return f"a {value.bit_length()}-bit number"


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        raise ParseError(f"{value!r} is not a number")
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    return _expand_exponent(text) if "e" in text else text


def _expand_exponent(text: str) -> str:
    """``repr`` of a float in scientific form -> the same digits written out ("1.5e-07")."""
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exponent = text.lstrip("-").partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exponent)
    if point <= 0:
        out = "0." + "0" * -point + digits
    elif point >= len(digits):
        out = digits + "0" * (point - len(digits))
    else:
        out = digits[:point] + "." + digits[point:]
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return sign + out


def _as_text(value: object) -> str:
    """Any cell value as text, before normalisation."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # past sys.get_int_max_str_digits()
            raise ParseError("number is too long to read") from None
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(f"cannot read text {bytes(value)[:40]!r}") from None
    return str(value)


def clean_text(value: object) -> str | None:
    """Free text as stored: NFKC, trimmed, runs of spaces/tabs collapsed within each line.

    Line breaks (Alt+Enter in Excel) are kept, as "\\n". Empty cells and the empty
    markers give None. Numbers read as a person would write them: 12.0 -> "12",
    1.5e-07 -> "0.00000015".
    """
    if value is None:
        return None
    text = _NEWLINE_RE.sub("\n", _nfkc(_as_text(value)))
    if "\n" in text:
        text = "\n".join(_HSPACE_RE.sub(" ", line).strip() for line in text.split("\n"))
    else:
        text = _HSPACE_RE.sub(" ", text)
    text = _strip(text)
    if not text or _is_marker(text):
        return None
    return text


def keep_text(value: object) -> str | None:
    """Free prose as the user typed it (跟进内容, 核心需求, 备注, plans, reasons).

    Unlike ``clean_text`` no NFKC: full-width punctuation (，：；) is the user's
    writing, not a spelling variant to group by. Only the ends are trimmed, and
    empty cells and the empty markers give None.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        return clean_text(value)
    text = _NEWLINE_RE.sub("\n", value).strip()
    if not text or is_empty(text):
        return None
    return text


def name_key(value: str) -> str:
    """The identity key of a name (§3): NFKC, no whitespace and no invisible characters
    (``drop_invisible``) at all, case-folded."""
    text = value if isinstance(value, str) else clean_text(value)
    key = drop_invisible(text) if text is not None else ""
    if is_empty(key):  # "-" with a direction mark is still the empty marker
        raise ParseError("name is empty")
    # casefold() can produce text that NFKC changes again (and the reverse), so iterate
    # to the fixed point: the key of a key must be itself. Two rounds almost always do.
    for _ in range(4):
        new = _NAME_DROP_RE.sub("", _nfkc(key)).casefold()
        if new == key:
            break
        key = new
    if not key:
        raise ParseError("name is empty")
    return key


# --------------------------------------------------------------------------- phones

_MOBILE_RE = re.compile(r"1[0-9]{10}")
# Numbers that went through Excel: "13812345678.0" (or ".00" with a 2-decimal format) and
# "1.3812345678E+10". More zeros than that is a dotted number: "8888.0000".
_EXCEL_INT_RE = re.compile(r"([0-9]+)\.0{0,2}")
_EXCEL_SCI_RE = re.compile(r"([0-9])(?:\.([0-9]*))?[eE]\+?([0-9]{1,2})")
_EXT_RE = re.compile(r"(?:转|分机|ext(?:ension)?|x|#)", re.IGNORECASE)
_EXT_TAIL_RE = re.compile(r"\s*[.:]?\s*[0-9]{1,8}\s*")
_DASH_EXT_RE = re.compile(r"\s*[0-9]{1,6}\s*")
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))
_PHONE_SEP_RE = re.compile(r"[\s\-().]+")
_PHONE_BODY_RE = re.compile(r"\+?[0-9]+")
_DIGIT_RUN_RE = re.compile(r"[0-9]{7,}")
_NON_DIGIT_RE = re.compile(r"[^0-9]+")
# A complete Chinese landline in domestic form: 0 + area code + subscriber number
# (010 and 02x take 8 digits; the 4-digit codes 03xx-09xx take 7 or 8).
_LANDLINE_RE = re.compile(r"0(?:[12][0-9]{9}|[3-9][0-9]{9,10})")


def _phone_source(value: object) -> str:
    """The phone as text: numbers written out, Excel damage repaired, whitespace collapsed."""
    if isinstance(value, bool):
        raise ParseError(f"cannot read phone {value!r}")
    if isinstance(value, int):
        if value < 0 or value >= 10**20:
            raise ParseError(f"cannot read phone {_int_text(value)}")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer() or value >= 1e20:
            raise ParseError(f"cannot read phone {value!r}")
        return str(int(value))
    if not isinstance(value, str):
        raise ParseError(f"cannot read phone {value!r}")
    text = " ".join(_nfkc(drop_invisible(value)).split())
    if text.startswith("'"):  # Excel's "keep this as text" prefix
        text = text[1:].lstrip()
    if not text or _is_marker(text):
        raise ParseError("phone is empty")
    m = _EXCEL_INT_RE.fullmatch(text)
    if m:
        return m.group(1)
    m = _EXCEL_SCI_RE.fullmatch(text)
    if m:
        lead, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
        if len(frac) < exp:
            # Excel showed it rounded ("1.38123E+10"): the missing digits are gone.
            raise ParseError(
                f"phone '{text}' lost digits in Excel's scientific notation; "
                "format the column as text and type the number again"
            )
        if frac[exp:].strip("0"):
            raise ParseError(f"phone '{text}' is not a whole number")
        return lead + frac[:exp]
    return text


def _unreadable_phone(shown: str) -> ParseError:
    if "*" in shown:
        return ParseError(f"phone '{shown}' is masked; the whole number is needed")
    if len(_DIGIT_RUN_RE.findall(shown)) > 1:
        return ParseError(f"phone '{shown}' holds more than one number; keep one")
    return ParseError(f"cannot read phone '{shown}'")


def _digits_key(body: str, shown: str) -> str:
    """Key of a phone with no extension: digits only, country code 86 resolved."""
    compact = _PHONE_SEP_RE.sub("", body)
    if not _PHONE_BODY_RE.fullmatch(compact):
        raise _unreadable_phone(shown)
    digits = compact.lstrip("+")
    if len(digits) < 7:
        raise ParseError(f"phone '{shown}' has fewer than 7 digits")
    if compact[0] == "+":
        digits = "00" + digits  # "+1 415..." and "001 415..." are the same number
    national = digits[2:] if digits.startswith("00") else digits
    if len(national) > 15:  # E.164 allows 15 digits at most
        raise ParseError(f"phone '{shown}' has too many digits; is it more than one number?")
    if digits.startswith("0086"):
        rest = digits[4:]
        if rest.startswith("0"):  # "+86 (0)10 ...": the trunk 0 is written by habit
            rest = rest[1:]
        if _MOBILE_RE.fullmatch(rest):
            return rest
        if not rest or rest[0] == "0":
            raise _unreadable_phone(shown)
        # A Chinese landline written internationally: give it its domestic form, so
        # "+86 10 1234 5678" and "010-12345678" are the same customer.
        return "0" + rest
    if len(digits) == 13 and digits.startswith("861"):
        return digits[2:]
    if len(digits) == 12 and digits.startswith("01") and digits[2] in "3456789":
        # A mobile dialled with the long-distance 0 (there is no area code 013-019).
        return digits[1:]
    return digits


def _phone_key_text(text: str) -> str:
    if _MOBILE_RE.fullmatch(text):
        return text
    body = text
    m = _EXT_RE.search(text)
    if m:
        if not m.start() or not _EXT_TAIL_RE.fullmatch(text, m.end()):
            raise _unreadable_phone(text)
        body = text[: m.start()]
    body = body.translate(_DASHES)
    head, dash, tail = body.rpartition("-")
    if dash and _DASH_EXT_RE.fullmatch(tail):
        # "010-12345678-123": a short group after a complete landline is an extension.
        try:
            head_key = _digits_key(head, text)
        except ParseError:
            head_key = ""
        if _LANDLINE_RE.fullmatch(head_key):
            return head_key
    return _digits_key(body, text)


def phone_key(value: object) -> str:
    """The identity key of a phone (§3): digits only, "+86"/"0086"/"86" dropped before a
    mobile, Excel's 13812345678.0 / 1.3812345678E+10 repaired, extensions dropped.

    International numbers keep their country code behind "00" ("+1 415 555 0100" ->
    "0014155550100"), so they cannot collide with a Chinese number.
    """
    # The common cell: a plain mobile, already its own key.
    if type(value) is str and len(value) == 11 and value[0] == "1" and value.isdigit() and value.isascii():
        return value
    return _phone_key_text(_phone_source(value))


def clean_phone(value: object) -> str:
    """The phone as stored and shown: the user's text (NFKC, trimmed, single spaces), or
    the digit string for a number that went through Excel. Raises what phone_key raises."""
    text = _phone_source(value)
    _phone_key_text(text)
    return text


def mask_phone(phone: str) -> str:
    """Mask a phone for display: "13812345678" -> "138****5678".

    At most the first 3 and last 4 digits are shown and at least 4 are always hidden,
    whatever the form (+86, spaces, extension); never raises.
    """
    try:
        digits = phone_key(phone)
    except ParseError:
        try:
            raw = _nfkc(_as_text(phone))
        except ParseError:
            raw = ""
        digits = _NON_DIGIT_RE.sub("", raw)
    n = len(digits)
    if n <= 4:
        return "****"
    hidden = max(4, n - 7)
    visible = n - hidden
    head = min(3, visible)
    return digits[:head] + "*" * hidden + digits[n - (visible - head) :]


def mask_email(email: str) -> str:
    """Mask an e-mail for display: "zhang@example.com" -> "z***@example.com"."""
    text = _strip(_nfkc(_as_text(email)))
    local, at, domain = text.rpartition("@")
    if not at:
        local, domain = text, ""
    return local[:1] + "***" + at + domain


# --------------------------------------------------------------------------- dates

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # what counts as an e-mail address (a full match)

_MIN_DATE = dt.date(1900, 1, 1)
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
        raise ParseError(f"date '{shown}' is out of range (years 1900 to 9999)")
    return day


def _make_date(year: int, month: int, day: int, shown: str, m: re.Match[str] | None = None) -> dt.date:
    if m is not None and m.group("H") is not None:
        second = m.group("S")
        if int(m.group("H")) > 23 or int(m.group("M")) > 59 or (second is not None and int(second) > 59):
            raise ParseError(f"cannot read date '{shown}' (bad time of day)")
    try:
        result = dt.date(year, month, day)
    except ValueError as e:
        raise ParseError(f"date '{shown}' is not a real date ({e})") from None
    return _check_range(result, shown)


def _excel_serial(value: float, shown: str) -> dt.date:
    if not math.isfinite(value):
        raise ParseError(f"cannot read date {shown}")
    if value < 1 or value > _EXCEL_MAX_SERIAL:
        raise ParseError(f"number {shown} is not an Excel date (serials run from 1 to {_EXCEL_MAX_SERIAL})")
    serial = int(value)  # the fraction is the time of day
    if serial == 60:
        raise ParseError("Excel date serial 60 is 1900-02-29, a day that does not exist")
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
        raise ParseError(f"date '{shown}' is out of range") from None
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
        raise ParseError(f"cannot read date '{text}'")
    if any(a != b for a, b in results):
        raise ParseError(f"date '{text}' is incomplete; write it as YYYY-MM-DD")
    candidates = list(dict.fromkeys(a for a, _ in results))
    if len(candidates) > 1:
        with_year = len({d.year for d in candidates}) > 1
        options = " or ".join(_describe(d, with_year) for d in candidates)
        raise ParseError(f"date '{text}' is ambiguous ({options}?); write it as {candidates[0].isoformat()}")
    return _check_range(candidates[0], text)


def _parse_date_text(value: str, today: dt.date) -> dt.date:
    text = " ".join(_nfkc(value).split())
    if not text:
        raise ParseError("date is empty")
    if len(text) > 64:
        raise ParseError(f"cannot read date '{text[:64]}...'")
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
        raise ParseError(f"cannot read date '{text}' (a bare number); write it as YYYY-MM-DD")
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
        raise ParseError(f"date '{text}': the year must have 4 digits (--date-order {order})")
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
        raise ParseError(f"cannot read date {value!r}")
    if isinstance(value, (int, float)):
        return _excel_serial(value, repr(value) if isinstance(value, float) else _int_text(value))
    if isinstance(value, str):
        return _parse_date_text(value, today)
    raise ParseError(f"cannot read date {value!r}")


# --------------------------------------------------------------------------- money

_MONEY_RE = re.compile(
    r"(?P<s1>[-+−])?\s*(?:¥|rmb|cny|人民币)?\s*(?P<s2>[-+−])?\s*"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<frac>[0-9]*))?(?:e(?P<exp>[-+]?[0-9]{1,4}))?"
    r"\s*(?P<unit>十万|百万|千万|万|亿|千|百|k|w)?\s*(?:元|块|rmb|cny)?"
)
# The units people write amounts in: 5千, 1.2万, 3百万, 2亿; 5k and 5w (万) as typed in chat.
_UNIT_EXP = {None: 0, "百": 2, "千": 3, "k": 3, "万": 4, "w": 4, "十万": 5, "百万": 6, "千万": 7, "亿": 8}
_MAX_CENTS = 10**17  # 1e15 yuan: anything larger is a typo, and floats lose the fen there


def _round_cents(mantissa: str, scale: int, shown: str) -> int:
    """round_half_up(int(mantissa) * 10**scale * 100), computed exactly on integers."""
    mantissa = mantissa.lstrip("0")
    if not mantissa:
        return 0
    if len(mantissa) > 40:
        raise ParseError(f"amount '{shown}' has too many digits")
    shift = scale + 2
    if shift >= 0:
        if len(mantissa) + shift > 17:
            raise ParseError(f"amount '{shown}' is too large")
        factor: int = 10**shift
        return int(mantissa) * factor
    if -shift > len(mantissa):
        return 0  # less than a tenth of a fen
    divisor: int = 10**-shift
    cents, rest = divmod(int(mantissa), divisor)
    if 2 * rest >= divisor:
        cents += 1
    if cents >= _MAX_CENTS:
        raise ParseError(f"amount '{shown}' is too large")
    return cents


def _money_text(text: str, shown: str) -> float:
    m = _MONEY_RE.fullmatch(text)
    if not m or (m.group("s1") and m.group("s2")) or not (m.group("int") or m.group("frac")):
        raise ParseError(f"cannot read amount '{shown}'")
    whole = (m.group("int") or "").replace(",", "")
    frac = m.group("frac") or ""
    scale = int(m.group("exp") or 0) + _UNIT_EXP[m.group("unit")] - len(frac)
    cents = _round_cents(whole + frac, scale, shown)
    if cents and (m.group("s1") or m.group("s2") or "+") != "+":
        raise ParseError(f"amount '{shown}' is negative")
    return cents / 100


def parse_money(value: object) -> float:
    """An amount in yuan, rounded to the fen (§3): 50000, 50,000, ¥1,200.50, RMB 1200, 5千, 5万,
    1.2万元, 3百万, 2亿, 5k, 1200元; a number cell as it is. Negative, empty or unreadable -> ParseError."""
    if isinstance(value, bool):
        raise ParseError(f"cannot read amount {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ParseError(f"amount {_int_text(value)} is negative")
        if value * 100 >= _MAX_CENTS:
            raise ParseError(f"amount {_int_text(value)} is too large")
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParseError(f"cannot read amount {value!r}")
        # Through repr so that a cell and the same number typed as text round alike.
        return _money_text(repr(value), repr(value)) + 0.0  # + 0.0 turns -0.0 into 0.0
    if not isinstance(value, str):
        raise ParseError(f"cannot read amount {value!r}")
    shown = " ".join(_nfkc(value).split())
    if not shown:
        raise ParseError("amount is empty")
    return _money_text(shown.casefold(), shown)


# --------------------------------------------------------------------------- sensitive data

_ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
# A card number written as one run, or in groups of four ("6222 0212 3456 7890 123").
_CARD_RE = re.compile(r"(?<![0-9])(?:[0-9]{16,19}|[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _id_checksum_ok(number: str) -> bool:
    """GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(number, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11] == number[17].upper()


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_sensitive(text: str) -> str | None:
    """Name the kind of sensitive number the text holds, if any.

    "id_number": an 18-character Chinese resident ID with a valid check digit;
    "bank_card": a 16-19 digit number (one run, or groups of four) passing the Luhn
    check; else None. Phone numbers (11 digits) never match.
    """
    text = _nfkc(text if isinstance(text, str) else _as_text(text))
    for m in _ID_RE.finditer(text):
        if _id_checksum_ok(m.group()):
            return "id_number"
    for m in _CARD_RE.finditer(text):
        if _luhn_ok(re.sub(r"[ -]", "", m.group())):
            return "bank_card"
    return None
