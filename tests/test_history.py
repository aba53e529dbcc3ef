"""Corrections, history and undo (spec §18)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from crmcli.store import HEAD
from tests.conftest import Crm
from tests.reliability_support import counts, revision

DATA = Path(__file__).parent / "data"


@pytest.fixture
def abc(crm: Crm) -> str:
    return crm.ok("add", "ABC科技有限公司", "--phone", "13956781234", "--tag", "vip").strip()


def card(crm: Crm, ref: str) -> dict:
    return crm.json("show", ref)


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_every_writing_command_is_one_change_set_with_its_command(crm: Crm, abc: str) -> None:
    crm.ok("follow", abc, "-c", "电话沟通", "--next-date", "+3d")
    crm.ok("stage", abc, "won", "--amount", "5万")
    crm.ok("edit", abc, "--contact", "李四")
    crm.ok("edit", abc, "--contact", "李四")  # nothing to change: no change set
    sets = crm.json("history")
    assert [s["command"].split()[1] for s in sets] == ["edit", "stage", "follow", "add"]
    assert all(s["user"] == "alice" for s in sets)
    edit = sets[0]
    assert edit["changes"] == [{"table": "customer", "row": 1, "op": "update", "customer": abc, "fields": {"contact": [None, "李四"]}}]
    stage = {(c["table"], c["op"]) for c in sets[1]["changes"]}
    assert stage == {("stage_change", "insert"), ("customer", "update"), ("deal", "insert")}
    table = crm.ok("history", abc)
    assert "crm edit" in table and "contact" in table and "李四" in table
    assert [s["id"] for s in crm.json("history", "--limit", "1")] == [sets[0]["id"]]
    assert crm.json("history", "--by", "bob") == []


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_undo_takes_back_the_latest_and_can_itself_be_undone(crm: Crm, abc: str) -> None:
    crm.ok("edit", abc, "--level", "key", "--contact", "王五")
    out = crm.ok("undo")
    assert "Undid change" in out
    rec = card(crm, abc)
    assert rec["level"] == "normal" and rec["contact"] is None
    latest = crm.json("history", "--limit", "1")[0]
    assert latest["command"] == "crm undo"
    crm.ok("undo", str(latest["id"]))  # redo
    rec = card(crm, abc)
    assert rec["level"] == "key" and rec["contact"] == "王五"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_undo_puts_back_what_depended_on_it(crm: Crm, abc: str) -> None:
    crm.ok("follow", abc, "-c", "first", "--date", "2026-11-20", "--next-date", "2026-11-23")
    crm.ok("follow", abc, "-c", "second", "--date", "2026-11-25", "--next-date", "2026-12-01")
    assert card(crm, abc)["next_follow_at"] == "2026-12-01"
    crm.ok("undo")
    rec = card(crm, abc)
    assert [f["content"] for f in rec["follow_ups"]] == ["first"]
    assert rec["last_follow_at"] == "2026-11-20" and rec["next_follow_at"] == "2026-11-23"
    crm.ok("stage", abc, "won", "--amount", "49500")
    crm.ok("undo")
    rec = card(crm, abc)
    assert rec["stage"] == "potential" and rec["deals"] == [] and rec["stage_changes"] == []
    assert crm.json("report", "trend")["won_amount"] == 0


def test_undo_refuses_when_a_later_change_touched_the_same_fields(crm: Crm, abc: str, crm_env: Path) -> None:
    crm.ok("edit", abc, "--contact", "甲")
    first = crm.json("history", "--limit", "1")[0]["id"]
    crm.ok("edit", abc, "--contact", "乙")
    crm.ok("edit", abc, "--level", "key")  # another field: no conflict with the contact
    before = counts(crm_env)
    result = crm("undo", str(first))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert f"change {first + 1}" in result.stderr and "contact" in result.stderr and "--force" in result.stderr
    assert counts(crm_env) == before and card(crm, abc)["contact"] == "乙"
    dry = crm.json("undo", str(first), "--dry-run")
    assert dry["conflicts"] and dry["steps"] == ["restore customer 1: contact '甲' → None"]
    crm.ok("undo", str(first), "--force")
    assert card(crm, abc)["contact"] is None and card(crm, abc)["level"] == "key"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_undoing_an_add_refuses_while_the_customer_has_later_records(crm: Crm, abc: str) -> None:
    crm.ok("follow", abc, "-c", "later")
    add = crm.json("history")[-1]["id"]
    result = crm("undo", str(add))
    assert result.exit_code == 1 and "follow_up" in result.stderr
    assert card(crm, abc)["follow_ups"]


@pytest.mark.parametrize("args", [["undo", "999"], ["follow", "edit", "999", "-c", "x"], ["follow", "delete", "999"]])
@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_unknown_numbers_are_one_line(crm: Crm, abc: str, args: list[str]) -> None:
    result = crm(*args)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "999" in result.stderr


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_follow_edit_and_delete_move_the_dates(crm: Crm, abc: str) -> None:
    out = crm.ok("follow", abc, "-c", "打错了客户", "--date", "2026-11-25", "--next-date", "2026-11-28")
    number = int(out.split("#")[1].split()[0])
    assert f"#{number}" in crm.ok("show", abc)  # show numbers the follow-ups
    crm.ok("follow", "edit", str(number), "--date", "2026-11-21", "--content", "电话沟通")
    rec = card(crm, abc)
    assert rec["follow_ups"][0]["content"] == "电话沟通" and rec["last_follow_at"] == "2026-11-21"
    bad = crm("follow", "edit", str(number), "--date", "2026-12-30")
    assert bad.exit_code == 2 and "future" in bad.stderr
    crm.ok("follow", "delete", str(number))
    rec = card(crm, abc)
    assert rec["follow_ups"] == [] and rec["last_follow_at"] is None and rec["next_follow_at"] == rec["created_at"]
    crm.ok("undo")
    assert card(crm, abc)["follow_ups"][0]["content"] == "电话沟通"
    crm.ok("archive", abc)
    refused = crm("follow", "delete", str(number))
    assert refused.exit_code == 1 and "archived" in refused.stderr


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_a_lost_reason_is_corrected_without_a_second_stage_change(crm: Crm, abc: str) -> None:
    crm.ok("stage", abc, "lost", "--reason", "价个太高")
    out = crm.ok("stage", abc, "lost", "--reason", "价格太高")
    assert "corrected" in out
    rec = card(crm, abc)
    assert rec["lost_reason"] == "价格太高" and len(rec["stage_changes"]) == 1
    assert rec["stage_changes"][0]["reason"] == "价格太高"
    assert crm.json("report", "lost")["rows"][0]["reason"] == "价格太高"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_a_repeated_deal_needs_yes_from_a_script(crm: Crm, abc: str) -> None:
    crm.ok("stage", abc, "won", "--amount", "49500")
    again = crm("stage", abc, "成交", "--amount", "49500")
    assert again.exit_code == 1 and "minute" in again.stderr and "--yes" in again.stderr
    assert len(card(crm, abc)["deals"]) == 1
    crm.ok("stage", abc, "won", "--amount", "49500", "--yes")
    assert len(card(crm, abc)["deals"]) == 2
    crm.ok("stage", abc, "won", "--amount", "300")  # another amount: a repeat purchase
    assert len(card(crm, abc)["deals"]) == 3


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_an_outsized_deal_needs_yes_once_there_are_twenty(crm: Crm, abc: str) -> None:
    for i in range(20):
        crm.ok("stage", abc, "won", "--amount", str(1000 + i), "--date", f"2026-10-{i + 1:02d}")
    result = crm("stage", abc, "won", "--amount", "1e9")
    assert result.exit_code == 1 and "100×" in result.stderr
    crm.ok("stage", abc, "won", "--amount", "1e9", "--yes")
    assert crm("stage", abc, "won", "--amount", "100000").exit_code == 0  # under 100×: no question


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_import_undo_is_the_same_machinery(crm: Crm, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("客户名称,联系电话\n甲公司,13800000001\n乙公司,13800000002\n", encoding="utf-8")
    batch = json.loads(crm.ok("import", str(src), "--format", "json"))["batch"]
    sets = crm.json("history")
    assert sets[0]["kind"] == "import" and sets[0]["batch_id"] == batch and sets[0]["command"].startswith("crm import")
    crm.ok("undo")  # the latest change set is the import
    assert crm.json("list") == []
    assert crm.json("history")[1]["undone"] is True
    again = crm("import", "--undo", str(batch))
    assert again.exit_code == 1 and "already undone" in again.stderr


def test_a_0003_database_is_upgraded_to_the_change_log(crm: Crm, crm_env: Path) -> None:
    """Spec §17: the 0003 release's file opens, is backed up, migrated; its import batch is a change
    set that undoes as before; custom values and every record are kept."""
    crm_env.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "crm_0003.sqlite", crm_env)
    tables = ("customer", "follow_up", "stage_change", "deal", "tag", "import_batch", "batch_change", "custom_value")
    before = counts(crm_env, tables)
    sets = crm.json("history")
    assert revision(crm_env) == HEAD and counts(crm_env, tables) == before
    assert len(list(crm_env.parent.glob("crm.db.bak-0003-*"))) == 1
    assert [s["kind"] for s in sets] == ["import"] and sets[0]["batch_id"] == 1
    listed = {r["name"]: r for r in crm.json("list")}
    # its custom field 客户所属区域 became the built-in region (0007); the money field stayed custom
    assert listed["ABC科技有限公司"]["region"] == "华东" and listed["ABC科技有限公司"]["fields"] == {"budget": 120000}
    assert {f["key"]: f["hidden"] for f in crm.json("field", "list")} == {"region": True, "budget": False}
    out = crm.json("import", "--undo", "1")
    assert out["deleted_customers"] >= 1
    con = sqlite3.connect(crm_env)
    assert con.execute("SELECT undone_at FROM import_batch WHERE id = 1").fetchone()[0] is not None


def test_history_lines_name_tables_fields_and_values_in_the_display_language(
    crm: Crm, abc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.ok("follow", abc, "-c", "电话沟通")
    crm.ok("stage", abc, "negotiating")
    crm.ok("archive", abc)
    crm.ok("undo")
    monkeypatch.setenv("CRM_LANG", "zh")
    zh = crm.ok("history")
    assert "客户 1: 已归档: 否 → 是" in zh and "(已撤销)" in zh
    assert "客户 1: 当前销售阶段: 潜在客户 → 谈判中" in zh
    assert "跟进 1 已新增" in zh and "阶段变更 1 已新增" in zh
    for raw in ("follow_up", "stage_change", "archived", "added", "potential", "undone"):
        assert raw not in zh, raw
    monkeypatch.setenv("CRM_LANG", "en")
    en = crm.ok("history")
    assert "customer 1: Archived: no → yes" in en and "follow-up 1 added" in en
    assert "customer 1: Stage: Potential → Negotiating" in en
