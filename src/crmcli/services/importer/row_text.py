"""What a row's cells mean before any field does: a blank row, two columns of one field joined,
a person's name from its parts, a future date said as such. Pure text rules, shared by the
customer, follow-up-log and stage-history parsers.
"""

from __future__ import annotations

import re
from typing import Any

from crmcli import normalize
from crmcli.i18n import gettext as _


def _future(what: str, day: str, today: str) -> str:
    return _("{what} {day} is in the future (today is {today})").format(what=what, day=day, today=today)


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


def _join(a: Any, b: Any) -> Any:
    """Two columns of one text field: both, "; " between them; never one dropped (spec §12)."""
    if a is None or b is None or a == b:
        return a if b is None else b if a is None else a
    return f"{a}; {b}"


def _person_name(first: str | None, last: str | None) -> str | None:
    """First Name + Last Name as a person writes them: "Li Lei"; 姓 + 名 as "李雷"."""
    if not first or not last:
        return first or last
    if _CJK_RE.search(first + last):
        return f"{last}{first}"
    return f"{first} {last}"


_CJK_RE = re.compile(r"[\u3400-\u9fff]")
