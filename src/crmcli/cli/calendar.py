"""``crm calendar``: next follow-ups as an iCalendar file to subscribe to (spec §15)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from crmcli.cli._common import DAYS, MineF, OwnerF, state
from crmcli.cli.app import app
from crmcli.i18n import N_
from crmcli.i18n import gettext as _


@app.command()
def calendar(
    ctx: typer.Context,
    ics: Annotated[str, typer.Option("--ics", help="The .ics file to write, or - for stdout.", metavar="FILE|-")],
    within: Annotated[int, typer.Option("--within", help="Follow-ups due within N days from today (0 to 36500).", parser=DAYS, metavar="DAYS")] = 30,
    owner: OwnerF = None,
    mine: MineF = False,
    no_mask: Annotated[bool, typer.Option("--no-mask", help="Show phones in full (masked by default: 138****5678).")] = False,
) -> None:
    """Write each customer's next follow-up within DAYS as an all-day calendar event (.ics).

    Overdue follow-ups appear on today. Each event keeps its UID across runs, so a calendar that
    subscribes to the file updates events instead of duplicating them.

    Examples: crm calendar --mine --ics ~/Sync/crm.ics;  crm calendar --within 7 --ics -
    """
    from crmcli import normalize, safe_files
    from crmcli.services import calendar as svc

    st = state(ctx)
    user = st.settings.user  # settings first: they mark the database as a file nothing may replace
    target = None if ics.strip() == "-" else Path(ics).expanduser()
    if target is not None:  # before any work: never the database, a link, a device
        reason = safe_files.refusal(target) or (safe_files.replaceable_text(target) if target.exists() else None)
        if reason:
            from crmcli.errors import CrmError

            raise CrmError(N_("--ics {reason}; nothing written"), reason=reason)
        st.interrupted = _("{file} not written").format(file=target)
    owners = [o for o in (normalize.clean_text(x) for x in (owner or [])) if o]
    if mine:
        owners.append(user)
    with st.store.read() as reader:
        items = svc.events(reader, today=st.today, within=within, owners=owners, cadence=st.settings.cadence)
    data = svc.build(items, today=st.today, lang=st.settings.lang, mask=not no_mask)
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with safe_files.open_for_writing(target, check=safe_files.replaceable_text) as fh:
        fh.write(data)
    typer.echo(_("Wrote {count} follow-up(s) to {file}").format(count=len(items), file=target))
