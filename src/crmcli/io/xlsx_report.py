"""``crm report KIND --xlsx FILE``: the report as a workbook with a native Excel chart.

Pie for shares (industries, lost reasons, the A/B/C split), bar for counts and amounts (funnel,
sources, owners, forecast, alerts, pipeline, products), line for the monthly trend. The chart reads
its data from the sheet's cells, so it follows any edit made in Excel.
openpyxl is imported here only, inside the function.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError
from crmcli.i18n import N_

if TYPE_CHECKING:
    from crmcli.services.reports import Report

HEADER_ROW = 4  # rows 1-2: headline and period; the table starts at row 4
NUMBER_FORMATS = {"int": "#,##0", "money": "#,##0.00", "pct": "0.0%", "num": "0.00"}


def _value(key: str, value: Any, lang: str, report: str | None = None) -> Any:
    from crmcli import report_view as reports

    kind = reports.KIND_OF.get(key)
    if value is None:
        return None if kind in ("int", "money", "pct", "num") or key.endswith("_at") else reports.none_label(lang)
    if kind == "bool":
        return "✓" if value else ""
    if kind in ("stage", "level"):
        from crmcli import vocab

        return vocab.label(reports.stage_vocabulary(report) if kind == "stage" else kind, value, lang)
    return value


def _summary(report: Report, lang: str) -> tuple[list[str], list[list[Any]]] | None:
    """A small table charted instead of the rows, for reports with one row per customer."""
    from crmcli import report_view as reports

    f = report.figures
    if report.kind == "abc":
        head = [reports.label("class", lang), reports.label("customers", lang), reports.label("amount", lang),
                reports.label("share", lang)]  # fmt: skip
        return head, [[c, f[f"class_{c.lower()}"]["customers"], f[f"class_{c.lower()}"]["amount"],
                       f[f"class_{c.lower()}"]["share"]] for c in "ABC"]  # fmt: skip
    if report.kind == "alerts":
        head = ["", reports.label("customers", lang)]
        from crmcli.vocab import ALERT_FLAGS

        return head, [[reports.label(k, lang), f[k]] for k in ALERT_FLAGS]
    return None


def check_target(path: Path) -> None:
    """Refuse, before the report is built, a path it must not be written to (see ``safe_files``)."""
    from crmcli import safe_files

    reason = safe_files.refusal(path) or (safe_files.replaceable_workbook(path) if path.exists() else None)
    if reason:
        raise CrmError(N_("{reason}"), reason=reason)


def _put(ws: Any, row: int, column: int, value: Any) -> Any:
    """Set a cell; a string stays a string cell whatever it starts with (``=...``, ``#N/A``)."""
    from crmcli.io import writers

    if isinstance(value, str):
        value = writers.clean_text(value)
        if len(value) > writers.EXCEL_MAX_CELL:
            from openpyxl.utils import get_column_letter

            raise writers.too_long_error(ws.title, row, get_column_letter(column), len(value))
    c = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        c.data_type = "s"  # after the assignment: openpyxl made "=..." a formula and "#N/A" an error
    return c


def write(path: Path, report: Report, *, lang: str, headline: str) -> None:
    """Write ``report`` to ``path`` (.xlsx) with its chart, through ``safe_files``."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, PieChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from crmcli import report_view as reports

    spec = report.spec
    keys = list(spec.keys)
    wb = Workbook()
    ws = wb.active
    zh_title, en_title = reports.TITLES[report.kind]
    title = zh_title if lang == "zh" else en_title
    ws.title = title
    _put(ws, 1, 1, headline).font = Font(bold=True, size=13)
    from crmcli.i18n import gettext

    p = report.params
    if p.since or p.until:
        period = " – ".join(d.isoformat() if d else "…" for d in (p.since, p.until))
    else:
        period = gettext("all (period)", lang)
    who = ", ".join(p.owners) if p.owners else gettext("everyone", lang)
    _put(ws, 2, 1, gettext("Period {period}  owner {who}  as of {today}", lang).format(period=period, who=who, today=p.today))
    for col, key in enumerate(keys, start=1):
        _put(ws, HEADER_ROW, col, reports.label(key, lang, report.kind)).font = Font(bold=True)
    rows = report.rows
    for r, rec in enumerate(rows, start=HEADER_ROW + 1):
        for col, key in enumerate(keys, start=1):
            c = _put(ws, r, col, _value(key, rec.get(key), lang, report.kind))
            fmt = NUMBER_FORMATS.get(reports.KIND_OF.get(key, ""))
            if fmt:
                c.number_format = fmt
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    for col, key in enumerate(keys, start=1):
        width = max([_width(reports.label(key, lang, report.kind))] + [_width(ws.cell(row=r, column=col).value) for r in
                    range(HEADER_ROW + 1, HEADER_ROW + 1 + min(len(rows), 500))])  # fmt: skip
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 40)
    last = HEADER_ROW + len(rows)
    anchor_col = len(keys) + 2

    summary = _summary(report, lang)
    if summary is not None and rows:
        head, data = summary
        for i, text in enumerate(head):
            _put(ws, HEADER_ROW, anchor_col + i, text).font = Font(bold=True)
        for r, values in enumerate(data, start=HEADER_ROW + 1):
            for i, value in enumerate(values):
                c = _put(ws, r, anchor_col + i, value)
                if report.kind == "abc" and i == 3:
                    c.number_format = NUMBER_FORMATS["pct"]
                elif isinstance(value, int | float):
                    c.number_format = NUMBER_FORMATS["money" if report.kind == "abc" and i == 2 else "int"]
        cats = Reference(ws, min_col=anchor_col, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(data))
        value_col = anchor_col + (2 if report.kind == "abc" else 1)
        values = Reference(ws, min_col=value_col, min_row=HEADER_ROW, max_row=HEADER_ROW + len(data))
        chart: Any = PieChart() if spec.chart == "pie" else BarChart()
        chart.add_data(values, titles_from_data=True)
        chart.set_categories(cats)
        anchor_col += len(head) + 1
    elif rows:
        cats = Reference(ws, min_col=1, min_row=HEADER_ROW + 1, max_row=last)
        if spec.chart == "pie":
            chart = PieChart()
        elif spec.chart == "line":
            chart = LineChart()
            chart.y_axis.title = reports.label(spec.series[0], lang, report.kind)
        else:
            chart = BarChart()
            chart.type = "col"
        for key in spec.series:
            col = keys.index(key) + 1
            chart.add_data(Reference(ws, min_col=col, min_row=HEADER_ROW, max_row=last), titles_from_data=True)
        chart.set_categories(cats)
    else:
        chart = None  # nothing to draw
    if chart is not None:
        chart.title = title
        if isinstance(chart, PieChart):
            chart.dataLabels = DataLabelList()
            chart.dataLabels.showPercent = True
        chart.width, chart.height = 18, 10
        ws.add_chart(chart, ws.cell(row=HEADER_ROW, column=anchor_col).coordinate)
        if report.kind == "trend":
            counts = LineChart()
            counts.title = gettext("Customers, follow-ups and deals", lang)
            for key in ("new_customers", "follow_ups", "won_deals"):
                col = keys.index(key) + 1
                counts.add_data(Reference(ws, min_col=col, min_row=HEADER_ROW, max_row=last), titles_from_data=True)
            counts.set_categories(cats)
            counts.width, counts.height = 18, 10
            ws.add_chart(counts, ws.cell(row=HEADER_ROW + 22, column=anchor_col).coordinate)
    from crmcli import safe_files

    with safe_files.open_for_writing(path, check=safe_files.replaceable_workbook) as fh:
        wb.save(safe_files.ForZip(fh))


def _width(value: Any) -> float:
    from crmcli.io.writers import display_width

    return 0 if value is None else display_width(str(value))
