"""The report command: funnel, sources, owners, industries, abc, lost, trend, forecast, alerts (spec §8),
pipeline, products (spec §13)."""

from pathlib import Path
from typing import Annotated

import typer

from crmcli.cli import complete
from crmcli.cli._common import SHARE, MineF, OwnerF, goes_with, not_blank, state
from crmcli.cli.app import app
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

# The same tuple as crmcli.services.reports.KINDS (a test holds them together); repeated
# here so that `crm report --help` and a wrong KIND need no service import.
KINDS = ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts", "pipeline", "products", "service")


@app.command()
def report(
    ctx: typer.Context,
    kind: Annotated[
        str, typer.Argument(metavar="KIND", autocompletion=complete.reports, help="funnel|sources|owners|industries|abc|lost|trend|forecast|alerts|pipeline|products|service.")
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Period start: customers by creation date, events by their own date.",
            show_default=False,
            metavar="DATE",
            callback=not_blank,
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Period end (inclusive).", show_default=False, metavar="DATE", callback=not_blank)
    ] = None,
    owner: OwnerF = None,
    mine: MineF = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json|csv|tsv.", metavar="FORMAT")] = "table",
    xlsx: Annotated[
        Path | None,
        typer.Option(
            "--xlsx",
            metavar="FILE",
            help="Write the report to an Excel workbook with a native chart.",
            show_default=False,
        ),
    ] = None,
    a: Annotated[
        float | None,
        typer.Option(
            "--a",
            help="abc: class A while the cumulative share before the customer is below this [0.7].",
            show_default=False,
            metavar="SHARE",
            parser=SHARE,
        ),
    ] = None,
    b: Annotated[
        float | None,
        typer.Option("--b", help="abc: class B while it is below this, else C [0.9].", show_default=False, metavar="SHARE", parser=SHARE),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="service: per type (default), handler or month (the satisfaction trend).", show_default=False, metavar="type|handler|month"),
    ] = None,
) -> None:
    """Show a report: funnel, sources, owners, industries, abc, lost, trend, forecast, alerts, pipeline, products or service.

    Examples: crm report sources --since 2026-01-01;
    crm report trend --xlsx trend.xlsx;  crm report alerts --mine --format csv;  crm report service --by handler
    """
    name = kind.strip().lower()
    if name not in KINDS:
        raise UsageError(N_("unknown report '{kind}'; choose one of {kinds}"), kind=kind, kinds=", ".join(KINDS))
    if by is not None:
        if name != "service":
            raise UsageError(N_("--by goes with the service report"))
        by = by.strip().lower()
        if by not in ("type", "handler", "month"):
            raise UsageError(N_("--by {by}: choose type, handler or month"), by=by)
    if name != "abc" and (a is not None or b is not None):
        raise UsageError(N_("--a and --b go with the abc report"))
    if xlsx is not None:
        goes_with(ctx, ["fmt"], _("printing the report, not with --xlsx (which writes a workbook)"))
    a_, b_ = (0.7 if a is None else a), (0.9 if b is None else b)
    if not 0 < a_ < b_ <= 1:
        raise UsageError(N_("--a {a_:g} --b {b_:g}: need 0 < a < b <= 1"), a_=a_, b_=b_)
    from crmcli import render, report_view
    from crmcli.services import reports

    fmt = render.check_format(fmt, ("table", "json", "csv", "tsv"))
    st = state(ctx)
    if xlsx is not None:
        from crmcli.io import xlsx_report

        xlsx_report.check_target(xlsx)
        st.interrupted = _("{file} not written").format(file=xlsx)
    today = st.today
    start = end = None
    owners: list[str] = []
    if since or until or owner:
        from crmcli import normalize

        start = normalize.parse_date(since, today) if since else None
        end = normalize.parse_date(until, today) if until else None
        owners = [o for o in (normalize.clean_text(x) for x in (owner or [])) if o]
    if start and end and start > end:
        raise UsageError(N_("--since {since} is after --until {until}"), since=start, until=end)
    if mine:
        owners.append(st.settings.user)
    params = reports.Params(
        today=today, since=start, until=end, owners=list(dict.fromkeys(owners)),
        cadence=st.settings.cadence, probability=st.settings.probability, a=a_, b=b_, by=by,
    )  # fmt: skip
    with st.store.read() as conn:
        rep = reports.build(conn, name, params, as_json=fmt == "json" and xlsx is None)
    lang = st.settings.lang
    if xlsx is not None:
        xlsx_report.write(xlsx, rep, lang=lang, headline=report_view.headline(rep, lang))
        typer.echo(_("Wrote {file}").format(file=xlsx))
    elif fmt == "json":
        render.print_json_rows(rep.json_rows(), head=rep.head())
    elif fmt in ("csv", "tsv"):
        render.write_delimited(rep.rows, rep.spec.keys, fmt)
    else:
        headers, cells, bars, right, footer = report_view.table_cells(rep, lang)
        from crmcli import render_more

        render_more.print_bar_table(
            headers, cells, bars, right=right, headline=report_view.headline(rep, lang), footer=footer,
            folds=report_view.folds(rep), lang=lang,
            main=rep.spec.keys.index(rep.spec.main) if rep.spec.main in rep.spec.keys else None,
        )
