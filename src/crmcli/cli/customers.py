"""Customer commands: add, edit, archive, unarchive, list, show."""

from typing import Annotated, Any

import typer

from crmcli import fields
from crmcli.cli import complete
from crmcli.cli._common import (
    COUNT,
    DAYS,
    ArchivedF,
    IndustryF,
    LevelF,
    MaskF,
    MineF,
    OwnerF,
    SearchF,
    SinceF,
    SourceF,
    StageF,
    TagF,
    UntilF,
    filters_from,
    goes_with,
    interactive,
    state,
    stdout_is_terminal,
    warn_of_the_sweep,
)
from crmcli.cli.app import app
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

LIST_TABLE_KEYS = ("code", "name", "contact", "phone", "level", "stage", "owner", "last_follow_at", "next_follow_at")
DUE_TABLE_KEYS = (
    "code", "name", "contact", "phone", "level", "stage", "owner",
    "next_follow_at", "overdue_days", "last_follow_at", "last_method", "next_plan",
)  # fmt: skip

# Options of add and edit, as annotated types.
Phone = Annotated[
    str | None,
    typer.Option(
        "--phone",
        help="Phone number (required unless --no-phone: on a terminal you are asked).",
        show_default=False,
        metavar="PHONE",
    ),
]
Contact = Annotated[
    str | None, typer.Option("--contact", help="Contact person (联系人).", show_default=False, metavar="NAME")
]
Title = Annotated[
    str | None, typer.Option("--title", help="Contact's job title (联系人职位).", show_default=False, metavar="TITLE")
]
Email = Annotated[str | None, typer.Option("--email", help="E-mail address.", show_default=False, metavar="EMAIL")]
Industry = Annotated[
    str | None,
    typer.Option(
        "--industry",
        help="Industry (所属行业).",
        show_default=False,
        metavar="INDUSTRY",
        autocompletion=complete.industries,
    ),
]
Source = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="Source (客户来源), e.g. 展会推广.",
        show_default=False,
        metavar="SOURCE",
        autocompletion=complete.sources,
    ),
]
Level = Annotated[
    str | None,
    typer.Option(
        "--level",
        help="key|normal|potential (重点/普通/潜力).",
        show_default=False,
        metavar="LEVEL",
        autocompletion=complete.levels,
    ),
]
Stage = Annotated[
    str | None,
    typer.Option(
        "--stage",
        help="potential|intent|negotiating|won|lost.",
        show_default=False,
        metavar="STAGE",
        autocompletion=complete.stages,
    ),
]
Owner = Annotated[
    str | None,
    typer.Option(
        "--owner",
        help="Salesperson in charge (default: acting user).",
        show_default=False,
        metavar="OWNER",
        autocompletion=complete.owners,
    ),
]
Need = Annotated[str | None, typer.Option("--need", help="Core need (核心需求).", show_default=False, metavar="TEXT")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="Tag (repeatable).", show_default=False, metavar="TAG")]
Note = Annotated[str | None, typer.Option("--note", help="Notes (备注).", show_default=False, metavar="TEXT")]
Code = Annotated[
    str | None,
    typer.Option("--code", help="Customer code; default C+YYYYMM+serial.", show_default=False, metavar="CODE"),
]
Amount = Annotated[
    str | None,
    typer.Option(
        "--amount",
        help="Expected deal amount (预计成交金额): 50000, 5万, ¥1,200.",
        show_default=False,
        metavar="AMOUNT",
    ),
]
Close = Annotated[
    str | None, typer.Option("--expected-close", help="Expected close date.", show_default=False, metavar="DATE")
]
Fmt = Annotated[
    str, typer.Option("--format", "-f", help="table|json|csv|tsv.", metavar="FORMAT", autocompletion=complete.formats)
]
Set = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="A custom field's value, KEY=VALUE (repeatable). See crm field.",
        show_default=False,
        metavar="KEY=VALUE",
    ),
]
Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Only customers whose custom field KEY has VALUE (repeatable; KEY= : no value).",
        show_default=False,
        metavar="KEY=VALUE",
    ),
]


def _raw(**kw: Any) -> dict[str, Any]:
    return kw


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Customer name (客户名称).", show_default=False)
    ] = None,
    phone: Phone = None,
    contact: Contact = None,
    title: Title = None,
    email: Email = None,
    industry: Industry = None,
    source: Source = None,
    level: Level = None,
    stage: Stage = None,
    owner: Owner = None,
    need: Need = None,
    tag: Tags = None,
    note: Note = None,
    code: Code = None,
    amount: Amount = None,
    expected_close: Close = None,
    set_: Set = None,
    no_phone: Annotated[
        bool, typer.Option("--no-phone", help="A customer without a phone: its name alone identifies it.")
    ] = False,
) -> None:
    """Add a customer (prints its code).

    Name and phone are required (or --no-phone); on a terminal you are asked for what is missing.

    Example: crm add "ABC科技有限公司" --phone 13812345678 --contact 张伟 --level key
    """
    from crmcli.services import custom_fields

    st = state(ctx)
    if no_phone and phone is not None:
        raise UsageError(N_("--no-phone and --phone: give one of them"))
    if name is None or (phone is None and not no_phone):
        if not interactive():
            raise UsageError(N_("missing {what}"), what="NAME" if name is None else "--phone (or --no-phone)")
        name = name or typer.prompt(_("Name"))
        if not no_phone:
            phone = phone or typer.prompt(_("Phone"))
    from crmcli.services import customers

    raw = _raw(
        name=name, phone=phone, contact=contact, title=title, email=email, industry=industry,
        source=source, level=level, stage=stage, owner=owner, need=need, tags=tag, notes=note,
        code=code, amount=amount, expected_close=expected_close,
    )  # fmt: skip
    values = customers.build_fields(raw, today=st.today)
    with st.write() as conn:
        custom = _custom_values(conn, set_, st.today)
        row = customers.add(conn, values, user=st.settings.user, today=st.today, no_phone=no_phone)
        if custom:
            custom_fields.set_values(conn, row["id"], custom)
    if stdout_is_terminal():
        typer.echo(_("Added {code}  {name}").format(code=row["code"], name=row["name"]))
    else:
        typer.echo(row["code"])
    _duplicate_note(st, row)


def _duplicate_note(st: Any, row: dict[str, Any]) -> None:
    """A note on stderr when the new customer is probably one that exists (spec §14): never a refusal."""
    from crmcli.services import dupes

    with st.store.read() as reader:
        like = dupes.like(reader, row["id"])
    lang = st.settings.lang
    for other in like[:3]:
        why = ", ".join(dupes.reason_text(r, lang) for r in other["reasons"])
        text = _("note: {new} looks like {code} {name} ({why}); if it is, crm merge {code} {new}")
        typer.echo(text.format(new=row["code"], code=other["code"], name=other["name"], why=why), err=True)


@app.command()
def edit(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(metavar="REF", help="Code, name, phone or part of the name.", autocompletion=complete.customers),
    ],
    name: Annotated[str | None, typer.Option("--name", help="New name.", show_default=False, metavar="NAME")] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="New phone number.", show_default=False, metavar="PHONE")
    ] = None,
    contact: Contact = None,
    title: Title = None,
    email: Email = None,
    industry: Industry = None,
    source: Source = None,
    level: Level = None,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            help="Move to this stage, recorded as a stage change (lost: use crm stage REF lost --reason).",
            show_default=False,
            metavar="STAGE",
            autocompletion=complete.stages,
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="Hand the customer to another salesperson.",
            show_default=False,
            metavar="OWNER",
            autocompletion=complete.owners,
        ),
    ] = None,
    need: Need = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            help="Replace all tags with these (repeatable; --add-tag/--remove-tag change one).",
            show_default=False,
            metavar="TAG",
        ),
    ] = None,
    note: Note = None,
    code: Annotated[
        str | None,
        typer.Option("--code", help="Change the customer code (it must be free).", show_default=False, metavar="CODE"),
    ] = None,
    amount: Amount = None,
    expected_close: Close = None,
    add_tag: Annotated[
        list[str] | None, typer.Option("--add-tag", help="Add a tag (repeatable).", show_default=False, metavar="TAG")
    ] = None,
    remove_tag: Annotated[
        list[str] | None,
        typer.Option("--remove-tag", help="Remove a tag (repeatable).", show_default=False, metavar="TAG"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Set a custom field, KEY=VALUE (repeatable; KEY= clears it). See crm field.",
            show_default=False,
            metavar="KEY=VALUE",
        ),
    ] = None,
) -> None:
    """Change a customer's fields.

    Example: crm edit C202405001 --level key --add-tag 高预算
    """
    from crmcli.services import custom_fields
    from crmcli.services import customer_query as cq
    from crmcli.store.reader import Reader

    st = state(ctx)
    from crmcli.services import customers

    if stage is not None:
        from crmcli import vocab

        if vocab.parse("stage", stage) == "lost":
            raise UsageError(N_("to mark a customer lost use: crm stage REF lost --reason TEXT"))
    raw = _raw(
        name=name, phone=phone, contact=contact, title=title, email=email, industry=industry,
        source=source, level=level, stage=stage, owner=owner, need=need, tags=tag, notes=note,
        code=code, amount=amount, expected_close=expected_close,
    )  # fmt: skip
    values = customers.build_fields(raw, today=st.today)
    with st.write() as conn:
        custom = _custom_values(conn, set_, st.today)
        cust = cq.resolve(Reader.over(conn), ref)
        changed = customers.edit(
            conn,
            cust,
            values,
            add_tags=add_tag or (),
            remove_tags=remove_tag or (),
            user=st.settings.user,
            today=st.today,
        )
        changed += custom_fields.set_values(conn, cust["id"], custom)
    if changed:
        typer.echo(_("Updated {code}: {fields}").format(code=cust["code"], fields=", ".join(changed)))
    else:
        typer.echo(_("{code}: nothing to change").format(code=cust["code"]))


@app.command()
def archive(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(metavar="REF", help="Code, name, phone or part of the name.", autocompletion=complete.customers),
    ],
) -> None:
    """Hide a customer from lists and reports (nothing is deleted)."""
    _archive(ctx, ref, True)


@app.command()
def unarchive(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(metavar="REF", help="Code, name, phone or part of the name.", autocompletion=complete.customers),
    ],
) -> None:
    """Bring an archived customer back into lists and reports."""
    _archive(ctx, ref, False)


@app.command(name="list")
def list_(
    ctx: typer.Context,
    stage: StageF = None,
    level: LevelF = None,
    source: SourceF = None,
    industry: IndustryF = None,
    owner: OwnerF = None,
    mine: MineF = False,
    tag: TagF = None,
    search: SearchF = None,
    since: SinceF = None,
    until: UntilF = None,
    archived: ArchivedF = False,
    where: Where = None,
    due: Annotated[
        bool, typer.Option("--due", help="Customers due for a follow-up today, most overdue first.")
    ] = False,
    within: Annotated[
        int,
        typer.Option(
            "--within", help="With --due: due within N days from today (0 to 36500).", parser=DAYS, metavar="DAYS"
        ),
    ] = 0,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            help="code|name|created|stage|level|owner|last_follow|next_follow|amount; '-' prefix = descending.",
            show_default=False,
            metavar="FIELD",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most N customers.", parser=COUNT, show_default=False, metavar="N")
    ] = None,
    fmt: Fmt = "table",
    mask: MaskF = False,
) -> None:
    """List customers, or with --due the ones to follow up today.

    With --due the other filters narrow the due list (e.g. --due --level key).

    Examples: crm list --stage intent --sort -created --limit 20;
    crm list --due --mine --format csv
    """
    from crmcli import render
    from crmcli.services import custom_fields
    from crmcli.services import customer_query as cq

    st = state(ctx)
    fmt = render.check_format(fmt)
    if not due:
        goes_with(ctx, ["within"], _("--due (due within DAYS from today)"))
    if due and archived:
        raise UsageError(N_("--due never lists archived customers; drop --archived"))
    if due and sort:
        raise UsageError(N_("--due lists the most overdue first; --sort goes with a plain list"))
    filters = filters_from(
        st, stage=stage, level=level, source=source, industry=industry, owner=owner, mine=mine,
        tag=tag, search=search, since=since, until=until, archived=archived,
    )  # fmt: skip
    with st.store.read() as reader:
        custom = custom_fields.definitions(reader)
        filters.where = custom_fields.parse_assignments(custom, where or (), st.today, option="--where")
        plan = cq.Due(st.today, within) if due else None
        keys = fields.due_keys() if due else fields.customer_keys(where="json")
        if due:
            warn_of_the_sweep(reader, st.today)
        if fmt == "json" and not mask:  # the database writes the JSON objects
            sql, params = cq.select(reader.dialect, cadence=st.settings.cadence, filters=filters, due=plan,
                                    sort=sort, limit=limit, custom=custom, json=True)  # fmt: skip
            objects = render.peek(row[0] for row in reader.stream(sql, params))
            if objects is not None or not due:  # cron: nothing due, nothing printed at all
                render.write_json_array(objects or ())
            return
        table = DUE_TABLE_KEYS if due else LIST_TABLE_KEYS

        def why_empty() -> str:
            filtered = any((stage, level, source, industry, owner, mine, tag, search, since, until, where))
            return _("no customers match these filters") if filtered else _("no customers yet (crm add or crm import adds them)")

        if not mask:  # rows of values, not a dict each: a table fetches only the columns it shows
            shown = table if fmt == "table" else None
            sql, params = cq.select(reader.dialect, cadence=st.settings.cadence, filters=filters, due=plan,
                                    sort=sort, limit=limit, custom=() if shown else custom, keys=shown)  # fmt: skip
            names, values = cq.value_rows(reader, sql, params)
            if due or shown:
                peeked = render.peek(values)
                if peeked is None:
                    if not due:  # cron: nothing due, nothing printed at all; an empty table says why
                        typer.echo(why_empty())
                    return
                values = peeked
            if shown:
                render.print_table_values(values, shown, st.settings.lang)
            else:
                render.write_delimited_values(values, names, fmt, cq.mixed_columns(names))
            return
        sql, params = cq.select(reader.dialect, cadence=st.settings.cadence, filters=filters, due=plan,
                                sort=sort, limit=limit, custom=custom)  # fmt: skip
        rows = cq.records(reader, sql, params)
        if mask:
            from crmcli.masking import mask_record

            rows = (mask_record(r) for r in rows)
        if due or fmt == "table":
            peeked = render.peek(rows)
            if peeked is None and due:
                return  # cron: nothing due, nothing printed at all
            if peeked is None:  # an empty table says why
                typer.echo(why_empty())
                return
            rows = peeked
        if fmt in ("csv", "tsv"):  # one column per custom field, after the customer's own
            keys = [k for k in keys if k != "fields"] + [f.key for f in custom]
            if custom:
                rows = ({**r, **r.pop("fields", {})} for r in rows)
        render.print_records(rows, fmt=fmt, lang=st.settings.lang, table_keys=table, all_keys=keys)


@app.command()
def show(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(metavar="REF", help="Code, name, phone or part of the name.", autocompletion=complete.customers),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
    mask: MaskF = False,
) -> None:
    """Show a customer card and its timeline of follow-ups, stage changes and deals.

    Example: crm show ABC --format json
    """
    from crmcli import render
    from crmcli.services import custom_fields
    from crmcli.services import customer_query as cq

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    with st.store.read() as reader:
        cust = cq.resolve(reader, ref)
        custom = custom_fields.definitions(reader)
        rec = cq.card(reader, cust["id"], cadence=st.settings.cadence, custom=custom)
    if mask:
        from crmcli.masking import mask_record

        mask_record(rec)
    if fmt == "json":
        render.print_json(rec)
    else:
        from crmcli import render_more

        render_more.print_card(rec, st.settings.lang, custom)


def _custom_values(conn: Any, specs: list[str] | None, today: Any) -> dict[str, str | None]:
    """The validated ``--set`` values (inside the write transaction: the definitions it sees)."""
    if not specs:
        return {}
    from crmcli.services import custom_fields
    from crmcli.store.reader import Reader

    return custom_fields.parse_assignments(custom_fields.definitions(Reader.over(conn)), specs, today, option="--set")


def _archive(ctx: typer.Context, ref: str, flag: bool) -> None:
    from crmcli.services import customer_query as cq
    from crmcli.services import customers
    from crmcli.store.reader import Reader

    st = state(ctx)
    with st.write() as conn:
        cust = cq.resolve(Reader.over(conn), ref)
        changed = customers.set_archived(conn, cust, flag)
    if changed:
        text = _("Archived {code}  {name}") if flag else _("Unarchived {code}  {name}")
    else:
        text = _("{code} was already archived") if flag else _("{code} was already active")
    typer.echo(text.format(code=cust["code"], name=cust["name"]))
