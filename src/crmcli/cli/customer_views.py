"""Customer commands that read: list (and the due list) and show."""

from collections.abc import Iterator
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
    state,
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

Fmt = Annotated[
    str, typer.Option("--format", "-f", help="table|json|csv|tsv.", metavar="FORMAT", autocompletion=complete.formats)
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
            return (
                _("no customers match these filters")
                if filtered
                else _("no customers yet (crm add or crm import adds them)")
            )

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
        rows: Iterator[Any] = cq.records(reader, sql, params)
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
            keys = (*[k for k in keys if k != "fields"], *[f.key for f in custom])
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
