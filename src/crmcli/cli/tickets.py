"""``crm ticket add|update|list``: service tickets (客户服务, spec §15)."""

from typing import Annotated, Any

import typer

from crmcli.cli import complete
from crmcli.cli._common import field_words, not_blank, state, stdout_is_terminal
from crmcli.cli.app import app
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

ticket_app = typer.Typer(
    name="ticket",
    help="Service tickets (客户服务): add, update, list.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ticket_app, name="ticket")

TABLE_KEYS = ("code", "customer", "name", "type", "status", "satisfaction", "handler", "opened_at", "resolved_at", "content")


@ticket_app.command("add")
def add(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="The customer: code, name, phone or part of the name.", autocompletion=complete.customers)],
    type_: Annotated[str, typer.Option("--type", help="Issue type (反馈问题类型), e.g. 产品质量, 物流时效, 售后响应.", metavar="TYPE")],
    content: Annotated[str, typer.Option("--content", help="What the customer reported.", metavar="TEXT")],
    handler: Annotated[str | None, typer.Option("--handler", help="Who handles it (处理负责人).", show_default=False, metavar="NAME")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When it was raised (default today).", show_default=False, metavar="DATE")] = None,
) -> None:
    """Open a service ticket for a customer (prints its code).

    Example: crm ticket add ABC --type 物流时效 --content '到货晚了三天' --handler 客服小李
    """
    from crmcli import normalize
    from crmcli.services import customer_query as cq
    from crmcli.services import tickets
    from crmcli.store.reader import Reader

    st = state(ctx)
    on = normalize.parse_date(date, st.today) if date else st.today
    with st.write() as conn:
        cust = cq.resolve(Reader.over(conn), ref)
        t = tickets.add(conn, cust, type_=type_, content=content, handler=handler, on=on, today=st.today,
                        user=st.settings.user, aliases=st.settings.ticket_aliases)  # fmt: skip
    if stdout_is_terminal():
        typer.echo(_("Ticket {ticket} opened for {code}  {name}: {type}").format(ticket=t["code"], code=cust["code"], name=cust["name"], type=t["type"]))
    else:
        typer.echo(t["code"])


@ticket_app.command("update")
def update(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The ticket code (T+YYYYMM+serial).", autocompletion=complete.tickets)],
    status: Annotated[str | None, typer.Option("--status", help="open|in_progress|resolved (待处理/处理中/已解决).", show_default=False, metavar="STATUS", autocompletion=complete.statuses)] = None,
    satisfaction: Annotated[str | None, typer.Option("--satisfaction", help="Satisfaction score 1-5, on a resolved ticket.", show_default=False, metavar="1-5")] = None,
    note: Annotated[str | None, typer.Option("--note", help="How it was handled (处理备注).", show_default=False, metavar="TEXT")] = None,
    handler: Annotated[str | None, typer.Option("--handler", help="Hand it to someone else.", show_default=False, metavar="NAME")] = None,
) -> None:
    """Change a ticket's status, satisfaction score, note or handler.

    Example: crm ticket update T202611001 --status resolved --satisfaction 4
    """
    from crmcli import fields, vocab
    from crmcli.errors import UsageError
    from crmcli.services import tickets

    if status is None and satisfaction is None and note is None and handler is None:
        raise UsageError(N_("nothing to change: give --status, --satisfaction, --note or --handler"))
    st = state(ctx)
    with st.write() as conn:
        t = tickets.update(conn, code, status=status, satisfaction=satisfaction, note=note, handler=handler, today=st.today)
    if not t["changed"]:
        typer.echo(_("{code}: nothing to change").format(code=t["code"]))
        return
    shown = vocab.label("status", t["status"], st.settings.lang)
    score = _(", satisfaction {score}").format(score=t["satisfaction"]) if t.get("satisfaction") is not None else ""
    typer.echo(_("Ticket {code} ({customer}  {name}): {shown}{score}; changed {changed}").format(code=t['code'], customer=t['customer'], name=t['name'], shown=shown, score=score, changed=field_words(t['changed'], fields.TICKET, st.settings.lang)))


@ticket_app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's tickets (REF).", show_default=False, metavar="REF", callback=not_blank, autocompletion=complete.customers)] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status: open|in_progress|resolved.", show_default=False, metavar="STATUS", callback=not_blank, autocompletion=complete.statuses)] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Only this type (aliases group: 物流延迟 = 物流时效).", show_default=False, metavar="TYPE", callback=not_blank)] = None,
    handler: Annotated[str | None, typer.Option("--handler", help="Only this handler's tickets.", show_default=False, metavar="NAME", callback=not_blank)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json|csv|tsv.", metavar="FORMAT")] = "table",
) -> None:
    """List service tickets, newest first.

    Examples: crm ticket list --status open;  crm ticket list --customer ABC --format json
    """
    from crmcli import render
    from crmcli.services import customer_query as cq
    from crmcli.services import tickets

    st = state(ctx)
    fmt = render.check_format(fmt)
    with st.store.read() as reader:
        cid = cq.resolve(reader, customer)["id"] if customer else None
        rows = tickets.listing(reader, customer_id=cid, status=status, type_=type_, handler=handler, aliases=st.settings.ticket_aliases)
    print_tickets(rows, fmt, st.settings.lang)


def print_tickets(rows: list[dict[str, Any]], fmt: str, lang: str) -> None:
    from crmcli import fields, render, vocab
    from crmcli.services.tickets import COLUMNS

    if fmt == "json":
        render.print_json(rows)
        return
    if fmt in ("csv", "tsv"):
        render.write_delimited(rows, COLUMNS, fmt)
        return
    if not rows:
        return
    head = [fields.TICKET_BY_KEY[k].label(lang) for k in TABLE_KEYS]
    body = [
        [vocab.label("status", r[k], lang) if k == "status" else render.plain(r[k]) for k in TABLE_KEYS] for r in rows
    ]
    from crmcli.fit import Column

    columns = [Column(h, k == "satisfaction", render._wraps(k) or k in ("name", "content"), render.PRIORITY.get(k, 50)) for h, k in zip(head, TABLE_KEYS, strict=True)]
    render.print_grid(columns, body, lang)
