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
    state,
)
from crmcli.cli.app import app


@app.command()
def export(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="FILE|-", help="Output file (.xlsx, .csv, .json), or - for stdout.")
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
    """Export customers to xlsx, csv or json (the same filters as list).

    xlsx has a second sheet of follow-ups; - writes csv (or --format json) to stdout.

    Examples: crm export 客户.xlsx --stage intent; crm export - --mine | head;
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
    if template:
        custom = []
        if st.store.exists():  # a template needs no database; with one, its custom fields too
            from crmcli.services import custom_fields

            with st.store.read() as reader:
                custom = custom_fields.definitions(reader)
        exporter.write_template(Path(target), lang=lang, custom=custom)
        typer.echo(f"Wrote the import template {target}")
        return

    filters = filters_from(
        st, stage=stage, level=level, source=source, industry=industry, owner=owner, mine=mine,
        tag=tag, search=search, since=since, until=until, archived=archived,
    )  # fmt: skip
    cadence = st.settings.cadence
    with st.store.read() as conn:
        if target == "-":
            if fmt == "json":
                from crmcli import render

                render.write_json_array(exporter.json_objects(conn, filters, cadence, mask=mask))
            else:
                # No BOM on a pipe: it would end up in the first header of whatever reads it.
                exporter.write_csv(
                    conn, sys.stdout, filters=filters, cadence=cadence, lang=lang, mask=mask, lineterminator="\n"
                )
            return
        result = exporter.export_file(
            conn, Path(target), fmt=fmt, filters=filters, cadence=cadence, lang=lang, mask=mask
        )
    parts = [f"{result.customers} customer{'s' if result.customers != 1 else ''}"]
    if result.follow_ups is not None:
        parts.append(f"{result.follow_ups} follow-up{'s' if result.follow_ups != 1 else ''}")
    if result.deals:
        parts.append(f"{result.deals} opportunit{'ies' if result.deals != 1 else 'y'}")
    what = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    typer.echo(f"Exported {what} to {target}")
