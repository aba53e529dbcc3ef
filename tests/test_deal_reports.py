"""The reports that count opportunities (spec §8 as §13 updates it), against answers worked out by hand.

Today is 2026-11-26. Four customers (A, C, D owned by wang; B by li):

* A: a1 intent 100,000 (30% by default), expected 2026-12-15; a2 negotiating 200,000 at 50%,
  expected 2027-01-10, owned by 李娜 (a deal's agent need not own the account);
* B: b1 opened 2026-09-01, won 2026-10-05 for 30,000: Basic x10 at 2,000 and Pro x1 at 10,000;
* C: c1 opened 2026-11-01, lost 2026-11-10 (0); c2 won 2026-11-20 for 50,000, no lines;
* D: no opportunity, an expected amount of 80,000 at stage intent, expected 2026-12-20.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Crm


@pytest.fixture
def book(crm: Crm) -> Crm:
    add = crm.ok
    a = add("add", "甲公司", "--phone", "13800000001", "--owner", "wang").strip()
    b = add("add", "乙公司", "--phone", "13800000002", "--owner", "li").strip()
    c = add("add", "丙公司", "--phone", "13800000003", "--owner", "wang").strip()
    add("add", "丁公司", "--phone", "13800000004", "--owner", "wang", "--stage", "intent", "--amount", "8万", "--expected-close", "2026-12-20")
    add("product", "add", "Basic")
    add("product", "add", "Pro", "--price", "10000")
    add("deal", "add", a, "--name", "a1", "--amount", "10万", "--stage", "intent", "--expected-close", "2026-12-15")
    add("deal", "add", a, "--name", "a2", "--amount", "20万", "--stage", "negotiating", "--probability", "50",
        "--expected-close", "2027-01-10", "--owner", "李娜")  # fmt: skip
    b1 = add("deal", "add", b, "--name", "b1", "--product", "Basic:10:2000", "--product", "Pro", "--date", "2026-09-01").strip()
    add("deal", "stage", b1, "won", "--date", "2026-10-05")
    c1 = add("deal", "add", c, "--name", "c1", "--date", "2026-11-01").strip()
    add("deal", "stage", c1, "lost", "--date", "2026-11-10", "--reason", "价格")
    add("deal", "add", c, "--name", "c2", "--amount", "5万", "--stage", "won", "--date", "2026-11-20")
    return crm


def rows(out: dict[str, Any], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in out["rows"]]


def test_pipeline(book: Crm) -> None:
    out = book.json("report", "pipeline")
    assert rows(out, "stage", "count", "amount", "weighted") == [
        ("potential", 0, 0, 0), ("intent", 1, 100000, 30000), ("negotiating", 1, 200000, 100000),
        ("won", 2, 80000, 80000), ("lost", 1, 0, 0),
    ]  # fmt: skip
    # win rate 2 / (2 + 1); average won (30,000 + 50,000) / 2; cycle (34 days + 0) / 2
    assert (out["win_rate"], out["avg_won_amount"], out["avg_cycle_days"]) == (0.6667, 40000, 17.0)
    assert (out["open"], out["open_amount"], out["weighted"]) == (2, 300000, 130000)
    since = book.json("report", "pipeline", "--since", "2026-11-01")  # b1 closed before: out
    assert rows(since, "stage", "count")[3:] == [("won", 1), ("lost", 1)] and since["win_rate"] == 0.5
    assert since["avg_cycle_days"] == 0.0
    mine = book.json("report", "pipeline", "--owner", "李娜")  # the opportunity's owner
    assert [r for r in rows(mine, "stage", "count", "amount") if r[1]] == [("negotiating", 1, 200000)]
    assert mine["win_rate"] is None
    table = book.ok("report", "pipeline")
    assert "win rate 66.7%" in table and "Negotiating" in table


def test_products(book: Crm) -> None:
    out = book.json("report", "products")
    # b1's 30,000 shared by its lines' values (20,000 : 10,000); c2 has no lines: 1 unit of no product
    assert rows(out, "product", "units", "revenue", "customers") == [
        (None, 1, 50000, 1), ("Basic", 10, 20000, 1), ("Pro", 1, 10000, 1),
    ]  # fmt: skip
    assert (out["revenue"], out["top_product"], out["top_share"]) == (80000, "Basic", 0.25)
    assert rows(book.json("report", "products", "--since", "2026-11-01"), "product", "revenue") == [(None, 50000)]


def test_forecast_weighs_each_open_opportunity_by_its_own_probability(book: Crm) -> None:
    out = book.json("report", "forecast")
    # 2026-12: a1 100,000 x 30% + D's expected 80,000 x 30% (no opportunity); 2027-01: a2 200,000 x 50%
    assert rows(out, "month", "opportunities", "customers", "amount", "weighted") == [
        ("2026-12", 2, 2, 180000, 54000), ("2027-01", 1, 1, 200000, 100000),
    ]  # fmt: skip
    assert (out["amount"], out["weighted"]) == (380000, 154000)
    assert rows(book.json("report", "forecast", "--owner", "李娜"), "month", "weighted") == [("2027-01", 100000)]


def test_owners_count_opportunities_by_their_own_owner(book: Crm) -> None:
    out = book.json("report", "owners")
    # due: a stage change is a contact (spec §6 as issue 18 has it). A moved to intent and C to won
    # today and on 11-20 (+ 14: not due); D never moved, due since its creation today; B won on
    # 10-05 (+ 14 = 10-19): due
    assert rows(out, "owner", "customers", "won", "opportunities", "won_deals", "won_amount", "due") == [
        ("wang", 3, 1, 1, 1, 50000, 1), ("li", 1, 1, 0, 1, 30000, 1), ("李娜", 0, 0, 1, 0, 0, 0),
    ]  # fmt: skip
    assert out["won_amount"] == 80000 and out["rows"][2]["follow_rate"] is None


def test_trend_abc_and_stages(book: Crm) -> None:
    trend = book.json("report", "trend")
    assert rows(trend, "month", "new_customers", "won_deals", "won_amount") == [("2026-10", 0, 1, 30000), ("2026-11", 4, 1, 50000)]
    abc = book.json("report", "abc")
    assert rows(abc, "name", "amount", "share", "cumulative", "class") == [
        ("丙公司", 50000, 0.625, 0.625, "A"), ("乙公司", 30000, 0.375, 1.0, "A"),
    ]  # fmt: skip
    assert [(c["name"], c["stage"]) for c in book.json("list")] == [
        ("甲公司", "negotiating"), ("乙公司", "won"), ("丙公司", "won"), ("丁公司", "intent"),
    ]  # fmt: skip


def test_xlsx_charts_for_the_new_reports(book: Crm, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    for kind in ("pipeline", "products"):
        path = tmp_path / f"{kind}.xlsx"
        book.ok("report", kind, "--xlsx", str(path))
        ws = load_workbook(path).worksheets[0]
        assert len(ws._charts) == 1, kind
        assert ws.cell(row=4, column=1).value in ("Stage", "Product")
    ws = load_workbook(tmp_path / "pipeline.xlsx").worksheets[0]
    assert [ws.cell(row=r, column=1).value for r in range(5, 10)] == ["Potential", "Intent", "Negotiating", "Won", "Lost"]
    (chart,) = ws._charts
    # a column chart of amount and weighted (columns C and D) per stage (A5:A9), read from the cells
    assert (chart.tagname, chart.type) == ("barChart", "col")
    refs = [(s.tx.strRef.f, s.val.numRef.f, s.cat.strRef.f if s.cat.strRef else s.cat.numRef.f) for s in chart.series]
    title = ws.title
    assert refs == [(f"'{title}'!C4", f"'{title}'!$C$5:$C$9", f"'{title}'!$A$5:$A$9"),
                    (f"'{title}'!D4", f"'{title}'!$D$5:$D$9", f"'{title}'!$A$5:$A$9")]  # fmt: skip
    assert [ws.cell(row=r, column=3).value for r in range(5, 10)] == [0, 100000, 200000, 80000, 0]
    ws = load_workbook(tmp_path / "products.xlsx").worksheets[0]
    (chart,) = ws._charts
    assert chart.tagname == "barChart" and [s.val.numRef.f for s in chart.series] == [f"'{ws.title}'!$C$5:$C$7"]
    assert [(ws.cell(row=r, column=1).value, ws.cell(row=r, column=3).value) for r in range(5, 8)] == [
        ("(none)", 50000), ("Basic", 20000), ("Pro", 10000),
    ]  # fmt: skip
