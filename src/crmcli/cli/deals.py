"""``crm deal add|list|show|edit|stage|delete`` and ``crm product add|list``: opportunities (销售机会)
and products (spec §13)."""

from typing import Annotated, Any

import typer

from crmcli.cli import complete
from crmcli.cli._common import COUNT, field_words, interactive, not_blank, state, stdout_is_terminal, value_word
from crmcli.cli.app import app
from crmcli.errors import ParseError, UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

deal_app = typer.Typer(
    name="deal",
    help="Opportunities (销售机会): add, list, show, edit, stage, delete.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(deal_app, name="deal")
product_app = typer.Typer(name="product", help="Products (产品): add, list.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(product_app, name="product")

Code = Annotated[str, typer.Argument(metavar="CODE", help="The opportunity's code (O202611001; crm deal list shows them).", autocompletion=complete.deals)]
Name = Annotated[str | None, typer.Option("--name", help="What the opportunity is (机会名称).", show_default=False, metavar="TEXT")]
AmountO = Annotated[str | None, typer.Option("--amount", help="Amount (预估金额): 50000, 5万; default the sum of priced --product lines.", show_default=False, metavar="AMOUNT")]
Probability = Annotated[str | None, typer.Option("--probability", help="Chance of winning in percent, 0-100 (default: the stage's).", show_default=False, metavar="P")]
Expected = Annotated[str | None, typer.Option("--expected-close", help="Expected close date (预计成交日期).", show_default=False, metavar="DATE")]
OwnerO = Annotated[str | None, typer.Option("--owner", help="Salesperson in charge (default: the customer's owner).", show_default=False, metavar="OWNER")]
Products = Annotated[
    list[str] | None,
    typer.Option("--product", help="A line: product name, quantity, unit price (repeatable), e.g. 'GTX Pro:2:5000'.", show_default=False, metavar="NAME[:QTY[:PRICE]]"),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Record a won amount that looks repeated or far too large without asking.")]
Fmt = Annotated[str, typer.Option("--format", "-f", help="table|json|csv|tsv.", metavar="FORMAT")]


def _parsed(what: str, parse: Any, value: Any) -> Any:
    """``parse(value)``; a ParseError names the option (one line, exit 1)."""
    try:
        return parse(value)
    except ParseError as exc:
        if str(exc).startswith(what):
            raise
        raise ParseError(N_("{what}: {reason}"), what=what, reason=exc) from None


def _values(st: Any, *, stage: str | None = None, amount: str | None = None, probability: str | None = None,
            expected_close: str | None = None, date: str | None = None, products: list[str] | None = None,
            stage_is: str = "--stage") -> dict[str, Any]:  # fmt: skip
    """The options' values, checked before anything is written."""
    from crmcli import normalize, vocab
    from crmcli.services import opportunities as ops

    out: dict[str, Any] = {}
    if stage is not None:
        out["stage"] = _parsed(stage_is, lambda v: vocab.parse("deal_stage", v), stage)
    if amount is not None:
        out["amount"] = _parsed("--amount", ops.parse_amount, amount)
    if probability is not None:
        out["probability"] = _parsed("--probability", lambda v: ops.parse_probability(v, what="--probability"), probability)
    if expected_close is not None:
        out["expected_close"] = _parsed("--expected-close", lambda v: normalize.parse_date(v, st.today), expected_close)
    if date is not None:
        out["on"] = _parsed("--date", lambda v: normalize.parse_date(v, st.today), date)
    if products is not None:
        out["lines"] = [ops.parse_line(p, what="--product") for p in products]
    return out


def _confirming(run: Any, yes: bool) -> Any:
    """Run a write that may need a confirmation (a repeated or outsized won amount, spec §18)."""
    from crmcli.errors import NeedsConfirmation

    confirmed = yes
    while True:
        try:
            return run(confirmed)
        except NeedsConfirmation as exc:
            if confirmed or not interactive():
                raise NeedsConfirmation(N_("{exc}; nothing was written (add --yes to record it)"), exc=exc) from None
            if not typer.confirm(_("{exc}. Record it?").format(exc=exc), default=False):
                raise typer.Exit(1) from None
            confirmed = True


def _moved(moved: dict[str, str] | None, lang: str) -> str:
    if not moved:
        return ""
    return _("; customer stage {before} → {after}").format(before=value_word("stage", moved["from"], lang), after=value_word("stage", moved["to"], lang))


@deal_app.command("add")
def add(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="The customer: code, name, phone or part of the name.", autocompletion=complete.customers)],
    name: Name = None,
    amount: AmountO = None,
    stage: Annotated[str, typer.Option("--stage", help="potential|intent|negotiating|won|lost (or Prospecting, Proposal, 谈判, ...).", metavar="STAGE", autocompletion=complete.stages)] = "potential",
    probability: Probability = None,
    expected_close: Expected = None,
    owner: OwnerO = None,
    product: Products = None,
    date: Annotated[str | None, typer.Option("--date", help="When it opened (default today); closed on it when won or lost.", show_default=False, metavar="DATE")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="With --stage lost: why it was lost.", show_default=False, metavar="TEXT")] = None,
    yes: Yes = False,
) -> None:
    """Add an opportunity to a customer (prints its code, O+YYYYMM+serial); the customer's stage follows.

    Examples: crm deal add ABC --name 2026年设备采购 --amount 50万 --stage 谈判 --expected-close 2026-12-31;
    crm deal add ABC --name 续费 --product 'GTX Pro:2:5000' --stage won
    """
    from crmcli.render import amount as amount_text
    from crmcli.services import customer_query as cq
    from crmcli.services import opportunities as ops
    from crmcli.store.reader import Reader

    st = state(ctx)
    if name is None:
        raise UsageError(N_("missing --name (机会名称)"))
    v = _values(st, stage=stage, amount=amount, probability=probability, expected_close=expected_close, date=date, products=product)
    if reason is not None and v["stage"] != "lost":
        raise UsageError(N_("--reason goes with --stage lost"))

    def run(confirmed: bool) -> Any:
        with st.write() as conn:
            cust = cq.resolve(Reader.over(conn), ref)
            return cust, ops.add(
                conn, cust, name=name, stage=v["stage"], amount=v.get("amount"), probability=v.get("probability"),
                expected_close=v.get("expected_close"), owner=owner, lines=v.get("lines", []), on=v.get("on", st.today),
                by=st.settings.user, today=st.today, defaults=st.settings.probability, reason=reason, confirmed=confirmed,
            )  # fmt: skip

    cust, done = _confirming(run, yes)
    if stdout_is_terminal():
        typer.echo(_("Added {code} for {code2}  {name}: {amount}{moved}").format(code=done['code'], code2=cust['code'], name=cust['name'], amount=amount_text(done['amount']), moved=_moved(done['moved'], st.settings.lang)))
    else:
        typer.echo(done["code"])


@deal_app.command("list")
def list_(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's (code, name, phone...).", show_default=False, metavar="REF", callback=not_blank, autocompletion=complete.customers)] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Only this stage (repeatable).", show_default=False, metavar="STAGE", callback=not_blank, autocompletion=complete.stages)] = None,
    owner: Annotated[list[str] | None, typer.Option("--owner", help="Only this owner's (repeatable).", show_default=False, metavar="OWNER", callback=not_blank)] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only open ones (potential, intent, negotiating).")] = False,
    won: Annotated[bool, typer.Option("--won", help="Only won ones.")] = False,
    lost: Annotated[bool, typer.Option("--lost", help="Only lost ones.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Closed (or, while open, opened) on or after DATE.", show_default=False, metavar="DATE", callback=not_blank)] = None,
    until: Annotated[str | None, typer.Option("--until", help="... on or before DATE.", show_default=False, metavar="DATE", callback=not_blank)] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N.", parser=COUNT, show_default=False, metavar="N")] = None,
    fmt: Fmt = "table",
) -> None:
    """List opportunities, oldest first; --open, --won or --lost for one kind.

    Examples: crm deal list --open --owner 张伟;  crm deal list --won --since 2026-01-01 --format csv
    """
    from crmcli import fields, render
    from crmcli.services import customer_query as cq
    from crmcli.services import deal_query as dq

    st = state(ctx)
    fmt = render.check_format(fmt)
    states = [s for s, on in (("open", open_), ("won", won), ("lost", lost)) if on]
    if len(states) > 1:
        raise UsageError(N_("--open, --won and --lost exclude each other; give one"))
    f = dq.build_filters(stage=stage or (), owner=owner or (), state=states[0] if states else None, since=since, until=until, today=st.today)
    with st.store.read() as reader:
        if customer is not None:
            f.customer_id = cq.resolve(reader, customer)["id"]
        if fmt == "json":  # the database writes the JSON objects
            render.write_json_array(row[0] for row in reader.stream(*dq.select(reader.dialect, f, json=True, limit=limit)))
            return
        rows = dq.records(reader, *dq.select(reader.dialect, f, limit=limit))
        if fmt == "table":
            peeked = render.peek(rows)
            if peeked is None:  # an empty table says why
                filtered = any((customer, stage, owner, states, since, until))
                typer.echo(_("no opportunities match these filters") if filtered else _("no opportunities yet (crm deal add records one)"))
                return
            rows = peeked
        render.print_records(rows, fmt=fmt, lang=st.settings.lang, table_keys=dq.TABLE_KEYS, all_keys=dq.KEYS, of=fields.OPPORTUNITY)


@deal_app.command("show")
def show(
    ctx: typer.Context,
    code: Code,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
) -> None:
    """Show an opportunity: customer, stage, amount, probability, dates, owner and its lines."""
    from crmcli import fields, render
    from crmcli.services import deal_query as dq

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    with st.store.read() as reader:
        rec = dq.card(reader, code, probability=st.settings.probability)
    if fmt == "json":
        render.print_json(rec)
        return
    lang = st.settings.lang
    extra = {"weighted": _("Weighted"), "by": _("Recorded by")}
    pairs = [
        (fields.OPPORTUNITY_BY_KEY[k].label(lang), render.display(k, rec[k], lang, fields.OPPORTUNITY_BY_KEY[k]))
        for k in dq.KEYS if k != "products" and rec.get(k) not in (None, "")
    ]  # fmt: skip
    pairs += [(label, render.display(k, rec[k], lang)) for k, label in extra.items() if rec.get(k) not in (None, "")]
    render.print_pairs(pairs)
    if rec["lines"]:
        typer.echo("")
        render.print_table(rec["lines"], [f.key for f in fields.DEAL_LINE], lang, of=fields.DEAL_LINE)


@deal_app.command("edit")
def edit(
    ctx: typer.Context,
    code: Code,
    name: Name = None,
    amount: AmountO = None,
    probability: Probability = None,
    expected_close: Expected = None,
    owner: OwnerO = None,
    product: Annotated[list[str] | None, typer.Option("--product", help="Replace the lines: NAME[:QTY[:PRICE]] (repeatable).", show_default=False, metavar="NAME[:QTY[:PRICE]]")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When it opened.", show_default=False, metavar="DATE")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="A lost opportunity's reason.", show_default=False, metavar="TEXT")] = None,
) -> None:
    """Change an opportunity's fields (its stage: crm deal stage).

    Example: crm deal edit O202611001 --amount 45万 --expected-close 2027-01-15
    """
    from crmcli import fields
    from crmcli.services import opportunities as ops

    st = state(ctx)
    v = _values(st, amount=amount, probability=probability, expected_close=expected_close, date=date, products=product)
    if name is None and owner is None and reason is None and not v:
        raise UsageError(N_("deal edit CODE: say what to change (--name, --amount, --probability, ...)"))
    with st.write() as conn:
        done = ops.edit(conn, code, name=name, owner=owner, reason=reason, today=st.today, **v)
    what = field_words(done["changed"], fields.OPPORTUNITY, st.settings.lang) or _("nothing to change")
    typer.echo(f"{done['code']} ({done['customer_code']}  {done['customer_name']}): {what}")


@deal_app.command("stage")
def stage(
    ctx: typer.Context,
    code: Code,
    to: Annotated[str, typer.Argument(metavar="STAGE", help="potential|intent|negotiating|won|lost (or Proposal, Closed Won, 成交, ...).")],
    amount: Annotated[str | None, typer.Option("--amount", help="The amount (with won: what it was won for).", show_default=False, metavar="AMOUNT")] = None,
    date: Annotated[str | None, typer.Option("--date", help="When (default today).", show_default=False, metavar="DATE")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="With lost: why.", show_default=False, metavar="TEXT")] = None,
    yes: Yes = False,
) -> None:
    """Move an opportunity to a stage; won or lost closes it, and the customer's stage follows.

    Examples: crm deal stage O202611001 won --amount 48万;  crm deal stage O202611002 lost --reason 价格太高
    """
    from crmcli.render import amount as amount_text
    from crmcli.services import opportunities as ops

    st = state(ctx)
    v = _values(st, stage=to, amount=amount, date=date, stage_is="STAGE")
    on = v.get("on", st.today)

    def run(confirmed: bool) -> Any:
        with st.write() as conn:
            return ops.move(conn, code, v["stage"], on=on, by=st.settings.user, today=st.today, defaults=st.settings.probability,
                            amount=v.get("amount"), reason=reason, confirmed=confirmed)  # fmt: skip

    done = _confirming(run, yes)
    won = _(" for {amount}").format(amount=amount_text(done["amount"])) if done["to"] == "won" else ""
    typer.echo(_("{code} ({customer_code}  {customer_name}): {before} → {after}{won} on {date}{moved}").format(
        code=done["code"], customer_code=done["customer_code"], customer_name=done["customer_name"], before=value_word("deal_stage", done["from"], st.settings.lang),
        after=value_word("deal_stage", done["to"], st.settings.lang), won=won, date=on.isoformat(), moved=_moved(done["moved"], st.settings.lang)))


@deal_app.command("delete")
def delete(ctx: typer.Context, code: Code) -> None:
    """Delete an opportunity; the customer's stage and purchase history are put back (undo: crm undo)."""
    from crmcli.services import opportunities as ops

    st = state(ctx)
    with st.write() as conn:
        done = ops.delete(conn, code, by=st.settings.user, today=st.today)
    back = _("; customer stage back to {restored_stage}").format(restored_stage=done['restored_stage']) if done["restored_stage"] else ""
    typer.echo(_("Deleted {code} of {customer_code}  {customer_name}{back}{moved} (undo: crm undo)").format(code=done['code'], customer_code=done['customer_code'], customer_name=done['customer_name'], back=back, moved=_moved(done['moved'], st.settings.lang)))


@product_app.command("add")
def product_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The product's name (产品名称).")],
    price: Annotated[str | None, typer.Option("--price", help="List price: a line's default unit price.", show_default=False, metavar="AMOUNT")] = None,
    code: Annotated[str | None, typer.Option("--code", help="A code of your own for it.", show_default=False, metavar="CODE")] = None,
) -> None:
    """Add a product; names compare without case, width or spaces (GTX Pro = GTXPro).

    Example: crm product add 'GTX Pro' --price 5000 --code P001
    """
    from crmcli.render import amount as amount_text
    from crmcli.services import opportunities as ops
    from crmcli.services import products

    st = state(ctx)
    value = _parsed("--price", ops.parse_amount, price) if price is not None else None
    with st.write() as conn:
        row = products.add(conn, name, price=value, code=code)
    shown = f" ({row['code']})" if row["code"] else ""
    typer.echo(_("Added product {name}{shown}").format(name=row['name'], shown=shown) + (_(", price {value}").format(value=amount_text(value)) if value is not None else ""))


@product_app.command("list")
def product_list(ctx: typer.Context, fmt: Fmt = "table") -> None:
    """List the products: code, name, price, and how many opportunities name each."""
    from crmcli import fields, render
    from crmcli.services import products

    st = state(ctx)
    fmt = render.check_format(fmt)
    with st.store.read() as reader:
        rows = products.listing(reader)
    keys = ("code", "name", "price", "opportunities")
    labels = {"opportunities": _("Opportunities")}
    render.print_records(rows, fmt=fmt, lang=st.settings.lang, table_keys=keys, all_keys=keys, of=fields.PRODUCT, labels=labels)
