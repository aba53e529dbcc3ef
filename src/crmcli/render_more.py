"""What people read beyond record tables: the customer card with its timeline (``crm show``) and
report tables with their bars (spec §8). Split from ``render`` by job; it prints through it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from crmcli import fields, render
from crmcli.render import amount, display, plain

CARD_KEYS = (*fields.customer_keys(where="show"), "next_plan")
_ZERO_HIDDEN = frozenset({"orders", "total_amount"})  # a customer who bought nothing: no purchase lines


def print_card(rec: dict[str, Any], lang: str, custom: Sequence[fields.Field] = ()) -> None:
    """A customer card (its custom fields after the built-in ones), then one timeline of
    follow-ups, stage changes and deals, newest first."""
    from crmcli.grid import Grid, show
    from crmcli.i18n import gettext

    def _(message: str) -> str:
        return gettext(message, lang)

    card: list[tuple[str, str]] = []
    for key in CARD_KEYS:
        value = rec.get(key)
        if value in (None, "", []) or (key in _ZERO_HIDDEN and not value):
            continue
        card.append((fields.label(key, lang), display(key, value, lang)))
    values = rec.get("fields") or {}
    for f in custom:
        value = values.get(f.key)
        if value not in (None, ""):
            card.append((f.label(lang), amount(value) if f.kind == "money" else plain(value)))
    if rec.get("archived"):
        card.append((fields.label("archived", lang), "✓"))

    events: list[tuple[Any, int, str, str]] = []  # (ISO date, order within a day, kind, text)
    for i, f in enumerate(rec.get("follow_ups", [])):
        parts = [f"#{f['id']}" if f.get("id") is not None else "", display("method", f.get("method"), lang), f.get("content") or ""]
        if f.get("feedback"):
            parts.append(f"[{display('feedback', f['feedback'], lang)}]")
        if f.get("next_date") or f.get("next_plan"):
            nxt = " ".join(x for x in (plain(f.get("next_date")), f.get("next_plan") or "") if x)
            parts.append(_("next: ") + nxt)
        events.append((f["date"], 3000 - i, _("follow-up"), "  ".join(p for p in parts if p) + (f"  ({f['by']})" if f.get("by") else "")))
    for i, s in enumerate(rec.get("stage_changes", [])):
        text = f"{display('stage', s.get('from_stage'), lang) or '-'} → {display('stage', s['to_stage'], lang)}"
        if s.get("reason"):
            text += f"  ({s['reason']})"
        events.append((s["date"], 2000 - i, _("stage"), text))
    for i, d in enumerate(rec.get("deals", [])):
        won = d.get("stage") == "won"
        kind = _("deal") if won else _("opportunity")
        parts = [d.get("code") or "", d.get("name") or "", "" if won else f"[{display('stage', d.get('stage'), lang, fields.OPPORTUNITY_BY_KEY['stage'])}]"]
        parts.append(display("amount", float(d["amount"] or 0), lang) + ("" if won or d.get("probability") is None else f" ({d['probability']:g}%)"))
        if d.get("products"):
            parts.append(d["products"])
        if d.get("lost_reason"):
            parts.append(f"({d['lost_reason']})")
        events.append((d.get("closed_at") or d["date"], 1000 - i, kind, "  ".join(p for p in parts if p)))
    for i, t in enumerate(rec.get("tickets", [])):
        from crmcli import vocab

        parts = [t["code"], t["type"], vocab.label("status", t["status"], lang), t.get("content") or ""]
        if t.get("satisfaction") is not None:
            parts.append(_("satisfaction {score}").format(score=t["satisfaction"]))
        if t.get("handler"):
            parts.append(f"({t['handler']})")
        events.append((t["opened_at"], 500 - i, _("ticket"), "  ".join(p for p in parts if p)))
    if not events:
        show(Grid(card))
        return
    events.sort(key=lambda e: (e[0], e[1]), reverse=True)
    timeline = Grid(
        [(plain(when), kind, text) for when, _order, kind, text in events],
        header=(_("Date"), _("Event"), _("Details")),
        title=_("Timeline"),
        folds=(False, False, True),
        rich_defaults=True,
    )
    show(Grid(card), "", timeline)


BAR_WIDTH = 24


def bar(value: float, top: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``value`` against ``top``, in eighths of a character."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def print_bar_table(
    headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    bars: Sequence[float],
    *,
    right: Sequence[bool],
    headline: str,
    footer: str | None = None,
    folds: Sequence[bool] | None = None,
    lang: str = "en",
    main: int | None = None,
) -> None:
    """A report: its headline, then a table with a bar for the main figure of each row (spec §8).

    ``folds``: the columns that may take several lines (names, sources); the others (codes,
    dates, amounts, counts) never do. Too wide for the terminal, the table is fitted: the bar goes
    first, then the last columns (the first, a name beside it and the ``main`` figure always
    stay); or records.
    """
    from crmcli import fit
    from crmcli.grid import Bold, Grid, show

    folding = list(folds) if folds is not None else [False] * len(headers)
    top = max(bars, default=0.0)
    drawn = [bar(value, top) for value in bars]
    width = render.terminal_width()  # through the module: tests set it
    if width is not None:  # wrapped between words: a figure or a date in it is never split
        headline = "\n".join(fit.words(headline, width - 1))
        footer = "\n".join(fit.words(footer, width - 1)) if footer else footer
    if width is not None and cells:
        columns = [
            fit.Column(h, r, f, 100 if i == 0 else 95 if i == 1 and f else fit.ESSENTIAL if i == main else 60 - i)
            for i, (h, r, f) in enumerate(zip(headers, right, folding, strict=True))
        ]
        columns.append(fit.Column("", False, False, 0))
        rows = [[*row, b] for row, b in zip(cells, drawn, strict=True)]
        lay = fit.layout(columns, rows, width - 1)
        if lay.dropped or lay.records or lay.widths != fit.natural(columns, rows):
            out = headline + "\n"
            if lay.records:
                out += fit.records(columns[:-1], [r[:-1] for r in rows], width)
            else:
                out += fit.table(columns, rows, lay) + fit.note(columns, lay, lang, width)
            sys.stdout.write(out + (footer + "\n" if footer else ""))
            return
    parts: list[Grid | str] = [Bold(headline)]
    if cells:
        rows = [[*row, b] for row, b in zip(cells, drawn, strict=True)]
        parts.append(Grid(rows, header=[*headers, ""], right=[*right, False], wraps=[*folding, False]))
    if footer:
        parts.append(footer)
    show(*parts)
