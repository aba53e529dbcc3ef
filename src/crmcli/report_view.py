"""How a report reads: labels, titles, the headline, table cells (spec §8).

The report services (``services/reports.py``) return rows and figures; everything a person reads
about them -- column labels, the one-line headline, percentages and amounts as text, the table
cells and bars -- is decided here, for the terminal (``cli/reports.py``) and the workbook
(``io/xlsx_report.py``) alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcli import vocab
from crmcli.i18n import N_

if TYPE_CHECKING:
    from crmcli.services.reports import Report

ORDER = vocab.STAGES[:4]  # potential → intent → negotiating → won

# How a figure is shown in a table or a workbook.
KIND_OF: dict[str, str] = {
    "count": "int", "reached": "int", "customers": "int", "won": "int", "follow_ups": "int", "due": "int",
    "new_customers": "int", "won_deals": "int", "idle_days": "int", "opportunities": "int", "units": "int",
    "conversion": "pct", "share": "pct", "cumulative": "pct", "follow_rate": "pct",
    "won_amount": "money", "amount": "money", "weighted": "money", "revenue": "money",
    "dormant": "bool", "stale": "bool", "overdue": "bool", "complaints": "bool", "quiet": "bool",
    "tickets": "int", "open": "int", "resolved": "int", "avg_days_to_resolve": "num", "avg_satisfaction": "num",
    "stage": "stage", "level": "level",
}  # fmt: skip

LABELS: dict[str, tuple[str, str]] = {
    "stage": ("阶段", "Stage"),
    "count": ("当前客户数", "Now"),
    "reached": ("到达客户数", "Reached"),
    "conversion": ("转化率", "Conversion"),
    "source": ("客户来源", "Source"),
    "customers": ("客户数", "Customers"),
    "won": ("成交客户", "Won"),
    "won_amount": ("成交金额", "Won amount"),
    "owner": ("负责人", "Owner"),
    "follow_ups": ("跟进次数", "Follow-ups"),
    "due": ("待跟进", "Due"),
    "follow_rate": ("跟进率", "Follow-up rate"),
    "industry": ("所属行业", "Industry"),
    "share": ("占比", "Share"),
    "code": ("客户编号", "Code"),
    "name": ("客户名称", "Name"),
    "amount": ("金额", "Amount"),
    "cumulative": ("累计占比", "Cumulative"),
    "class": ("分类", "Class"),
    "reason": ("流失原因", "Reason"),
    "month": ("月份", "Month"),
    "new_customers": ("新增客户", "New customers"),
    "won_deals": ("成交笔数", "Deals"),
    "weighted": ("加权金额", "Weighted"),
    "level": ("客户等级", "Level"),
    "last_follow_at": ("最后跟进日期", "Last follow-up"),
    "last_deal_at": ("最后成交日期", "Last deal"),
    "next_follow_at": ("下次跟进日期", "Next follow-up"),
    "idle_days": ("未联系天数", "Days idle"),
    "dormant": ("沉睡", "Dormant"),
    "stale": ("停滞", "Stale"),
    "overdue": ("逾期", "Overdue"),
    "complaints": ("投诉未解决", "Complaints"),
    "quiet": ("近3个月无合作", "Quiet"),
    "type": ("反馈问题类型", "Issue type"),
    "handler": ("处理负责人", "Handler"),
    "tickets": ("工单数", "Tickets"),
    "open": ("未解决", "Open"),
    "resolved": ("已解决", "Resolved"),
    "avg_days_to_resolve": ("平均解决天数", "Days to resolve"),
    "avg_satisfaction": ("平均满意度", "Satisfaction"),
    "opportunities": ("销售机会", "Opportunities"),
    "product": ("产品", "Product"),
    "units": ("销量", "Units"),
    "revenue": ("销售额", "Revenue"),
}
# A key that reads differently in one report: (report, key) -> (zh, en).
REPORT_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    ("pipeline", "count"): ("机会数", "Opportunities"),
    ("pipeline", "amount"): ("金额", "Amount"),
    ("owners", "opportunities"): ("进行中机会", "Open opportunities"),
    ("owners", "won_deals"): ("成交笔数", "Deals won"),
    ("products", "customers"): ("购买客户数", "Customers"),
}

TITLES: dict[str, tuple[str, str]] = {
    "funnel": ("销售漏斗", "Sales funnel"),
    "sources": ("客户来源", "Sources"),
    "owners": ("负责人", "Owners"),
    "industries": ("行业分布", "Industries"),
    "abc": ("ABC分类", "ABC analysis"),
    "lost": ("流失原因", "Lost reasons"),
    "trend": ("月度趋势", "Monthly trend"),
    "forecast": ("成交预测", "Forecast"),
    "alerts": ("客户预警", "Alerts"),
    "service": ("客户服务", "Service"),
    "pipeline": ("销售机会管道", "Pipeline"),
    "products": ("产品销售", "Products"),
}


def label(key: str, lang: str, kind: str | None = None) -> str:
    """The column header of ``key`` (in report ``kind``, when it reads differently there)."""
    zh, en = REPORT_LABELS.get((kind or "", key)) or LABELS.get(key, (key, key))
    return zh if lang == "zh" else en


def stage_vocabulary(kind: str | None) -> str:
    """The stages of the pipeline are an opportunity's (成交, 丢单), elsewhere a customer's."""
    return "deal_stage" if kind == "pipeline" else "stage"


def none_label(lang: str) -> str:
    return "(未填)" if lang == "zh" else "(none)"


# --------------------------------------------------------------------------- headline


def pct(value: float | None) -> str:
    if value is None:
        return "-"
    x = value * 100
    return f"{x:.0f}%" if abs(x - round(x)) < 0.05 else f"{x:.1f}%"


def money(value: float) -> str:
    from crmcli.render import amount

    return "¥" + amount(value)


def _name(value: Any, lang: str) -> str:
    return none_label(lang) if value is None else str(value)


# Why a report has nothing to show when no period narrows it: what the database has none of yet.
_NONE_YET: dict[str, str] = {
    "abc": N_("no deals yet"),
    "lost": N_("no lost customers yet"),
    "forecast": N_("no open opportunities or expected amounts"),
    "alerts": N_("no customer has an alert"),
    "pipeline": N_("no opportunities yet"),
    "products": N_("no won opportunities yet"),
    "service": N_("no service tickets yet"),
}


def empty_reason(report: Report, lang: str) -> str:
    """Why there is nothing to show: the period given had nothing, or the database has none yet."""
    from crmcli.i18n import gettext as _

    p = report.params
    if p.since or p.until:
        start = p.since.isoformat() if p.since else "…"
        end = p.until.isoformat() if p.until else "…"
        text = _("nothing in the period {start}–{end}", lang).format(start=start, end=end)
    else:
        text = _(_NONE_YET.get(report.kind, N_("no customers yet")), lang)
    if p.owners:
        text += _(" (owner: {owners})", lang).format(owners=", ".join(p.owners))
    return text


def headline(report: Report, lang: str) -> str:
    """One short line that says what the report shows, in the display language (the catalog's)."""
    from crmcli.i18n import gettext

    def _(message: str, **values: Any) -> str:
        return gettext(message, lang).format(**values)

    f = report.figures
    k = report.kind
    if report.empty or (k == "funnel" and not f["customers"]):
        return empty_reason(report, lang)
    if k == "funnel":
        steps = [r for r in report.rows[:3] if r["conversion"] is not None]
        worst = min(steps, key=lambda r: r["conversion"]) if steps else None
        text = _("Potential → won: {rate} ({won:,} of {customers:,})", rate=pct(f["win_rate"]), won=f["won"], customers=f["customers"])
        if worst is not None:
            nxt = ORDER[ORDER.index(worst["stage"]) + 1]
            frm, to = vocab.label("stage", worst["stage"], lang), vocab.label("stage", nxt, lang)
            text += _("; weakest step: {frm} → {to} {rate}", frm=frm, to=to, rate=pct(worst["conversion"]))
        return text
    if k == "sources":
        ranked = sorted(
            (r for r in report.rows if r["conversion"] is not None), key=lambda r: (-r["conversion"], -r["customers"])
        )
        if not ranked:
            return _("{amount} won", amount=money(f["won_amount"]))
        best = ranked[0]
        text = _("{source} converts best: {rate}", source=_name(best["source"], lang), rate=pct(best["conversion"]))
        if len(ranked) > 1:
            second = ranked[1]
            other = _name(second["source"], lang)
            if second["conversion"] == best["conversion"]:
                text += _(", level with {other}", other=other)
            else:
                text += _(", ahead of {other} at {rate}", other=other, rate=pct(second["conversion"]))
        return text
    if k == "owners":
        parts = []
        top = report.rows[0]
        if top["won_amount"]:
            parts.append(_("{owner} leads with {amount} won", owner=_name(top["owner"], lang), amount=money(top["won_amount"])))
        rated = [r for r in report.rows if r["follow_rate"] is not None]
        if rated:
            low = min(rated, key=lambda r: (r["follow_rate"], r["owner"] or ""))
            parts.append(
                _("follow-up rate {rate} overall, lowest {owner} {low}",
                  rate=pct(f["follow_rate"]), owner=_name(low["owner"], lang), low=pct(low["follow_rate"]))
            )  # fmt: skip
        return "; ".join(parts) if parts else empty_reason(report, lang)
    if k == "industries":
        return _("{name} is the largest industry: {share} of {customers:,} customers",
                 name=_name(f["top_industry"], lang), share=pct(f["top_share"]), customers=f["customers"])  # fmt: skip
    if k == "abc":
        a = f["class_a"]
        return _("A: {customers:,} customers ({customer_share}) bring {share} of the amount won",
                 customers=a["customers"], customer_share=pct(a["customer_share"]), share=pct(a["share"]))  # fmt: skip
    if k == "lost":
        return _("{name} is the top reason: {share} of {customers:,} lost customers",
                 name=_name(f["top_reason"], lang), share=pct(f["top_share"]), customers=f["customers"])  # fmt: skip
    if k == "trend":
        best = max(report.rows, key=lambda r: (r["won_amount"], r["month"]))
        if not best["won_amount"]:
            return _("{customers:,} new customers, {follow_ups:,} follow-ups", customers=f["new_customers"], follow_ups=f["follow_ups"])
        return _("{amount} won; best month {month}: {best}",
                 amount=money(f["won_amount"]), month=best["month"], best=money(best["won_amount"]))  # fmt: skip
    if k == "forecast":
        return _("Weighted pipeline {weighted} of {amount} ({opportunities:,} open opportunities, {customers:,} customers)",
                 weighted=money(f["weighted"]), amount=money(f["amount"]), opportunities=f["opportunities"],
                 customers=f["customers"])  # fmt: skip
    if k == "pipeline":
        text = _("{open:,} open for {amount}, weighted {weighted}; win rate {rate}",
                 open=f["open"], amount=money(f["open_amount"]), weighted=money(f["weighted"]), rate=pct(f["win_rate"]))  # fmt: skip
        if f["won"]:
            days = "-" if f["avg_cycle_days"] is None else f"{f['avg_cycle_days']:g}"
            text += _(" ({won:,} won, {lost:,} lost), average deal {amount} in {days} days",
                      won=f["won"], lost=f["lost"], amount=money(f["avg_won_amount"]), days=days)  # fmt: skip
        return text
    if k == "products":
        return _("{revenue} sold; best seller {name}: {share}",
                 revenue=money(f["revenue"]), name=_name(f["top_product"], lang), share=pct(f["top_share"]))  # fmt: skip
    if k == "service":
        score = "-" if f["avg_satisfaction"] is None else f"{f['avg_satisfaction']:.2f}"
        text = _("{tickets:,} tickets, {open:,} open; satisfaction {score} ({scored:,} scored)",
                 tickets=f["tickets"], open=f["open"], score=score, scored=f["scored"])  # fmt: skip
        if f["most_open"] is not None:
            text += _("; most open: {most}", most=f["most_open"])
        return text
    # alerts
    return _("{dormant:,} dormant · {stale:,} stale · {overdue:,} key customers overdue · "
             "{complaints:,} with unresolved complaints · {quiet:,} quiet for 90 days",
             dormant=f["dormant"], stale=f["stale"], overdue=f["overdue"], complaints=f["complaints"], quiet=f["quiet"])  # fmt: skip


# --------------------------------------------------------------------------- table cells


def cell(key: str, value: Any, lang: str, report: str | None = None) -> str:
    """A report value as a person reads it."""
    kind = KIND_OF.get(key)
    if value is None:
        return "-" if kind in ("pct", "int", "money", "num") or key.endswith("_at") else none_label(lang)
    if kind == "pct":
        return pct(value)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{value:,.1f}" if key == "avg_days_to_resolve" else f"{value:.2f}"
    if kind == "money":
        from crmcli.render import amount

        return amount(value)
    if kind == "bool":
        return "✓" if value else ""
    if kind == "stage":
        return vocab.label(stage_vocabulary(report), value, lang)
    if kind == "level":
        return vocab.label(kind, value, lang)
    return str(value)


# Report columns of free text: they may fold onto several lines on a narrow terminal (spec §7);
# every other column (codes, dates, amounts, counts, labels) never does.
TEXT_KEYS = frozenset({"name", "source", "industry", "owner", "reason", "type", "handler", "product"})


def folds(report: Report) -> list[bool]:
    return [k in TEXT_KEYS for k in report.spec.keys]


TABLE_ROWS = 100  # abc and alerts have a row per customer: a table shows the first ones


def table_cells(report: Report, lang: str) -> tuple[list[str], list[list[str]], list[float], list[bool], str | None]:
    """Headers, cells, the main figure of each row (for its bar), which columns are numbers, and a footer.

    A Rich table costs about a third of a millisecond per cell, and nobody reads
    ten thousand rows in a terminal: the per-customer reports show their first
    ``TABLE_ROWS`` rows (the headline still counts them all) and say how to get
    the rest.
    """
    keys = report.spec.keys
    headers = [label(k, lang, report.kind) for k in keys]
    rows = report.rows
    footer = None
    if report.kind in ("abc", "alerts") and len(rows) > TABLE_ROWS:
        more = len(rows) - TABLE_ROWS
        rows = rows[:TABLE_ROWS]
        footer = (
            f"… 另有 {more:,} 行未显示; 全部数据请用 --format csv 或 --xlsx FILE"
            if lang == "zh"
            else f"… {more:,} more rows not shown; --format csv or --xlsx FILE gives them all"
        )
    cells = [[cell(k, r.get(k), lang, report.kind) for k in keys] for r in rows]
    bars = [float(r.get(report.spec.main) or 0) for r in rows]
    right = [KIND_OF.get(k) in ("int", "pct", "money", "num") for k in keys]
    return headers, cells, bars, right, footer
