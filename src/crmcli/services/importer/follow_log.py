"""跟进记录 cells (seed 002): several follow-ups written as one text, one per dated line.

"09-20电话沟通:…;下一步:…" is a follow-up on 20 September, by phone, whose next step is the plan;
a date without a year takes the year that puts it on or before the last follow-up (or today).
"""

from __future__ import annotations

import datetime as dt
import re

from crmcli import vocab
from crmcli.errors import ParseError
from crmcli.i18n import N_

# A follow-up as parsed: (date, method, content, feedback, by, next_date, next_plan), the
# order of follow_up's INSERT columns after customer_id.
_FollowUp = tuple[str, "str | None", str, "str | None", "str | None", "str | None", "str | None"]

_LOG_DATE_RE = re.compile(r"^\s*(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?")
_LOG_LINE_START_RE = re.compile(r"(?m)^(?=\s*(?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2})")
_NEXT_STEP_RE = re.compile(r"(?:下一步(?:计划)?|下步计划|next\s*step)\s*[:：]\s*(?P<plan>.+)$", re.IGNORECASE | re.S)
_PLAN_DATE_RE = re.compile(r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")

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
            raise ParseError(N_("'{month:02d}-{day:02d}' is not a real date in {year}"), month=month, day=day, year=year) from None

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
                    raise ParseError(N_("'{value}' is not a real date"), value=m.group(0).strip()) from None
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
