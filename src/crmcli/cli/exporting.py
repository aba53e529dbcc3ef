"""The export command: customers to xlsx / csv / json, or an empty import template."""

from typing import Annotated

import typer

from crmcli.cli._common import (
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
)
from crmcli.cli.app import app
from crmcli.i18n import gettext as _

FILTERS = ("stage", "level", "source", "industry", "owner", "mine", "tag", "search", "since", "until", "archived", "mask")


@app.command()
def export(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="FILE|DIR/|-", help="Output file (.xlsx, .csv, .json), a directory for one CSV file per table, or - for stdout.")
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="xlsx|csv|json (default: from the file name; csv for -).", show_default=False,
            metavar="FORMAT",
        ),
    ] = None,
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
    mask: MaskF = False,
    template: Annotated[
        bool,
        typer.Option("--template", help="Write an empty import workbook (columns, drop-downs, an example row)."),
    ] = False,
) -> None:
    """Export customers and their records to xlsx, csv or json (the same filters as list).

    xlsx and json hold every table (customers, follow-ups, stage changes, opportunities, tickets,
    custom fields) and import back; DIR/ writes one CSV file per table; a .csv file holds the
    customers; - writes csv (or --format json) to stdout.

    Examples: crm export 客户.xlsx --stage intent; crm export 备份/; crm export - --mine | head;
    crm export 导入模板.xlsx --template
    """
    import sys
    from pathlib import Path

    from crmcli.services import exporter

    st = state(ctx)
    fmt = exporter.resolve_format(target, fmt, template=template)
    lang = st.settings.lang
    if target != "-":
        exporter.check_target(Path(target), fmt)
        st.interrupted = _("{file} not written").format(file=target)  # a temporary file, renamed at the end
    if template:
        goes_with(ctx, FILTERS, _("an export of customers, not with --template (an empty workbook)"))
        custom = []
        if st.store.exists():  # a template needs no database; with one, its custom fields too
            from crmcli.services import custom_fields

            with st.store.read() as reader:
                custom = custom_fields.definitions(reader)
        exporter.write_template(Path(target), lang=lang, custom=custom)
        typer.echo(_("Wrote the import template {file}").format(file=target))
        return

    filters = filters_from(
        st, stage=stage, level=level, source=source, industry=industry, owner=owner, mine=mine,
        tag=tag, search=search, since=since, until=until, archived=archived,
    )  # fmt: skip
    cadence = st.settings.cadence
    with st.store.read() as conn:
        if target == "-":
            if fmt == "json":
                sys.stdout.flush()
                exporter.write_json(conn, sys.stdout.buffer, target="-", filters=filters, cadence=cadence, mask=mask)
                sys.stdout.buffer.flush()
            else:
                # No BOM on a pipe: it would end up in the first header of whatever reads it.
                exporter.write_csv(
                    conn, sys.stdout, filters=filters, cadence=cadence, lang=lang, mask=mask, lineterminator="\n"
                )
            return
        from crmcli.cli.progress import Counting, Steps

        label = _("exporting to {file}").format(file=Path(target).name)
        with Steps(label) as steps:  # the rows of every sheet, counted as they are written
            result = exporter.export_file(
                Counting(conn, steps, label), Path(target), fmt=fmt, filters=filters, cadence=cadence, lang=lang, mask=mask
            )
    counts = [(result.customers, _("{n} customer"), _("{n} customers"))]
    if result.follow_ups is not None:
        counts.append((result.follow_ups, _("{n} follow-up"), _("{n} follow-ups")))
    if result.stage_changes:
        counts.append((result.stage_changes, _("{n} stage change"), _("{n} stage changes")))
    if result.deals:
        counts.append((result.deals, _("{n} opportunity"), _("{n} opportunities")))
    if result.tickets:
        counts.append((result.tickets, _("{n} ticket"), _("{n} tickets")))
    parts = [(one if n == 1 else many).format(n=n) for n, one, many in counts]
    what = parts[0] if len(parts) == 1 else _(", ").join(parts[:-1]) + _(" and ") + parts[-1]
    typer.echo(_("Exported {what} to {file}").format(what=what, file=target))
