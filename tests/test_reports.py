"""`crm report KIND` (spec §8) on small hand-built histories; every expected figure is worked out by hand.

Today is frozen at 2026-11-26. A customer's creation date is "today" when it is
added, so the ``History`` helper moves CRM_TODAY to the creation date for the add.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TODAY, Crm


class History:
    """Builds a customer history through the CLI."""

    def __init__(self, crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
        self.crm = crm
        self.monkeypatch = monkeypatch
        self.phone = 13700000000
        crm.ok("init")  # reports only read: the (empty) database must exist (spec §1)

    def add(self, name: str, created: str, *extra: str) -> str:
        self.phone += 1
        self.monkeypatch.setenv("CRM_TODAY", created)
        try:
            return self.crm.ok("add", name, "--phone", str(self.phone), *extra).strip()
        finally:
            self.monkeypatch.setenv("CRM_TODAY", TODAY.isoformat())

    def stage(self, code: str, stage: str, date: str, *extra: str) -> None:
        self.crm.ok("stage", code, stage, "--date", date, *extra)

    def follow(self, code: str, date: str, *extra: str) -> None:
        self.crm.ok("follow", code, "--content", "跟进", "--date", date, *extra)

    def report(self, kind: str, *args: str) -> dict[str, Any]:
        out = json.loads(self.crm.ok("report", kind, *args, "--format", "json"))
        assert set(out) >= {"report", "since", "until", "owner", "rows"} and out["report"] == kind
        return out


@pytest.fixture
def h(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> History:
    return History(crm, monkeypatch)


def pick(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in rows]


# --------------------------------------------------------------------------- funnel


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_funnel_counts_the_stage_history(h: History) -> None:
    c1 = h.add("Only Lead", "2026-01-05")  # potential, never moved
    c2 = h.add("Interested", "2026-01-06")
    h.stage(c2, "intent", "2026-02-01")  # now intent
    c3 = h.add("Winner", "2026-01-07")
    for stage, day in (("intent", "2026-02-01"), ("negotiating", "2026-03-01")):
        h.stage(c3, stage, day)
    h.stage(c3, "won", "2026-04-01", "--amount", "1000")  # now won
    c4 = h.add("Intent Then Lost", "2026-01-08")
    h.stage(c4, "intent", "2026-02-01")
    h.stage(c4, "lost", "2026-03-01", "--reason", "价格太高")  # reached intent, now lost
    c5 = h.add("Skipped Intent", "2026-01-09")
    h.stage(c5, "negotiating", "2026-02-01")
    h.stage(c5, "lost", "2026-03-01", "--reason", "需求变更")  # held negotiating: reached intent and negotiating
    c6 = h.add("Won Then Lost", "2026-01-10")
    h.stage(c6, "won", "2026-02-01", "--amount", "500")
    h.stage(c6, "lost", "2026-06-01", "--reason", "售后响应慢")  # reached everything up to won
    c7 = h.add("Went Back", "2026-01-11")
    h.stage(c7, "intent", "2026-02-01")
    h.stage(c7, "potential", "2026-03-01")  # now potential, but reached intent
    gone = h.add("Archived Winner", "2026-01-12")
    h.stage(gone, "won", "2026-02-01", "--amount", "9999")
    h.crm.ok("archive", gone)
    _ = (c1,)

    out = h.report("funnel")
    # now: potential c1 c7 = 2, intent c2 = 1, negotiating 0, won c3 = 1, lost c4 c5 c6 = 3 (7 customers)
    # reached: potential all 7; intent c2 c3 c4 c5 c6 c7 = 6; negotiating c3 c5 c6 = 3; won c3 c6 = 2; lost 3
    assert pick(out["rows"], "stage", "count", "reached", "conversion") == [
        ("potential", 2, 7, 0.8571),  # 6/7
        ("intent", 1, 6, 0.5),  # 3/6
        ("negotiating", 0, 3, 0.6667),  # 2/3
        ("won", 1, 2, None),
        ("lost", 3, 3, None),
    ]
    assert out["customers"] == 7 and out["won"] == 2 and out["win_rate"] == 0.2857  # 2/7
    # --since selects customers by creation date: c5, c6, c7 (created 01-09 .. 01-11)
    out = h.report("funnel", "--since", "2026-01-09")
    assert pick(out["rows"], "stage", "count", "reached") == [
        ("potential", 1, 3), ("intent", 0, 3), ("negotiating", 0, 2), ("won", 0, 1), ("lost", 2, 2),
    ]  # fmt: skip
    table = h.crm.ok("report", "funnel")
    assert "Potential → won: 28.6% (2 of 7)" in table and "█" in table


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_funnel_empty_and_single(h: History) -> None:
    out = h.report("funnel")
    assert pick(out["rows"], "stage", "count", "reached", "conversion") == [
        ("potential", 0, 0, None), ("intent", 0, 0, None), ("negotiating", 0, 0, None),
        ("won", 0, 0, None), ("lost", 0, 0, None),
    ]  # fmt: skip
    assert out["win_rate"] is None
    assert "no customers yet" in h.crm.ok("report", "funnel")
    assert "nothing in the period 2026-01-01–2026-02-01" in h.crm.ok("report", "funnel", "--since", "2026-01-01", "--until", "2026-02-01")
    h.add("Solo", "2026-11-01")
    assert "no deals yet" in h.crm.ok("report", "abc")  # customers, but nothing won: not "nothing this period"
    assert "nothing in the period 2026-11-02–…" in h.crm.ok("report", "funnel", "--since", "2026-11-02")
    out = h.report("funnel")
    assert pick(out["rows"], "stage", "count", "reached", "conversion") == [
        ("potential", 1, 1, 0.0), ("intent", 0, 0, None), ("negotiating", 0, 0, None),
        ("won", 0, 0, None), ("lost", 0, 0, None),
    ]  # fmt: skip


# --------------------------------------------------------------------------- sources


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_sources_conversion_like_the_seed(h: History) -> None:
    """转介绍客户成交率25%, 高于线上推广的15%."""
    referral = [h.add(f"转介绍{i}", "2026-03-01", "--source", "客户转介绍") for i in range(4)]
    online = [h.add(f"线上{i}", "2026-03-02", "--source", "线上推广") for i in range(20)]
    h.add("No Source", "2026-03-03")
    h.stage(referral[0], "won", "2026-04-01", "--amount", "10万")
    h.stage(referral[0], "won", "2026-09-01", "--amount", "50000")  # a repeat purchase
    for code in online[:3]:
        h.stage(code, "won", "2026-05-01", "--amount", "10000")
    old = h.add("Old Referral", "2025-06-01", "--source", "客户转介绍")  # created before --since below
    h.stage(old, "won", "2026-06-01", "--amount", "7000")

    out = h.report("sources")
    # 客户转介绍: 5 customers (4 + old), won 2 -> 0.4; amount 100000 + 50000 + 7000
    # 线上推广: 20 customers, won 3 -> 0.15; amount 3 x 10000; no source: 1 customer, 0 won
    assert pick(out["rows"], "source", "customers", "won", "conversion", "won_amount") == [
        ("线上推广", 20, 3, 0.15, 30000),
        ("客户转介绍", 5, 2, 0.4, 157000),
        (None, 1, 0, 0.0, 0),
    ]
    out = h.report("sources", "--since", "2026-01-01")
    # customers by creation: the old referral drops out of the counts (4 customers, 1 won = 25%) ...
    # ... but its deal of 2026-06-01 is an event in the period and still counts in won_amount
    assert pick(out["rows"], "source", "customers", "won", "conversion", "won_amount") == [
        ("线上推广", 20, 3, 0.15, 30000),
        ("客户转介绍", 4, 1, 0.25, 157000),
        (None, 1, 0, 0.0, 0),
    ]
    assert out["best_source"] == "客户转介绍" and out["best_conversion"] == 0.25
    table = h.crm.ok("report", "sources", "--since", "2026-01-01")
    assert "客户转介绍 converts best: 25%, ahead of 线上推广 at 15%" in table
    zh = h.crm.ok("--lang", "zh", "report", "sources", "--since", "2026-01-01")
    assert "客户转介绍 成交率最高: 25%, 高于 线上推广 的 15%" in zh and "成交率" in zh
    # deals before --since do not count; --until cuts the repeat purchase of 09-01
    out = h.report("sources", "--since", "2026-01-01", "--until", "2026-08-31")
    assert pick(out["rows"], "source", "won_amount") == [("线上推广", 30000), ("客户转介绍", 107000), (None, 0)]


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_sources_empty_and_single(h: History) -> None:
    out = h.report("sources")
    assert out["rows"] == [] and out["best_source"] is None
    code = h.add("Solo", "2026-10-01", "--source", "展会推广")
    h.stage(code, "won", "2026-10-02", "--amount", "1234.5")
    out = h.report("sources")
    assert pick(out["rows"], "source", "customers", "won", "conversion", "won_amount") == [
        ("展会推广", 1, 1, 1.0, 1234.5)
    ]


# --------------------------------------------------------------------------- owners


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_owners_follow_ups_due_and_follow_rate(h: History) -> None:
    # wang: 3 customers
    w1 = h.add("W1", "2026-10-01", "--owner", "wang", "--level", "key")
    h.follow(w1, "2026-11-20")  # next 11-27: not due, not overdue
    h.follow(w1, "2026-09-01")  # a follow-up dated before --since below
    w2 = h.add("W2", "2026-10-02", "--owner", "wang")
    h.follow(w2, "2026-11-01")  # next 11-15: due and overdue (11 days)
    w3 = h.add("W3", "2026-10-03", "--owner", "wang")
    h.follow(w3, "2026-11-12")  # next 11-26: due today, not overdue
    h.stage(w3, "won", "2026-11-12", "--amount", "8000")
    # li: 2 customers, one lost (no longer counts for due or follow rate)
    l1 = h.add("L1", "2026-10-04", "--owner", "li")  # never followed: due since 10-04, overdue
    l2 = h.add("L2", "2025-12-01", "--owner", "li")  # created before --since below
    h.follow(l2, "2026-10-10")
    h.stage(l2, "lost", "2026-10-20", "--reason", "联系不上")
    gone = h.add("Gone", "2026-10-05", "--owner", "li")  # archived: nowhere
    h.follow(gone, "2026-10-06")
    h.crm.ok("archive", gone)
    _ = l1

    out = h.report("owners")
    # wang: customers 3, follow-ups 4, due 2 (w2, w3), won 1, amount 8000, open 3 of which 1 overdue -> 2/3
    # li: customers 2, follow-ups 1, due 1 (l1), won 0, open 1 (l2 is lost) overdue 1 -> 0/1 = 0
    assert pick(out["rows"], "owner", "customers", "follow_ups", "due", "won", "won_amount", "follow_rate") == [
        ("wang", 3, 4, 2, 1, 8000, 0.6667),
        ("li", 2, 1, 1, 0, 0, 0.0),
    ]
    assert out["follow_rate"] == 0.5  # (3 - 1 + 1 - 1) / 4 open customers
    # the period: customers by creation, follow-ups by their date; due and follow rate are about today
    out = h.report("owners", "--since", "2026-10-01")
    assert pick(out["rows"], "owner", "customers", "follow_ups", "due", "follow_rate") == [
        ("wang", 3, 3, 2, 0.6667),
        ("li", 1, 1, 1, 0.0),
    ]
    out = h.report("owners", "--owner", "li")
    assert out["owner"] == ["li"] and pick(out["rows"], "owner", "customers") == [("li", 2)]
    out = h.report("owners", "--mine")
    assert out["owner"] == ["alice"] and out["rows"] == []
    table = h.crm.ok("report", "owners")
    assert "wang leads with ¥8,000 won; follow-up rate 50% overall, lowest li 0%" in table


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_owners_single_and_empty(h: History) -> None:
    assert h.report("owners")["rows"] == []
    h.add("Solo", "2026-11-26")  # owner alice (CRM_USER); due today, not overdue
    out = h.report("owners")
    assert pick(out["rows"], "owner", "customers", "follow_ups", "due", "won", "won_amount", "follow_rate") == [
        ("alice", 1, 0, 1, 0, 0, 1.0)
    ]


# --------------------------------------------------------------------------- industries


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_industries_shares(h: History) -> None:
    for i in range(3):
        h.add(f"M{i}", "2026-05-01", "--industry", "制造业")
    h.add("R0", "2026-05-02", "--industry", "零售业")
    h.add("X0", "2026-05-03", "--industry", "ＩＴ服务")  # width-normalised: IT服务
    h.add("X1", "2026-06-03", "--industry", "IT服务")
    h.add("None", "2026-06-04")
    gone = h.add("Gone", "2026-06-05", "--industry", "零售业")
    h.crm.ok("archive", gone)
    out = h.report("industries")
    # 7 customers: 制造业 3/7, IT服务 2/7, 零售业 1/7, none 1/7 (ties by name, none last)
    assert pick(out["rows"], "industry", "customers", "share") == [
        ("制造业", 3, 0.4286), ("IT服务", 2, 0.2857), ("零售业", 1, 0.1429), (None, 1, 0.1429),
    ]  # fmt: skip
    out = h.report("industries", "--since", "2026-06-01")
    assert pick(out["rows"], "industry", "customers", "share") == [("IT服务", 1, 0.5), (None, 1, 0.5)]
    assert "制造业 is the largest industry: 42.9% of 7 customers" in h.crm.ok("report", "industries")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_industries_empty_and_single(h: History) -> None:
    assert h.report("industries")["rows"] == []
    h.add("Solo", "2026-05-01", "--industry", "餐饮")
    assert pick(h.report("industries")["rows"], "industry", "customers", "share") == [("餐饮", 1, 1.0)]


# --------------------------------------------------------------------------- abc


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_abc_classes_on_cumulative_share_before(h: History) -> None:
    codes = [h.add(f"V{i}", "2026-01-01") for i in range(6)]
    h.stage(codes[0], "won", "2026-02-01", "--amount", "30")
    h.stage(codes[0], "won", "2026-03-01", "--amount", "20")  # 50 in two deals
    for code, amount in zip(codes[1:5], ("20", "15", "10", "5"), strict=True):
        h.stage(code, "won", "2026-02-01", "--amount", amount)
    h.stage(codes[5], "won", "2025-06-01", "--amount", "1000")  # before --since below
    # without a period V5 dominates: 1000 of 1100
    out = h.report("abc", "--since", "2026-01-01")
    # total 100: shares .5 .2 .15 .1 .05, cumulative .5 .7 .85 .95 1
    # cumulative before: 0 -> A, .5 -> A, .7 (not < .7) -> B, .85 -> B, .95 -> C
    assert pick(out["rows"], "code", "amount", "share", "cumulative", "class") == [
        (codes[0], 50, 0.5, 0.5, "A"),
        (codes[1], 20, 0.2, 0.7, "A"),
        (codes[2], 15, 0.15, 0.85, "B"),
        (codes[3], 10, 0.1, 0.95, "B"),
        (codes[4], 5, 0.05, 1.0, "C"),
    ]
    assert out["amount"] == 100 and out["class_a"] == {"customers": 2, "amount": 70, "share": 0.7, "customer_share": 0.4}
    out = h.report("abc", "--since", "2026-01-01", "--a", "0.5", "--b", "0.8")
    # before: 0 -> A, .5 -> B, .7 -> B, .85 -> C, .95 -> C
    assert [r["class"] for r in out["rows"]] == ["A", "B", "B", "C", "C"]
    out = h.report("abc")
    assert pick(out["rows"], "code", "class")[:2] == [(codes[5], "A"), (codes[0], "C")]  # 0 -> A; 1000/1100 = .91 -> C
    table = h.crm.ok("report", "abc", "--since", "2026-01-01")
    assert "A: 2 customers (40%) bring 70% of the amount won" in table
    rows = list(csv.DictReader(io.StringIO(h.crm.ok("report", "abc", "--since", "2026-01-01", "--format", "csv"))))
    assert list(rows[0]) == ["code", "name", "amount", "share", "cumulative", "class"]
    assert rows[0]["amount"] == "50" and rows[0]["class"] == "A"


def test_abc_ties_by_code_single_and_empty(h: History) -> None:
    assert h.report("abc")["rows"] == []
    a = h.add("Tie A", "2026-01-01")
    b = h.add("Tie B", "2026-01-01")
    h.stage(b, "won", "2026-02-01", "--amount", "100")
    out = h.report("abc")
    assert pick(out["rows"], "code", "share", "cumulative", "class") == [(b, 1.0, 1.0, "A")]  # no deal: not listed
    h.stage(a, "won", "2026-02-01", "--amount", "100")
    out = h.report("abc")
    assert pick(out["rows"], "code", "cumulative", "class") == [(a, 0.5, "A"), (b, 1.0, "A")]  # 0 and .5 < .7


# --------------------------------------------------------------------------- lost


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_lost_reasons_like_the_seed(h: History) -> None:
    """30%流失客户因售后响应慢."""
    reasons = ["售后响应慢"] * 3 + ["价格太高"] * 4 + ["选择了竞品"] * 2 + ["需求变更"]
    for i, reason in enumerate(reasons):
        code = h.add(f"Lost{i}", "2025-01-01")
        h.stage(code, "lost", "2026-03-01" if i else "2025-12-01", "--reason", reason)  # Lost0 lost in 2025
    back = h.add("Came Back", "2025-01-01")
    h.stage(back, "lost", "2026-02-01", "--reason", "价格太高")
    h.stage(back, "intent", "2026-04-01")  # not lost any more
    out = h.report("lost")
    assert pick(out["rows"], "reason", "customers", "share") == [
        ("价格太高", 4, 0.4), ("售后响应慢", 3, 0.3), ("选择了竞品", 2, 0.2), ("需求变更", 1, 0.1),
    ]  # fmt: skip
    # the period selects by the date the customer was lost: Lost0 (2025-12-01) drops out
    out = h.report("lost", "--since", "2026-01-01")
    assert pick(out["rows"], "reason", "customers", "share") == [
        ("价格太高", 4, 0.4444), ("售后响应慢", 2, 0.2222), ("选择了竞品", 2, 0.2222), ("需求变更", 1, 0.1111),
    ]  # fmt: skip
    zh = h.crm.ok("--lang", "zh", "report", "lost")
    assert "首要流失原因: 价格太高, 占 40% (共 10 个流失客户)" in zh


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_lost_empty_and_single(h: History) -> None:
    assert h.report("lost")["rows"] == []
    code = h.add("Solo", "2026-01-01")
    h.stage(code, "lost", "2026-02-01", "--reason", "预算取消")
    assert pick(h.report("lost")["rows"], "reason", "customers", "share") == [("预算取消", 1, 1.0)]


# --------------------------------------------------------------------------- trend


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_trend_per_month_with_gaps_filled(h: History) -> None:
    a = h.add("A", "2026-07-03")
    b = h.add("B", "2026-07-20")
    h.add("C", "2026-09-01")
    h.follow(a, "2026-07-05")
    h.follow(a, "2026-07-28")
    h.follow(b, "2026-09-30")
    h.stage(a, "won", "2026-09-15", "--amount", "1000")
    h.stage(a, "won", "2026-11-02", "--amount", "500")
    gone = h.add("Gone", "2026-08-01")
    h.follow(gone, "2026-08-02")
    h.stage(gone, "won", "2026-08-03", "--amount", "99")
    h.crm.ok("archive", gone)
    out = h.report("trend")
    # from the first month with data (07) to this month (11); 08 and 10 are empty (the archived one is left out)
    assert pick(out["rows"], "month", "new_customers", "follow_ups", "won_deals", "won_amount") == [
        ("2026-07", 2, 2, 0, 0),
        ("2026-08", 0, 0, 0, 0),
        ("2026-09", 1, 1, 1, 1000),
        ("2026-10", 0, 0, 0, 0),
        ("2026-11", 0, 0, 1, 500),
    ]
    assert (out["new_customers"], out["follow_ups"], out["won_deals"], out["won_amount"]) == (3, 3, 2, 1500)
    out = h.report("trend", "--since", "2026-07-10", "--until", "2026-09-20")
    assert pick(out["rows"], "month", "new_customers", "follow_ups", "won_deals", "won_amount") == [
        ("2026-07", 1, 1, 0, 0),  # B created 07-20, follow-up 07-28
        ("2026-08", 0, 0, 0, 0),
        ("2026-09", 1, 0, 1, 1000),  # the 09-30 follow-up is after --until
    ]
    out = h.report("trend", "--owner", "alice", "--since", "2026-09-01")
    assert pick(out["rows"], "month", "new_customers", "follow_ups", "won_deals") == [
        ("2026-09", 1, 1, 1), ("2026-10", 0, 0, 0), ("2026-11", 0, 0, 1),
    ]  # fmt: skip
    assert "¥1,500 won; best month 2026-09: ¥1,000" in h.crm.ok("report", "trend")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_trend_empty_and_single(h: History) -> None:
    assert h.report("trend")["rows"] == []
    out = h.report("trend", "--since", "2026-10-15")
    assert pick(out["rows"], "month", "new_customers") == [("2026-10", 0), ("2026-11", 0)]
    h.add("Solo", "2026-11-26")
    assert pick(h.report("trend")["rows"], "month", "new_customers", "follow_ups") == [("2026-11", 1, 0)]


# --------------------------------------------------------------------------- forecast


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_forecast_weighted_by_stage(h: History, tmp_path: Path) -> None:
    p = h.add("P", "2026-01-01", "--amount", "10000", "--expected-close", "2026-12-10")
    i = h.add("I", "2026-01-01", "--amount", "20000", "--expected-close", "2026-12-20")
    h.stage(i, "intent", "2026-02-01")
    n = h.add("N", "2026-01-01", "--amount", "50000", "--expected-close", "2027-01-05")
    h.stage(n, "negotiating", "2026-02-01")
    w = h.add("W", "2026-01-01", "--amount", "90000", "--expected-close", "2026-12-01")
    h.stage(w, "won", "2026-03-01", "--amount", "90000")  # won: not open
    h.add("Undated", "2026-01-01", "--amount", "7000")  # no expected close: last row
    _ = p
    out = h.report("forecast")
    # 2026-12: 10000 x .1 + 20000 x .3 = 7000; 2027-01: 50000 x .6 = 30000; no date: 7000 x .1 = 700
    assert pick(out["rows"], "month", "customers", "amount", "weighted") == [
        ("2026-12", 2, 30000, 7000), ("2027-01", 1, 50000, 30000), (None, 1, 7000, 700),
    ]  # fmt: skip
    assert (out["amount"], out["weighted"]) == (87000, 37700)
    out = h.report("forecast", "--until", "2026-12-31")  # the period is the expected-close date
    assert pick(out["rows"], "month", "weighted") == [("2026-12", 7000)]
    (tmp_path / "crm.toml").write_text("[probability]\nintent = 0.5\n", encoding="utf-8")
    out = h.report("forecast")
    assert pick(out["rows"], "month", "weighted")[0] == ("2026-12", 11000)  # 1000 + 20000 x .5
    assert "Weighted pipeline ¥37,700 of ¥87,000 (4 open opportunities, 4 customers)" not in h.crm.ok("report", "forecast")
    (tmp_path / "crm.toml").unlink()
    assert "Weighted pipeline ¥37,700 of ¥87,000 (4 open opportunities, 4 customers)" in h.crm.ok("report", "forecast")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_forecast_empty_and_single(h: History) -> None:
    assert h.report("forecast")["rows"] == []
    h.add("Solo", "2026-01-01", "--amount", "1万", "--expected-close", "2027-03-31")
    assert pick(h.report("forecast")["rows"], "month", "customers", "amount", "weighted") == [
        ("2027-03", 1, 10000, 1000)
    ]


# --------------------------------------------------------------------------- alerts


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_alerts_dormant_stale_overdue(h: History) -> None:
    # today - 90 = 2026-08-28, today - 180 = 2026-05-30
    dormant = h.add("Dormant", "2026-01-01")
    h.stage(dormant, "won", "2026-03-01", "--amount", "5000")
    h.follow(dormant, "2026-08-28")  # exactly 90 days ago: dormant, idle 90
    active = h.add("Active Won", "2026-01-01")
    h.stage(active, "won", "2026-03-01", "--amount", "5000")
    h.follow(active, "2026-08-29")  # 89 days: fine
    repeat = h.add("Repeat Buyer", "2026-01-01")
    h.stage(repeat, "won", "2026-09-01", "--amount", "5000")  # a recent deal is activity too: fine
    stale = h.add("Stale Lead", "2026-01-01")
    h.follow(stale, "2026-05-30")  # 180 days: stale
    never = h.add("Never Called", "2026-05-30")  # never followed: created 180 days ago -> stale
    fresh = h.add("Fresh Lead", "2026-05-31")  # 179 days: not stale
    key = h.add("Key Late", "2026-11-01", "--level", "key")
    h.follow(key, "2026-11-18")  # next 11-25: overdue
    key_today = h.add("Key Today", "2026-11-01", "--level", "key")
    h.follow(key_today, "2026-11-19")  # next 11-26: due today, not overdue
    key_lost = h.add("Key Lost", "2026-01-01", "--level", "key")
    h.stage(key_lost, "lost", "2026-02-01", "--reason", "x")
    _ = (active, repeat, fresh, key_today)

    out = h.report("alerts")
    assert pick(out["rows"], "code", "idle_days", "dormant", "stale", "overdue", "quiet") == [
        (stale, 180, False, True, False, False),
        (never, 180, False, True, False, False),  # same idle days: by code
        (dormant, 90, True, False, False, True),
        (active, 89, False, False, False, True),  # followed up, but no won deal since 03-01: quiet
        (key, 8, False, False, True, False),
    ]
    assert (out["customers"], out["dormant"], out["stale"], out["overdue"], out["quiet"]) == (5, 1, 2, 1, 2)
    assert out["rows"][2]["last_deal_at"] == "2026-03-01" and out["rows"][4]["next_follow_at"] == "2026-11-25"
    table = h.crm.ok("report", "alerts")
    assert "1 dormant · 2 stale · 1 key customers overdue · 0 with unresolved complaints · 2 quiet for 90 days" in table
    out = h.report("alerts", "--since", "2026-05-01")  # customers created since
    assert [r["code"] for r in out["rows"]] == [never, key]


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_alerts_quiet_counts_won_opportunities_only(h: History) -> None:
    # today - 90 = 2026-08-28: a won opportunity closed on or before it leaves a won customer quiet
    edge = h.add("Edge", "2026-01-01")
    h.stage(edge, "won", "2026-08-28", "--amount", "1000")  # exactly 90 days: quiet
    recent = h.add("Recent", "2026-01-01")
    h.stage(recent, "won", "2026-08-29", "--amount", "1000")  # 89 days: not quiet
    busy = h.add("Busy", "2026-01-01")
    h.stage(busy, "won", "2026-05-01", "--amount", "1000")
    h.follow(busy, "2026-11-20")  # followed up this week: not dormant, still quiet
    h.crm.ok("deal", "add", busy, "--name", "续约", "--amount", "500", "--stage", "intent", "--date", "2026-11-01")  # open: no order
    lost = h.add("Lost Again", "2026-01-01")
    h.stage(lost, "won", "2026-04-01", "--amount", "1000")
    h.crm.ok("deal", "add", lost, "--name", "二期", "--amount", "800", "--stage", "lost", "--date", "2026-11-10")  # lost: no order
    h.follow(lost, "2026-11-10")
    out = h.report("alerts")  # most idle first: Edge 90 days (never followed), Lost Again 16, Busy 6
    assert pick(out["rows"], "code", "idle_days", "last_deal_at", "dormant", "quiet") == [
        (edge, 90, "2026-08-28", True, True),
        (lost, 16, "2026-04-01", False, True),
        (busy, 6, "2026-05-01", False, True),
    ]
    assert (out["customers"], out["quiet"], out["dormant"]) == (3, 3, 1) and recent not in {r["code"] for r in out["rows"]}
    assert "近3个月无合作 3" in h.crm.ok("--lang", "zh", "report", "alerts")


def test_alerts_empty_and_single(h: History) -> None:
    assert h.report("alerts")["rows"] == []
    code = h.add("Solo", "2026-01-01", "--level", "key")  # potential, never followed, key: stale and overdue
    assert pick(h.report("alerts")["rows"], "code", "idle_days", "dormant", "stale", "overdue") == [
        (code, 329, False, True, True)
    ]
    rows = list(csv.DictReader(io.StringIO(h.crm.ok("report", "alerts", "--format", "csv"))))
    assert rows[0]["stale"] == "true" and rows[0]["dormant"] == "false"


# --------------------------------------------------------------------------- the command


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_unknown_kind_and_bad_options_are_usage_errors(crm: Crm) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    result = crm("report", "pipelines")
    assert result.exit_code == 2 and "unknown report 'pipelines'" in result.stderr and "funnel" in result.stderr
    assert crm("report", "funnel", "--a", "0.5").exit_code == 2
    result = crm("report", "abc", "--a", "0.9", "--b", "0.8")
    assert result.exit_code == 2 and "0 < a < b <= 1" in result.stderr
    result = crm("report", "trend", "--since", "2026-05-01", "--until", "2026-04-01")
    assert result.exit_code == 2 and "after --until" in result.stderr
    assert crm("report", "trend", "--since", "05/06/2026").exit_code == 1  # ambiguous date
    assert crm("report", "funnel", "--format", "xml").exit_code == 2
    assert crm.ok("report", "FUNNEL", "--format", "json")  # the kind is case-insensitive


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_kinds_are_one_list() -> None:
    from crmcli.cli.reports import KINDS
    from crmcli.services import deal_reports, reports

    assert KINDS == reports.KINDS == tuple(reports.SPECS)
    assert sorted(KINDS) == sorted([*reports.BUILDERS, *deal_reports.BUILDERS])


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_json_envelope(h: History) -> None:
    h.add("A", "2026-03-01", "--owner", "wang")
    out = h.report("industries", "--since", "2026-01-01", "--until", "2026-12-31", "--owner", "wang")
    assert out["since"] == "2026-01-01" and out["until"] == "2026-12-31" and out["owner"] == ["wang"]
    assert out["rows"] == [{"industry": None, "customers": 1, "share": 1.0}]
    assert h.report("industries")["owner"] is None


def _chart_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))


@pytest.mark.parametrize(
    ("kind", "tag"),
    [("funnel", "barChart"), ("sources", "barChart"), ("owners", "barChart"), ("industries", "pieChart"),
     ("lost", "pieChart"), ("trend", "lineChart"), ("forecast", "barChart"), ("abc", "pieChart"), ("alerts", "barChart")],
)  # fmt: skip
def test_xlsx_has_a_native_chart(h: History, tmp_path: Path, kind: str, tag: str) -> None:
    a = h.add("=HYPERLINK(\"x\")", "2026-01-01", "--industry", "制造业", "--source", "展会推广", "--level", "key",
              "--amount", "1000", "--expected-close", "2026-12-01")  # fmt: skip
    h.add("B", "2026-02-01", "--industry", "零售业", "--amount", "500", "--expected-close", "2027-01-01")
    h.stage(a, "won", "2026-03-01", "--amount", "1000")
    lost = h.add("C", "2026-02-01")
    h.stage(lost, "lost", "2026-03-01", "--reason", "价格太高")
    path = tmp_path / f"{kind}.xlsx"
    assert h.crm.ok("report", kind, "--xlsx", str(path)).strip() == f"Wrote {path}"
    assert re.search(rf"<(c:)?{tag}>", _chart_xml(path))
    from openpyxl import load_workbook

    ws = load_workbook(path).active
    assert ws["A1"].value and ws["A4"].value  # headline, then the header row
    if kind == "abc":
        assert ws["B5"].value == '=HYPERLINK("x")' and ws["B5"].data_type == "s"  # text, never a formula


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_xlsx_empty_report_has_no_chart(crm: Crm, tmp_path: Path) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    path = tmp_path / "empty.xlsx"
    crm.ok("--lang", "zh", "report", "trend", "--xlsx", str(path))
    from openpyxl import load_workbook

    assert load_workbook(path).active["A1"].value == "还没有客户"  # no period given: why it is empty
    assert _chart_xml(path) == ""
    result = crm("report", "trend", "--xlsx", str(tmp_path / "no" / "such" / "dir.xlsx"))
    assert result.exit_code == 1 and "cannot write" in result.stderr


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_report_path_imports_no_openpyxl_nor_alembic(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "A", "--phone", "13800000001")  # the database exists: no migration needed
    code = (
        "import sys\n"
        "from crmcli.cli import app\n"
        "try:\n"
        "    app(['report', 'alerts', '--format', 'json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print([m for m in ('openpyxl', 'alembic', 'sqlmodel', 'crmcli.models') if m in sys.modules], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_per_customer_tables_show_the_first_rows_and_say_so() -> None:
    import datetime as dt

    from crmcli import report_view
    from crmcli.services import reports

    rows = [{"code": f"C{i:03d}", "name": "x", "amount": 101 - i, "share": 0.01, "cumulative": 0.01, "class": "A"}
            for i in range(101)]  # fmt: skip
    rep = reports.Report("abc", reports.Params(today=dt.date(2026, 11, 26)), rows)
    headers, cells, bars, right, footer = report_view.table_cells(rep, "en")
    assert len(cells) == report_view.TABLE_ROWS == 100 and bars[0] == 101
    assert footer == "… 1 more rows not shown; --format csv or --xlsx FILE gives them all"
    assert headers == ["Code", "Name", "Amount", "Share", "Cumulative", "Class"] and right[2] and not right[0]
    assert report_view.table_cells(reports.Report("abc", rep.params, rows[:100]), "en")[4] is None


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_sources_headline_on_a_tie(h: History) -> None:
    for source in ("展会推广", "客户转介绍"):
        code = h.add(f"{source}客户", "2026-03-01", "--source", source)
        h.stage(code, "won", "2026-04-01", "--amount", "100")
    h.add("线上客户", "2026-03-01", "--source", "线上推广")
    # both 1 of 1 = 100%; equal customers too, so the order of rows decides (by name)
    assert "客户转介绍 converts best: 100%, level with 展会推广" in h.crm.ok("report", "sources")
    assert "客户转介绍 成交率最高: 100%, 与 展会推广 并列" in h.crm.ok("--lang", "zh", "report", "sources")
