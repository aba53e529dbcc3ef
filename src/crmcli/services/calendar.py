"""``crm calendar``: each customer's next follow-up as an all-day event of an RFC 5545 file (spec §15).

The events are the due list's (spec §6) over a window: a customer whose next follow-up falls
within ``within`` days from today (the last day included), an overdue one on today. The file is
built with a maintained iCalendar library (icalendar). Each event's UID is the customer's code
at a fixed domain, so a calendar that subscribes to the file (a phone's, through a synced
folder) updates the event when the date moves instead of adding a second one; DTSTAMP is today,
so a file written twice on one day is the same file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcli.store.reader import Reader

UID_DOMAIN = "crmcli.follow-up"
PRODID = "-//crmcli//follow-ups//EN"


def events(reader: Reader, *, today: dt.date, within: int, owners: Sequence[str], cadence: dict[str, int]) -> list[dict[str, Any]]:
    """The follow-ups of the window: one per customer (code, name, contact, phone, date, plan, overdue days)."""
    from crmcli.services import customer_query as cq

    filters = cq.Filters(owner=list(owners))
    sql, params = cq.select(
        reader.dialect, cadence=cadence, filters=filters, due=cq.Due(today, within),
        keys=("code", "name", "contact", "phone", "owner", "stage", "next_follow_at", "overdue_days", "next_plan"),
    )  # fmt: skip
    out = []
    for rec in cq.records(reader, sql, params):
        day = dt.date.fromisoformat(str(rec["next_follow_at"]))
        rec["date"] = max(day, today)  # overdue: on today
        out.append(rec)
    return out


def build(items: Sequence[dict[str, Any]], *, today: dt.date, lang: str, mask: bool) -> bytes:
    """The iCalendar file of ``items`` (``events``), as bytes."""
    from icalendar import Calendar, Event

    from crmcli.i18n import gettext
    from crmcli.normalize import mask_phone

    def _(message: str) -> str:
        return gettext(message, lang)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Customer follow-ups"))
    stamp = dt.datetime.combine(today, dt.time(0, 0), tzinfo=dt.UTC)
    for rec in items:
        phone = rec.get("phone") or ""
        if phone and mask:
            phone = mask_phone(phone)
        plan = rec.get("next_plan") or ""
        ev = Event()
        ev.add("uid", f"{rec['code']}@{UID_DOMAIN}")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", rec["date"])
        ev.add("dtend", rec["date"] + dt.timedelta(days=1))
        ev.add("summary", _("Follow up {name}").format(name=rec["name"]) + (f": {plan}" if plan else ""))
        lines = [
            f"{_('Customer')}: {rec['code']} {rec['name']}",
            f"{_('Contact')}: {rec.get('contact') or '-'}",
            f"{_('Phone')}: {phone or '-'}",
            f"{_('Next plan')}: {plan or '-'}",
        ]
        overdue = int(rec.get("overdue_days") or 0)
        if overdue > 0:
            lines.append(_("{n} day(s) overdue").format(n=overdue))
        ev.add("description", "\n".join(lines))
        ev.add("transp", "TRANSPARENT")  # a reminder, not a meeting: it does not block the day
        cal.add_component(ev)
    return cal.to_ical()
