"""Free text as stored, names as identity keys, the empty markers, and the look of sensitive
numbers (ID and card numbers) in free text. Shared by the other readers of the package."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

from crmcli.errors import ParseError
from crmcli.i18n import N_

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
        raise ParseError(N_("{value!r} is not a number"), value=value)
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
            raise ParseError(N_("number is too long to read")) from None
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
            raise ParseError(N_("cannot read text {value!r}"), value=bytes(value)[:40]) from None
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
        raise ParseError(N_("name is empty"))
    # casefold() can produce text that NFKC changes again (and the reverse), so iterate
    # to the fixed point: the key of a key must be itself. Two rounds almost always do.
    for _ in range(4):
        new = _NAME_DROP_RE.sub("", _nfkc(key)).casefold()
        if new == key:
            break
        key = new
    if not key:
        raise ParseError(N_("name is empty"))
    return key


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
