"""An empty list says why, in the display language: nothing yet, or nothing matching the filters.
Machine formats stay as they are (an empty JSON array, a CSV header), and so does cron's empty
due list (nothing at all)."""

from __future__ import annotations

import pytest

from tests.conftest import Crm


@pytest.mark.parametrize(
    ("lang", "none_yet", "none_match"),
    [("en", "no customers yet (crm add or crm import adds them)", "no customers match these filters"),
     ("zh", "还没有客户 (用 crm add 或 crm import 添加)", "没有符合这些筛选条件的客户")],
)  # fmt: skip
def test_an_empty_customer_list_says_why(crm: Crm, lang: str, none_yet: str, none_match: str) -> None:
    crm.ok("init")
    assert crm.ok("--lang", lang, "list") == none_yet + "\n"
    crm.ok("add", "甲公司", "--phone", "13800000001")
    assert crm.ok("--lang", lang, "list", "--stage", "won") == none_match + "\n"
    assert crm.json("list", "--stage", "won") == []
    assert crm.ok("list", "--stage", "won", "--format", "csv").startswith("code,name,")
    assert crm.ok("--lang", lang, "list", "--due", "--level", "key") == ""  # cron: nothing due, nothing printed


@pytest.mark.parametrize(
    ("lang", "none_yet", "none_match"),
    [("en", "no opportunities yet (crm deal add records one)", "no opportunities match these filters"),
     ("zh", "还没有销售机会 (用 crm deal add 记录)", "没有符合这些筛选条件的销售机会")],
)  # fmt: skip
def test_an_empty_opportunity_list_says_why(crm: Crm, lang: str, none_yet: str, none_match: str) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    assert crm.ok("--lang", lang, "deal", "list") == none_yet + "\n"
    crm.ok("deal", "add", "甲公司", "--name", "年度采购", "--amount", "5万")
    assert crm.ok("--lang", lang, "deal", "list", "--won") == none_match + "\n"
    assert crm.json("deal", "list", "--won") == []
