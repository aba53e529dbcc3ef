"""Opportunities (销售机会) and products (spec §13): the commands, the customer's stage, purchase
history, corrections and undo (spec §18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Crm
from tests.reliability_support import counts

TABLES = ("customer", "deal", "deal_line", "product", "stage_change", "change_set")


@pytest.fixture
def abc(crm: Crm) -> str:
    return crm.ok("add", "ABC科技有限公司", "--phone", "13956781234", "--owner", "wang").strip()


def card(crm: Crm, ref: str) -> dict:
    return crm.json("show", ref)


def test_add_list_show_with_codes_owner_probability_and_lines(crm: Crm, abc: str) -> None:
    crm.ok("product", "add", "GTX Pro", "--price", "5000", "--code", "P001")
    first = crm.ok("deal", "add", abc, "--name", "2026年设备采购", "--amount", "50万", "--stage", "方案报价",
                   "--expected-close", "2026-12-31").strip()  # fmt: skip
    second = crm.ok("deal", "add", abc, "--name", "续费", "--product", "gtxpro:2", "--product", "GTX Pro:1:4500",
                    "--owner", "李娜", "--date", "2026-11-20").strip()  # fmt: skip
    assert (first, second) == ("O202611001", "O202611002")  # O + YYYYMM of its date + serial
    deals = {d["code"]: d for d in crm.json("deal", "list")}
    one, two = deals[first], deals[second]
    assert (one["stage"], one["amount"], one["probability"], one["owner"]) == ("negotiating", 500000, 60, "wang")
    assert (two["stage"], two["probability"], two["owner"], two["created_at"]) == ("potential", 10, "李娜", "2026-11-20")
    assert two["amount"] == 2 * 5000 + 4500  # the sum of its lines (the list price when a line gives none)
    assert two["products"] == "GTX Pro:2:5000; GTX Pro:1:4500"
    shown = crm.json("deal", "show", second)
    assert shown["lines"] == [
        {"product": "GTX Pro", "quantity": 2, "unit_price": 5000, "amount": 10000},
        {"product": "GTX Pro", "quantity": 1, "unit_price": 4500, "amount": 4500},
    ]
    assert shown["weighted"] == 1450 and shown["customer_code"] == abc
    table = crm.ok("deal", "show", first)
    assert "O202611001" in table and "500,000" in table and "60%" in table
    rec = card(crm, abc)
    assert rec["stage"] == "negotiating"  # the most advanced open opportunity's
    assert [d["code"] for d in rec["deals"]] == [first, second]  # newest first, with their codes
    assert first in crm.ok("show", abc)
    assert [d["code"] for d in crm.json("deal", "list", "--owner", "李娜")] == [second]
    assert crm.json("deal", "list", "--won") == [] and len(crm.json("deal", "list", "--open")) == 2
    csv_out = crm.ok("deal", "list", "--format", "csv").splitlines()
    assert csv_out[0].startswith("code,customer_code,customer_name,name,stage,amount,probability")
    assert [p["name"] for p in crm.json("product", "list")] == ["GTX Pro"]


def test_the_customer_stage_follows_its_opportunities(crm: Crm, abc: str) -> None:
    a = crm.ok("deal", "add", abc, "--name", "A", "--stage", "意向").strip()
    b = crm.ok("deal", "add", abc, "--name", "B", "--stage", "potential").strip()
    assert card(crm, abc)["stage"] == "intent"
    crm.ok("deal", "stage", b, "Proposal")
    assert card(crm, abc)["stage"] == "negotiating"
    crm.ok("deal", "stage", b, "lost", "--reason", "预算取消")
    assert card(crm, abc)["stage"] == "intent"  # the open one left
    crm.ok("deal", "stage", a, "丢单")
    rec = card(crm, abc)
    assert rec["stage"] == "lost" and rec["lost_reason"] is None  # all lost; A was lost without a reason
    crm.ok("deal", "stage", a, "won", "--amount", "3万")
    rec = card(crm, abc)
    assert rec["stage"] == "won" and rec["orders"] == 1 and rec["total_amount"] == 30000
    crm.ok("deal", "add", abc, "--name", "C", "--stage", "intent")
    assert card(crm, abc)["stage"] == "won"  # won once any is won
    crm.ok("stage", abc, "lost", "--reason", "换了供应商")  # a manual stage still sets it
    assert card(crm, abc)["stage"] == "lost"


def test_stage_won_amount_records_a_won_opportunity(crm: Crm, abc: str) -> None:
    out = crm.ok("stage", abc, "won", "--amount", "8万", "--date", "2026-11-20")
    assert "deal 80,000" in out
    (deal,) = crm.json("deal", "list")
    assert (deal["code"], deal["stage"], deal["amount"], deal["closed_at"], deal["owner"]) == (
        "O202611001", "won", 80000, "2026-11-20", "wang")  # fmt: skip
    crm.ok("deal", "delete", deal["code"])  # what made it won goes: the stage goes back
    rec = card(crm, abc)
    assert rec["stage"] == "potential" and rec["stage_changes"] == [] and rec["orders"] == 0 and rec["total_amount"] == 0


def test_delete_puts_back_the_stage_and_undo_puts_back_the_deal(crm: Crm, abc: str, crm_env: Path) -> None:
    crm.ok("stage", abc, "intent")
    code = crm.ok("deal", "add", abc, "--name", "大单", "--amount", "10万", "--stage", "won").strip()
    assert card(crm, abc)["stage"] == "won"
    before = counts(crm_env, TABLES)
    crm.ok("deal", "delete", code)
    rec = card(crm, abc)
    assert rec["stage"] == "intent" and rec["deals"] == [] and rec["total_amount"] == 0
    assert [s["to_stage"] for s in rec["stage_changes"]] == ["intent"]
    crm.ok("undo")
    rec = card(crm, abc)
    assert rec["stage"] == "won" and [d["code"] for d in rec["deals"]] == [code] and rec["total_amount"] == 100000
    assert counts(crm_env, TABLES)["deal"] == before["deal"]
    crm.ok("undo")  # the latest change set not undone yet: the deal add itself
    rec = card(crm, abc)
    assert rec["deals"] == [] and rec["stage"] == "intent" and rec["orders"] == 0


def test_undo_of_a_deal_add_with_lines(crm: Crm, abc: str, crm_env: Path) -> None:
    crm.ok("product", "add", "Basic", "--price", "100")
    before = counts(crm_env, ("deal", "deal_line", "stage_change"))
    crm.ok("deal", "add", abc, "--name", "x", "--product", "Basic:3", "--stage", "won")
    assert card(crm, abc)["main_products"] == ["Basic"]
    crm.ok("undo")
    assert counts(crm_env, ("deal", "deal_line", "stage_change")) == before
    rec = card(crm, abc)
    assert rec["stage"] == "potential" and rec["main_products"] == [] and rec["total_amount"] == 0


def test_edit_changes_fields_and_the_purchase_history(crm: Crm, abc: str) -> None:
    code = crm.ok("deal", "add", abc, "--name", "x", "--amount", "1000", "--stage", "won").strip()
    out = crm.ok("deal", "edit", code, "--amount", "1500", "--name", "修正", "--owner", "李娜")
    assert out.endswith(": Name, Amount, Owner\n")  # the changed fields by their column headers
    assert card(crm, abc)["total_amount"] == 1500
    assert crm.ok("deal", "edit", code, "--amount", "1500").endswith("nothing to change\n")
    crm.ok("undo")
    assert card(crm, abc)["total_amount"] == 1000
    assert crm("deal", "edit", code).exit_code == 2  # nothing said


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["deal", "add", "ABC", "--name", "x", "--stage", "maybe"], ("stage", "maybe")),
        (["deal", "add", "ABC", "--name", "x", "--probability", "120"], ("--probability", "120")),
        (["deal", "add", "ABC", "--name", "x", "--probability", "-1"], ("--probability",)),
        (["deal", "add", "ABC", "--name", "x", "--amount", "-5"], ("--amount", "-5")),
        (["deal", "add", "ABC", "--name", "x", "--product", "Basic:0"], ("--product", "quantity")),
        (["deal", "add", "ABC", "--name", "x", "--product", "Basic:-2"], ("--product", "quantity", "-2")),
        (["deal", "add", "ABC", "--name", "x", "--product", "Nothing"], ("product", "Nothing")),
        (["deal", "add", "nobody", "--name", "x"], ("nobody",)),
        (["deal", "stage", "O209901001", "won", "--amount", "1"], ("O209901001",)),
        (["deal", "show", "O209901001"], ("O209901001",)),
        (["deal", "delete", "O209901001"], ("O209901001",)),
        (["deal", "edit", "O209901001", "--amount", "1"], ("O209901001",)),
        (["deal", "stage", "O202611001", "lost-ish"], ("stage", "lost-ish")),
        (["deal", "edit", "O202611001", "--probability", "101"], ("--probability",)),
        (["deal", "edit", "O202611001", "--amount", "-3"], ("--amount", "-3", "negative")),
        (["deal", "stage", "O202611001", "won", "--amount", "-5"], ("--amount", "-5", "negative")),
        (["deal", "add", "ABC", "--name", "x", "--amount", "lots"], ("--amount", "lots")),
        (["deal", "add", "ABC", "--name", "x", "--product", "Basic:1:-5"], ("--product 'Basic:1:-5'", "price", "negative")),
        (["deal", "add", "ABC", "--name", "x", "--product", "Basic:0.0:10"], ("--product", "quantity", "positive")),
        (["deal", "add", "ABC", "--name", "x", "--stage", "lost", "--probability", "101"], ("--probability", "101")),
        (["deal", "list", "--stage", "maybe"], ("stage", "maybe")),
        (["deal", "list", "--customer", "nobody"], ("nobody",)),
        (["product", "add", "Other", "--price", "-1"], ("--price", "-1", "negative")),
    ],
)
def test_bad_input_is_one_line_exit_1_and_writes_nothing(crm: Crm, abc: str, crm_env: Path, args: list[str], words: tuple[str, ...]) -> None:
    crm.ok("product", "add", "Basic")
    crm.ok("deal", "add", abc, "--name", "已有")
    before = counts(crm_env, TABLES)
    result = crm(*args)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert all(w in result.stderr for w in words), result.stderr
    assert counts(crm_env, TABLES) == before


def test_a_won_amount_that_looks_repeated_or_outsized_needs_yes(crm: Crm, abc: str) -> None:
    crm.ok("deal", "add", abc, "--name", "a", "--amount", "49500", "--stage", "won")
    again = crm("deal", "add", abc, "--name", "a", "--amount", "49500", "--stage", "won")
    assert again.exit_code == 1 and "minute" in again.stderr and "--yes" in again.stderr
    crm.ok("deal", "add", abc, "--name", "a", "--amount", "49500", "--stage", "won", "--yes")
    for i in range(18):
        crm.ok("stage", abc, "won", "--amount", str(1000 + i))
    big = crm.ok("deal", "add", abc, "--name", "big", "--amount", "1e9").strip()  # open: no question yet
    result = crm("deal", "stage", big, "won")
    assert result.exit_code == 1 and "100×" in result.stderr
    crm.ok("deal", "stage", big, "won", "--yes")
    assert crm.json("deal", "show", big)["stage"] == "won"


def test_products_match_by_normalised_name(crm: Crm) -> None:
    crm.ok("product", "add", "GTX Pro", "--price", "5000")
    dup = crm("product", "add", "gtxpro")
    assert dup.exit_code == 1 and "GTX Pro" in dup.stderr
    assert crm("product", "add", "Other", "--price", "-1").exit_code == 1
    crm.ok("product", "add", "Basic", "--code", "p002")
    taken = crm("product", "add", "Basic 2", "--code", "P002")
    assert taken.exit_code == 1 and "P002" in taken.stderr
    assert [(p["code"], p["name"], p["price"]) for p in crm.json("product", "list")] == [("P002", "Basic", None), (None, "GTX Pro", 5000)]


def test_an_opening_balance_that_later_deals_add_to(crm: Crm, tmp_path: Path) -> None:
    """Seed 003: 合作次数 12, 累计消费金额 185,000 imported; a 10,000 deal makes 13 and 195,000."""
    sheet = tmp_path / "统计表.csv"
    sheet.write_text(
        "客户编号,客户名称,联系电话,最近合作时间,合作次数,累计消费金额(元),主要产品/服务\n"
        'C202405001,*科技有限公司,13900000001,2024-05-10,12,"185,000",软件授权、技术支持\n',
        encoding="utf-8",
    )
    crm.ok("import", str(sheet))
    rec = card(crm, "C202405001")
    assert (rec["orders"], rec["total_amount"], rec["last_order_at"]) == (12, 185000, "2024-05-10")
    assert rec["main_products"] == ["软件授权", "技术支持"] and rec["opening_amount"] == 185000
    crm.ok("product", "add", "云服务")
    crm.ok("deal", "add", "C202405001", "--name", "续约", "--amount", "1万", "--stage", "won", "--product", "云服务")
    rec = card(crm, "C202405001")
    assert (rec["orders"], rec["total_amount"], rec["last_order_at"]) == (13, 195000, "2026-11-26")
    assert rec["main_products"] == ["云服务", "软件授权", "技术支持"]
    listed = crm.json("list")[0]
    assert (listed["orders"], listed["total_amount"], listed["main_products"][0]) == (13, 195000, "云服务")
    shown = crm.ok("show", "C202405001")
    assert "195,000" in shown and "云服务" in shown
    assert crm.json("report", "abc")["rows"][0]["amount"] == 195000  # abc ranks by total_amount
    crm.ok("import", str(sheet), "--on-duplicate", "update")  # the same sheet again changes nothing
    assert card(crm, "C202405001")["total_amount"] == 195000
