"""crm import --undo BATCH: puts back exactly what one import created or changed (spec §9)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Crm
from tests.test_import import db_counts, snapshot, xlsx


def _import(crm: Crm, path: Path, *args: str) -> dict:
    result = crm("import", str(path), "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_undo_deletes_what_the_batch_created(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    crm.ok("add", "老客户", "--phone", "13900000000")
    before = snapshot(crm_env)
    rows = [["客户名称", "联系电话", "跟进日期", "跟进内容", "标签", "当前销售阶段", "成交日期", "预计成交金额"],
            ["A公司", "13800000001", "2026-11-01", "电话", "华东", "成交", "2026-11-01", "5万"],
            ["B公司", "13800000002", "2026-11-02", "拜访", "", "意向", "", ""]]  # fmt: skip
    out = _import(crm, xlsx(tmp_path / "a.xlsx", rows))
    assert out["created"] == 2 and db_counts(crm_env)["deal"] == 1
    undone = json.loads(crm.ok("import", "--undo", str(out["batch"]), "--format", "json"))
    assert undone["deleted_customers"] == 2 and undone["deleted_follow_ups"] == 2
    assert snapshot(crm_env) == before
    listing = crm.json("imports")
    assert listing[0]["undone_at"] is not None
    again = crm("import", "--undo", str(out["batch"]))
    assert again.exit_code == 1 and "already undone" in again.stderr
    # the same file imports again, with the same codes
    assert _import(crm, xlsx(tmp_path / "a.xlsx", rows))["created"] == 2


def test_undo_after_later_edits_to_other_customers(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    old = crm.ok("add", "老客户", "--phone", "13900000000").strip()
    out = _import(crm, xlsx(tmp_path / "a.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"]]))
    crm.ok("edit", old, "--level", "key")
    later = crm.ok("add", "新客户", "--phone", "13700000000").strip()
    crm.ok("follow", old, "-c", "later call")
    crm.ok("import", "--undo", str(out["batch"]))
    names = {c["name"] for c in crm.json("list")}
    assert names == {"老客户", "新客户"}
    assert crm.json("show", old)["level"] == "key" and len(crm.json("show", old)["follow_ups"]) == 1
    assert crm.json("show", later)["code"] == later


def test_undo_of_an_update_restores_the_old_values(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001", "--level", "key", "--tag", "老", "--stage", "intent").strip()
    crm.ok("follow", code, "-c", "first", "--date", "2026-10-01")
    before = snapshot(crm_env)
    rows = [["客户编号", "客户名称", "联系电话", "客户等级", "备注", "标签", "当前销售阶段", "跟进日期", "跟进内容"],
            [code, "A公司", "13800000009", "普通", "新备注", "新", "谈判中", "2026-11-20", "updated by import"]]  # fmt: skip
    out = _import(crm, xlsx(tmp_path / "u.xlsx", rows), "--on-duplicate", "update")
    assert out["updated"] == 1 and out["follow_ups"] == 1
    changed = crm.json("show", code)
    assert changed["phone"] == "13800000009" and changed["level"] == "normal" and changed["stage"] == "negotiating"
    assert changed["tags"] == ["新", "老"] and changed["last_follow_at"] == "2026-11-20" and len(changed["stage_changes"]) == 1
    undone = json.loads(crm.ok("import", "--undo", str(out["batch"]), "--format", "json"))
    assert undone["restored_customers"] == 1 and undone["deleted_customers"] == 0
    assert snapshot(crm_env) == before
    restored = crm.json("show", code)
    assert restored["last_follow_at"] == "2026-10-01" and restored["phone"] == "13800000001"


def test_undo_keeps_fields_edited_after_the_import(crm: Crm, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001", "--level", "key").strip()
    rows = [["客户名称", "联系电话", "客户等级", "备注"], ["A公司", "13800000001", "普通", "from import"]]
    out = _import(crm, xlsx(tmp_path / "u.xlsx", rows), "--on-duplicate", "update")
    crm.ok("edit", code, "--level", "potential")  # the user changed it again since
    result = crm("import", "--undo", str(out["batch"]))
    assert result.exit_code == 0 and f"{code} level" in result.stderr
    card = crm.json("show", code)
    assert card["level"] == "potential" and card["notes"] is None


def test_undo_refused_when_created_customers_have_later_records(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    out = _import(crm, xlsx(tmp_path / "a.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"], ["B公司", "13800000002"]]))
    crm.ok("follow", "A公司", "-c", "manual follow-up after the import")
    before = db_counts(crm_env)
    result = crm("import", "--undo", str(out["batch"]))
    assert result.exit_code == 1 and "A公司" in result.stderr and "--force" in result.stderr and "B公司" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, spec §10
    assert db_counts(crm_env) == before
    crm.ok("import", "--undo", str(out["batch"]), "--force")
    assert crm.json("list") == [] and db_counts(crm_env)["follow_up"] == 0


def test_undo_refused_when_a_later_import_changed_its_customers(crm: Crm, tmp_path: Path) -> None:
    first = _import(crm, xlsx(tmp_path / "a.xlsx", [["客户名称", "联系电话", "客户等级"], ["A公司", "13800000001", "B"]]))
    second = _import(crm, xlsx(tmp_path / "b.xlsx", [["客户名称", "联系电话", "客户等级"], ["A公司", "13800000001", "A"]]), "--on-duplicate", "update")
    assert second["updated"] == 1
    assert crm("import", "--undo", str(first["batch"])).exit_code == 1
    crm.ok("import", "--undo", str(second["batch"]))
    assert crm.json("show", "A公司")["level"] == "normal"
    crm.ok("import", "--undo", str(first["batch"]))
    assert crm.json("list") == []


def test_undo_unknown_batch_and_usage(crm: Crm, tmp_path: Path) -> None:
    result = crm("import", "--undo", "42")
    assert result.exit_code == 1 and "no import batch 42" in result.stderr
    assert crm("import").exit_code == 2
    assert crm("import", str(tmp_path / "x.csv"), "--undo", "1").exit_code == 2


def test_dry_run_and_rejected_imports_leave_no_batch(crm: Crm, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "a.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"]])
    assert crm("import", str(path), "--dry-run").exit_code == 0
    assert crm("import", str(xlsx(tmp_path / "b.xlsx", [["客户名称", "联系电话"], ["A公司", "1"]]))).exit_code == 1
    assert crm.json("imports") == []


def test_undo_of_a_batch_recorded_by_an_earlier_release_one_row_per_customer(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    import sqlite3

    before = snapshot(crm_env) if crm_env.exists() else None
    out = _import(crm, xlsx(tmp_path / "a.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"], ["B公司", "13800000002"]]))
    con = sqlite3.connect(crm_env)  # as the release before wrote it: a row per created customer
    ((first, until),) = con.execute("SELECT row_id, json_extract(before, '$.until') FROM batch_change WHERE table_name = 'customers'")
    assert until - first == 2
    con.execute("DELETE FROM batch_change WHERE table_name = 'customers'")
    con.executemany("INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'customer', ?, NULL)",
                    [(out["batch"], i) for i in range(first, until)])  # fmt: skip
    con.commit()
    con.close()
    undone = json.loads(crm.ok("import", "--undo", str(out["batch"]), "--format", "json"))
    assert undone["deleted_customers"] == 2 and crm.json("list") == []
    assert before is None or snapshot(crm_env) == before
