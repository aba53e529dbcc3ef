"""Customer commands that write: add, edit, archive, unarchive (list and show: ``customer_views``)."""

from typing import Annotated, Any

import typer

from crmcli import fields
from crmcli.cli import complete
from crmcli.cli._common import (
    field_words,
    interactive,
    state,
    stdout_is_terminal,
)
from crmcli.cli.app import app
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

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
Set = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="A custom field's value, KEY=VALUE (repeatable). See crm field.",
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
        typer.echo(_("Updated {code}: {fields}").format(code=cust["code"], fields=field_words(changed, fields.CUSTOMER, st.settings.lang)))
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
