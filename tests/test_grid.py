"""Piped cards and tables are written without Rich (grid.py) and read exactly as Rich drew them."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli import grid

# Text people type: Latin, digits, CJK (two columns each), full-width forms, punctuation, a
# line break inside a cell (a multi-line note); no markup: cells are text (see below). Stored
# values are trimmed (normalize.clean_text), so a cell neither starts nor ends with a blank.
CELL = st.text(alphabet=st.sampled_from(list("abcXYZ019.,-:#()/ 客户跟进电话ＡＢ，。") + ["\n"]), max_size=14).map(str.strip)


def rich_piped(*parts: grid.Grid | str) -> str:
    """What render.emit wrote for these parts when stdout was not a terminal (before grid.py)."""
    from rich.console import Console
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, width=10_000, soft_wrap=True, highlight=False)
    with console.capture() as cap:
        for p in parts:
            console.print(grid.to_rich(p) if isinstance(p, grid.Grid) else Text(p, no_wrap=True))
    lines = [line.rstrip() for line in cap.get().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def plain(*parts: grid.Grid | str) -> str:
    """What grid.show writes piped."""
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        grid.show(*parts)
    return out.getvalue()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(CELL, CELL, CELL), max_size=6),
    right=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    title=st.sampled_from([None, "Timeline", "时间线"]),
)
def test_a_table_reads_as_rich_drew_it(rows: list[tuple[str, str, str]], right: tuple[bool, ...], title: str | None) -> None:
    table = grid.Grid(rows, header=("Date", "事件", "Details"), right=right, title=title)
    assert "\n".join(grid.lines(table)).rstrip("\n") + "\n" == rich_piped(table) or not rows and not title


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(CELL.filter(bool), CELL), min_size=1, max_size=6))
def test_a_card_and_a_headline_read_as_rich_drew_them(rows: list[tuple[str, str]]) -> None:
    card = grid.Grid(rows)
    table = grid.Grid([("2026-11-01", "follow-up", "电话\n第二行")], header=("Date", "Event", "Details"))
    parts = (grid.Bold("Funnel (all time)"), card, "", table, "footer")
    assert plain(*parts) == rich_piped(*parts)


def test_hand_drawn_table() -> None:
    table = grid.Grid([("C1", "客户甲", "5"), ("C22", "Ｘ\nnext", "10")], header=("Code", "名称", "N"), right=(False, False, True))
    assert grid.lines(table) == [
        " Code   名称      N",
        "━━━━━━━━━━━━━━━━━━━━",
        " C1     客户甲    5",
        " C22    Ｘ       10",
        "        next",
    ]


def test_cells_are_text_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    """Rich read "[vip]" as a style tag and ":smile:" as an emoji code: a name or a follow-up
    lost words. Neither form does now."""
    grid.show(grid.Grid([("Name", "甲公司 [vip] :smile:"), ("Need", "a\tb")]))
    assert capsys.readouterr().out == " Name  甲公司 [vip] :smile:\n Need  a       b\n"
    assert "[vip] :smile:" in rich_piped(grid.Grid([("Name", "甲公司 [vip] :smile:")]))
