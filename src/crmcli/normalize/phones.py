"""Phones (the §3 dedup key, the stored form, the mask) and e-mail addresses."""

from __future__ import annotations

import math
import re

from crmcli.errors import ParseError
from crmcli.i18n import N_
from crmcli.normalize.text import _as_text, _int_text, _is_marker, _nfkc, _strip, drop_invisible

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
        raise ParseError(N_("cannot read phone {value!r}"), value=value)
    if isinstance(value, int):
        if value < 0 or value >= 10**20:
            raise ParseError(N_("cannot read phone {value}"), value=_int_text(value))
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer() or value >= 1e20:
            raise ParseError(N_("cannot read phone {value!r}"), value=value)
        return str(int(value))
    if not isinstance(value, str):
        raise ParseError(N_("cannot read phone {value!r}"), value=value)
    text = " ".join(_nfkc(drop_invisible(value)).split())
    if text.startswith("'"):  # Excel's "keep this as text" prefix
        text = text[1:].lstrip()
    if not text or _is_marker(text):
        raise ParseError(N_("phone is empty"))
    m = _EXCEL_INT_RE.fullmatch(text)
    if m:
        return m.group(1)
    m = _EXCEL_SCI_RE.fullmatch(text)
    if m:
        lead, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
        if len(frac) < exp:
            # Excel showed it rounded ("1.38123E+10"): the missing digits are gone.
            raise ParseError(N_("phone '{text}' lost digits in Excel's scientific notation; format the column as text and type the number again"), text=text)
        if frac[exp:].strip("0"):
            raise ParseError(N_("phone '{text}' is not a whole number"), text=text)
        return lead + frac[:exp]
    return text


def _unreadable_phone(shown: str) -> ParseError:
    if "*" in shown:
        return ParseError(N_("phone '{shown}' is masked; the whole number is needed"), shown=shown)
    if len(_DIGIT_RUN_RE.findall(shown)) > 1:
        return ParseError(N_("phone '{shown}' holds more than one number; keep one"), shown=shown)
    return ParseError(N_("cannot read phone '{shown}'"), shown=shown)


def _digits_key(body: str, shown: str) -> str:
    """Key of a phone with no extension: digits only, country code 86 resolved."""
    compact = _PHONE_SEP_RE.sub("", body)
    if not _PHONE_BODY_RE.fullmatch(compact):
        raise _unreadable_phone(shown)
    digits = compact.lstrip("+")
    if len(digits) < 7:
        raise ParseError(N_("phone '{shown}' has fewer than 7 digits"), shown=shown)
    if compact[0] == "+":
        digits = "00" + digits  # "+1 415..." and "001 415..." are the same number
    national = digits[2:] if digits.startswith("00") else digits
    if len(national) > 15:  # E.164 allows 15 digits at most
        raise ParseError(N_("phone '{shown}' has too many digits; is it more than one number?"), shown=shown)
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


EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # what counts as an e-mail address (a full match)
