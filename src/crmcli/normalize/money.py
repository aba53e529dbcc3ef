"""Amounts as people type them: ¥ and RMB, thousands separators, 万/千/亿 and k/w, exact to the fen."""

from __future__ import annotations

import math
import re

from crmcli.errors import ParseError
from crmcli.i18n import N_, Text
from crmcli.normalize.text import _int_text, _nfkc

_MONEY_RE = re.compile(
    r"(?P<s1>[-+−])?\s*(?:¥|rmb|cny|人民币)?\s*(?P<s2>[-+−])?\s*"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<frac>[0-9]*))?(?:e(?P<exp>[-+]?[0-9]{1,4}))?"
    r"\s*(?P<unit>十万|百万|千万|万|亿|千|百|k|w)?\s*(?:元|块|rmb|cny)?"
)
# The units people write amounts in: 5千, 1.2万, 3百万, 2亿; 5k and 5w (万) as typed in chat.
_UNIT_EXP = {None: 0, "百": 2, "千": 3, "k": 3, "万": 4, "w": 4, "十万": 5, "百万": 6, "千万": 7, "亿": 8}
AMOUNT = Text(N_("amount"))  # what an amount is called in its errors; a caller may name it otherwise
_MAX_CENTS = 10**17  # 1e15 yuan: anything larger is a typo, and floats lose the fen there


def _round_cents(mantissa: str, scale: int, shown: str) -> int:
    """round_half_up(int(mantissa) * 10**scale * 100), computed exactly on integers."""
    mantissa = mantissa.lstrip("0")
    if not mantissa:
        return 0
    if len(mantissa) > 40:
        raise ParseError(N_("{what} '{shown}' has too many digits"), what=AMOUNT, shown=shown)
    shift = scale + 2
    if shift >= 0:
        if len(mantissa) + shift > 17:
            raise ParseError(N_("{what} '{shown}' is too large"), what=AMOUNT, shown=shown)
        factor: int = 10**shift
        return int(mantissa) * factor
    if -shift > len(mantissa):
        return 0  # less than a tenth of a fen
    divisor: int = 10**-shift
    cents, rest = divmod(int(mantissa), divisor)
    if 2 * rest >= divisor:
        cents += 1
    if cents >= _MAX_CENTS:
        raise ParseError(N_("{what} '{shown}' is too large"), what=AMOUNT, shown=shown)
    return cents


def _money_text(text: str, shown: str) -> float:
    m = _MONEY_RE.fullmatch(text)
    if not m or (m.group("s1") and m.group("s2")) or not (m.group("int") or m.group("frac")):
        raise ParseError(N_("cannot read {what} '{shown}'"), what=AMOUNT, shown=shown)
    whole = (m.group("int") or "").replace(",", "")
    frac = m.group("frac") or ""
    scale = int(m.group("exp") or 0) + _UNIT_EXP[m.group("unit")] - len(frac)
    cents = _round_cents(whole + frac, scale, shown)
    if cents and (m.group("s1") or m.group("s2") or "+") != "+":
        raise ParseError(N_("{what} '{shown}' is negative"), what=AMOUNT, shown=shown)
    return cents / 100


def parse_money(value: object) -> float:
    """An amount in yuan, rounded to the fen (§3): 50000, 50,000, ¥1,200.50, RMB 1200, 5千, 5万,
    1.2万元, 3百万, 2亿, 5k, 1200元; a number cell as it is. Negative, empty or unreadable -> ParseError."""
    if isinstance(value, bool):
        raise ParseError(N_("cannot read {what} {value!r}"), what=AMOUNT, value=value)
    if isinstance(value, int):
        if value < 0:
            raise ParseError(N_("{what} {value} is negative"), what=AMOUNT, value=_int_text(value))
        if value * 100 >= _MAX_CENTS:
            raise ParseError(N_("{what} {value} is too large"), what=AMOUNT, value=_int_text(value))
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParseError(N_("cannot read {what} {value!r}"), what=AMOUNT, value=value)
        # Through repr so that a cell and the same number typed as text round alike.
        return _money_text(repr(value), repr(value)) + 0.0  # + 0.0 turns -0.0 into 0.0
    if not isinstance(value, str):
        raise ParseError(N_("cannot read {what} {value!r}"), what=AMOUNT, value=value)
    shown = " ".join(_nfkc(value).split())
    if not shown:
        raise ParseError(N_("{what} is empty"), what=AMOUNT)
    return _money_text(shown.casefold(), shown)
