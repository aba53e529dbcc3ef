"""Pipeline commands: follow (跟进, and its corrections) and stage (阶段)."""

from typing import Annotated, Any

import typer

from crmcli.cli import complete
from crmcli.cli._common import ROW_ID, field_words, goes_with, interactive, state, value_word
from crmcli.cli.app import app
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

Ref = Annotated[str, typer.Argument(metavar="REF", help="Code, name, phone or part of the name.", autocompletion=complete.customers)]


@app.command()
def follow(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF|edit|delete", help="The customer (code, name, phone, part of the name); or edit / delete and a follow-up's number.", autocompletion=complete.customers)],
    number: Annotated[int | None, typer.Argument(metavar="[ID]", help="With edit/delete: the follow-up's number (crm show lists them: #12).", parser=ROW_ID, show_default=False)] = None,
    content: Annotated[str | None, typer.Option("--content", "-c", help="What was said (跟进内容).", show_default=False, metavar="TEXT")] = None,
    method: Annotated[str | None, typer.Option("--method", "-m", help="phone|visit|email|wechat|meeting|other (电话/拜访/...).", show_default=False, metavar="METHOD", autocompletion=complete.methods)] = None,
    feedback: Annotated[str | None, typer.Option("--feedback", help="positive|hesitant|negative (积极/犹豫/消极).", show_default=False, metavar="FEEDBACK", autocompletion=complete.feedbacks)] = None,
    date: Annotated[str | None, typer.Option("--date", help="When it happened (default today).", show_default=False, metavar="DATE")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who followed up (default acting user).", show_default=False, metavar="NAME")] = None,
    next_date: Annotated[str | None, typer.Option("--next-date", help="Next follow-up date, e.g. 2024-06-01 or +3d.", show_default=False, metavar="DATE")] = None,
    next_plan: Annotated[str | None, typer.Option("--next-plan", help="What to do next (下次跟进计划).", show_default=False, metavar="TEXT")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Also move the customer to this stage.", show_default=False, metavar="STAGE", autocompletion=complete.stages)] = None,
) -> None:
    """Record a follow-up with a customer; or correct (edit) or delete one by its number.

    Examples: crm follow ABC --method phone --content "客户要报价" --next-date +3d --next-plan 发报价;
    crm follow edit 12 --date 2026-11-20;  crm follow delete 12
    """
    from crmcli import normalize, vocab
    from crmcli.services import customer_query as cq
    from crmcli.services import followups, pipeline
    from crmcli.store.reader import Reader

    st = state(ctx)
    today = st.today
    if ref in ("edit", "delete") and number is not None:
        _correct(st, ref, number, content=content, method=method, feedback=feedback, date=date, by=by,
                 next_date=next_date, next_plan=next_plan, stage=stage)  # fmt: skip
        return
    if number is not None:
        raise UsageError(N_("follow {ref} {number}: give a customer and --content, or edit/delete and a follow-up's number"), ref=ref, number=number)
    if content is None:
        raise UsageError(N_("missing --content (what was said)"))
    text = normalize.keep_text(content)
    if not text:
        raise UsageError(N_("--content is empty"))
    on = normalize.parse_date(date, today) if date is not None else today
    if on > today:
        raise UsageError(N_("--date {date} is in the future; plan it with --next-date instead"), date=on.isoformat())
    nd = normalize.parse_date(next_date, today) if next_date is not None else None
    if nd is not None and nd < on:
        raise UsageError(N_("--next-date {next} is before the follow-up date {date}"), next=nd, date=on)
    m = vocab.parse("method", method) if method else None
    fb = vocab.parse("feedback", feedback) if feedback else None
    to = vocab.parse("stage", stage) if stage else None
    if to == "lost":
        raise UsageError(N_("to mark a customer lost use: crm stage REF lost --reason TEXT"))
    who = normalize.clean_text(by) or st.settings.user
    with st.write() as conn:
        cust = cq.resolve(Reader.over(conn), ref)
        new_id = followups.add_follow_up(
            conn, cust, content=text, on=on, method=m, feedback=fb, by=who,
            next_date=nd, next_plan=normalize.keep_text(next_plan),
        )  # fmt: skip
        moved = None
        if to is not None:
            moved = pipeline.change_stage(conn, cust, to, on=on, by=who)
    msg = _("Follow-up #{id} recorded for {code}  {name} on {date}").format(id=new_id, code=cust["code"], name=cust["name"], date=on.isoformat())
    if moved:
        lang = st.settings.lang
        msg += _("; stage {old} → {new}").format(old=value_word("stage", moved["from"], lang), new=value_word("stage", moved["to"], lang))
    typer.echo(msg)


def _correct(st: Any, action: str, number: int, **given: str | None) -> None:
    """``follow edit ID`` / ``follow delete ID``: the customer's last/next follow-up follow."""
    from crmcli.services import followups

    if given.pop("stage") is not None:
        raise UsageError(N_("--stage goes with a new follow-up, not with follow edit/delete"))
    if action == "delete":
        if any(v is not None for v in given.values()):
            raise UsageError(N_("follow delete ID takes no options"))
        with st.write() as conn:
            gone = followups.delete_follow_up(conn, number)
        typer.echo(_("Deleted follow-up #{id} of {code}  {name} (undo: crm undo)").format(id=number, code=gone["code"], name=gone["name"]))
        return
    if all(v is None for v in given.values()):
        raise UsageError(N_("follow edit ID: say what to change (--content, --date, --method, ...)"))
    with st.write() as conn:
        done = followups.edit_follow_up(conn, number, given, today=st.today, user=st.settings.user)
    from crmcli import fields

    what = field_words(done["changed"], fields.FOLLOW_UP, st.settings.lang) or _("nothing to change")
    typer.echo(_("Follow-up #{id} of {code}  {name}: {what}").format(id=number, code=done["code"], name=done["name"], what=what))


@app.command()
def stage(
    ctx: typer.Context,
    ref: Ref,
    to: Annotated[str, typer.Argument(metavar="STAGE", help="potential|intent|negotiating|won|lost (or 意向, 成交, ...).", autocompletion=complete.stages)],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required for lost: 流失原因; on a lost customer: corrects it).", show_default=False, metavar="TEXT")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="With won: the deal amount (成交金额).", show_default=False, metavar="AMOUNT")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When (default today).", show_default=False, metavar="DATE")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Record a deal that looks repeated or far too large without asking.")] = False,
) -> None:
    """Move a customer to another stage; won --amount records a deal; lost --reason on a lost customer corrects the reason.

    A deal of the same amount on the same customer and day within 10 minutes, or more than 100×
    the largest so far, is asked about on a terminal and needs --yes from a script.

    Examples: crm stage ABC won --amount 5万;  crm stage ABC lost --reason 预算取消
    """
    from crmcli import normalize, vocab
    from crmcli.errors import NeedsConfirmation
    from crmcli.render import amount as amount_text
    from crmcli.services import customer_query as cq
    from crmcli.services import pipeline
    from crmcli.store.reader import Reader

    st = state(ctx)
    key = vocab.parse("stage", to)
    if key != "lost":
        goes_with(ctx, ["reason"], _("stage lost (the lost reason)"))
    if key != "won":
        goes_with(ctx, ["amount"], _("stage won (the deal amount)"))
    amt = normalize.parse_money(amount) if amount is not None else None
    on = normalize.parse_date(date, st.today) if date is not None else st.today
    confirmed = yes
    while True:
        try:
            with st.write() as conn:
                cust = cq.resolve(Reader.over(conn), ref)
                moved = pipeline.change_stage(
                    conn, cust, key, on=on, by=st.settings.user, reason=normalize.keep_text(reason) if reason else None,
                    amount=amt, today=st.today, confirmed=confirmed,
                )  # fmt: skip
            break
        except NeedsConfirmation as exc:
            if confirmed or not interactive():
                raise NeedsConfirmation(N_("{why}; nothing was written (add --yes to record it)"), why=exc) from None
            if not typer.confirm(_("{why}. Record it?").format(why=exc), default=False):
                raise typer.Exit(1) from None
            confirmed = True
    parts = [f"{cust['code']}  {cust['name']}"]
    if moved.get("reason_corrected"):
        parts.append(_("lost reason corrected to {reason}").format(reason=moved["reason"]))
    elif moved["from"] != moved["to"]:
        lang = st.settings.lang
        parts.append(_("stage {old} → {new}").format(old=value_word("stage", moved["from"], lang), new=value_word("stage", moved["to"], lang)))
    if moved["deal"] is not None:
        parts.append(_("deal {amount} on {date}").format(amount=amount_text(moved["deal"]), date=on.isoformat()))
    typer.echo(": ".join(parts[:1]) + ": " + "; ".join(parts[1:]))
