"""Issue 20: the importer's identity follows merges (spec §14: a merged customer's code and phone
name the customer it went into) -- a row never updates the merged customer nor makes a new one;
and a customer's other phones are its phones for ``dupes`` and ``add``'s note."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Crm

HEADER = "客户编号,客户名称,联系电话,所属行业,跟进日期,跟进方式,跟进内容\n"


def _merged(crm: Crm) -> None:
    crm.ok("add", "杭州云帆科技有限公司", "--phone", "13857112345")  # KEEP: C202611001
    crm.ok("add", "杭州云帆科技", "--phone", "13857199999")  # OTHER: C202611002
    crm.ok("add", "别的公司", "--phone", "13900000009")  # C202611003, unrelated
    crm.ok("merge", "C202611001", "C202611002")


def _import(crm: Crm, path: Path, body: str, *more: str) -> dict:
    path.write_text(HEADER + body, encoding="utf-8")
    r = crm("import", str(path), "--format", "json", *more)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_rows_of_a_merged_customer_attach_to_the_one_it_went_into(crm: Crm, tmp_path: Path) -> None:
    _merged(crm)
    out = _import(
        crm, tmp_path / "a.csv",
        ",杭州云帆科技,13857199999,,2026-11-01,电话,按旧名和旧电话\n"  # the merged one's name and phone
        ",云帆新名字,13857199999,,2026-11-02,微信,只有旧电话\n"  # its phone under another name
        "C202611002,随便写的,13700000000,,2026-11-03,拜访,旧编号\n",  # its code
    )  # fmt: skip
    assert (out["created"], out["rejected"], out["follow_ups"]) == (0, 0, 3)
    live = crm.json("list")
    assert sorted(c["code"] for c in live) == ["C202611001", "C202611003"]
    keep = crm.json("show", "C202611001")
    assert {f["content"] for f in keep["follow_ups"]} == {"按旧名和旧电话", "只有旧电话", "旧编号"}
    assert (keep["name"], keep["phone"]) == ("杭州云帆科技有限公司", "13857112345")


def test_an_update_of_a_merged_customer_updates_keep_and_leaves_its_identity(
    crm: Crm, tmp_path: Path, crm_env: Path
) -> None:
    import sqlite3

    _merged(crm)
    out = _import(
        crm, tmp_path / "b.csv", "C202611002,杭州云帆科技,13857199999,制造业,,,\n", "--on-duplicate", "update"
    )
    assert (out["created"], out["updated"], out["rejected"]) == (0, 1, 0)
    con = sqlite3.connect(crm_env)
    rows = dict((r[0], r[1:]) for r in con.execute("SELECT code, name, phone, industry, merged_into FROM customer"))
    con.close()
    assert rows["C202611001"] == (
        "杭州云帆科技有限公司",
        "13857112345",
        "制造业",
        None,
    )  # KEEP: only the empty field filled
    assert rows["C202611002"] == ("杭州云帆科技", "13857199999", None, 1)  # the merged one untouched
    # the same file again changes nothing
    again = _import(
        crm, tmp_path / "b.csv", "C202611002,杭州云帆科技,13857199999,制造业,,,\n", "--on-duplicate", "update"
    )
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 1)


def test_a_merged_code_on_someone_elses_name_and_phone_is_a_conflict(crm: Crm, tmp_path: Path) -> None:
    _merged(crm)
    (tmp_path / "c.csv").write_text(HEADER + "C202611002,别的公司,13900000009,,,,\n", encoding="utf-8")
    assert crm("import", str(tmp_path / "c.csv")).exit_code == 1  # its only row rejected
    rejects = (tmp_path / "c.csv.rejects.csv").read_text(encoding="utf-8")
    assert "C202611002 was merged into C202611001" in rejects and "C202611003 别的公司" in rejects


def test_other_phones_are_phones_for_dupes_and_the_add_note(crm: Crm, tmp_path: Path) -> None:
    sheet = tmp_path / "d.csv"
    sheet.write_text("客户名称,联系电话,备用电话\n宏图贸易有限公司,13857112345,057188776655\n", encoding="utf-8")
    assert crm("import", str(sheet)).exit_code == 0  # C202611001 with a second phone
    r = crm("add", "李经理", "--phone", "0571-88776655")  # the second phone under a person's name
    assert r.exit_code == 0 and "C202611001" in r.stderr
    assert [(p["a"], p["b"], p["reasons"]) for p in crm.json("dupes")] == [("C202611001", "C202611002", ["same_phone"])]


def test_a_merge_gives_keep_the_purchase_history_and_stage_of_the_opportunities_it_gains(
    crm: Crm, crm_env: Path
) -> None:
    crm.ok("add", "云帆科技", "--phone", "13857112345")  # KEEP: potential, no orders
    crm.ok("add", "云帆科技有限公司", "--phone", "13857199999")
    crm.ok("stage", "C202611002", "won", "--amount", "5000", "--date", "2026-10-01")
    crm.ok("add", "在谈客户", "--phone", "13857100000")  # C202611003: negotiating, no opportunities
    crm.ok("stage", "C202611003", "negotiating")
    crm.ok("add", "小客户", "--phone", "13857100001")  # C202611004: an open opportunity at intent
    crm.ok("deal", "add", "C202611004", "--name", "小单", "--amount", "100", "--stage", "intent")
    keep_before, other_before = crm.json("show", "C202611001"), crm.json("show", "C202611002")
    crm.ok("merge", "C202611001", "C202611002")
    keep = crm.json("show", "C202611001")
    assert (keep["stage"], keep["orders"], keep["total_amount"], keep["last_order_at"]) == (
        "won",
        1,
        5000,
        "2026-10-01",
    )
    crm.ok("merge", "--undo", "1")
    assert crm.json("show", "C202611001") == keep_before and crm.json("show", "C202611002") == other_before
    # an open opportunity at an earlier stage never takes a customer back
    crm.ok("merge", "C202611003", "C202611004")
    assert crm.json("show", "C202611003")["stage"] == "negotiating"
    crm.ok("merge", "C202611003", "C202611002")  # undone above, so 002 is live again: its won one does
    n = crm.json("show", "C202611003")
    assert (n["stage"], n["orders"], n["total_amount"]) == ("won", 1, 5000)


def test_a_merge_logs_each_tables_moved_rows_as_one_change_and_undo_respects_later_moves(
    crm: Crm, crm_env: Path
) -> None:
    import sqlite3

    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "甲公司分部", "--phone", "13800000002")
    crm.ok("add", "丙公司", "--phone", "13800000003")
    for i in range(3):
        crm.ok("follow", "C202611002", "--content", f"跟进{i}", "--date", f"2026-11-0{i + 1}")
    follow_change = crm.json("history", "C202611002")[-2]["id"]  # the first follow-up's change set (the last: its add)
    crm.ok("merge", "C202611001", "C202611002")
    (merge_set,) = [s for s in crm.json("history") if s["command"] and s["command"].startswith("crm merge")]
    moves = [c for c in merge_set["changes"] if c["op"] == "move"]
    assert [(c["table"], c["rows"], c["fields"]) for c in moves] == [("follow_up", 3, {"customer_id": [2, 1]})]
    assert "C202611001 follow-up: 3 row(s) moved from customer 2 to 1" in crm.ok("history", "--limit", "1")
    con = sqlite3.connect(crm_env)
    assert con.execute(
        "SELECT count(*) FROM change WHERE set_id = ? AND table_name = 'follow_up'", (merge_set["id"],)
    ).fetchone() == (1,)
    con.close()
    # the follow-up's creation cannot be undone quietly: the merge moved it since
    r = crm("undo", str(follow_change))
    assert r.exit_code == 1 and f"change {merge_set['id']} changed follow_up" in r.stderr
    # a second merge moves the same rows on: the first merge cannot be undone under it
    crm.ok("merge", "C202611003", "C202611001")
    r = crm("merge", "--undo", "1")
    assert r.exit_code == 1 and "changed follow_up" in r.stderr and "customer_id" in r.stderr
    crm.ok("merge", "--undo", "2")
    crm.ok("merge", "--undo", "1")
    assert [len(crm.json("show", c)["follow_ups"]) for c in ("C202611001", "C202611002", "C202611003")] == [0, 3, 0]
