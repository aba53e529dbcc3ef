"""Issue 20: service tickets (spec §15), near-duplicates and merge (§14), the calendar (§15), and
migration 0006 on the 0004 release's file (§17)."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from crmcli.store import HEAD
from tests import db_rows
from tests.conftest import Crm
from tests.reliability_support import counts, revision

DATA = Path(__file__).parent / "data"
TABLES = ("customer", "follow_up", "stage_change", "deal", "tag", "ticket", "custom_value")


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(path)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}"), key=repr) for t in TABLES}
    finally:
        con.close()


# --------------------------------------------------------------------------- tickets


def test_ticket_add_update_list_and_bad_input(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "ABC科技", "--phone", "13800000001")
    assert crm.ok("ticket", "add", "ABC", "--type", "物流延迟", "--content", "到货晚", "--handler", "客服").strip() == "T202611001"
    before = dump(crm_env)
    for args, words in (
        (("--satisfaction", "4"), "resolved"),  # a score on an open ticket
        (("--status", "resolved", "--satisfaction", "6"), "1 to 5"),
        (("--status", "resolved", "--satisfaction", "0"), "1 to 5"),
        (("--status", "weird"), "unknown status"),
    ):
        r = crm("ticket", "update", "T202611001", *args)
        assert r.exit_code == 1 and words in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = crm("ticket", "update", "T202611999", "--status", "open")
    assert r.exit_code == 1 and "no ticket T202611999" in r.stderr
    assert dump(crm_env) == before
    crm.ok("ticket", "update", "T202611001", "--status", "已解决", "--satisfaction", "4")
    (t,) = crm.json("ticket", "list")
    assert (t["type"], t["status"], t["satisfaction"], t["resolved_at"]) == ("物流时效", "resolved", 4, "2026-11-26")
    assert crm.json("show", "ABC")["tickets"][0]["code"] == "T202611001"
    assert crm.json("ticket", "list", "--type", "物流延迟")[0]["code"] == "T202611001"  # the alias groups
    assert crm.json("ticket", "list", "--status", "open") == []


def test_bad_input_is_one_line_exit_1_and_writes_nothing(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "乙公司", "--phone", "13800000002")
    crm.ok("add", "丙公司", "--phone", "13800000003")
    crm.ok("ticket", "add", "甲公司", "--type", "产品质量", "--content", "坏了")
    crm.ok("merge", "C202611001", "C202611002")
    before = dump(crm_env)
    for args, words in (
        (("ticket", "update", "T202611001", "--status", "resolved", "--satisfaction", "4.5"), "not a score from 1 to 5"),
        (("ticket", "update", "T202611001", "--status", "resolved", "--satisfaction", "abc"), "not a score from 1 to 5"),
        (("ticket", "update", "T202611001", "--status", "in_progress", "--satisfaction", "3"), "only with a resolved ticket"),
        (("ticket", "update", "X1", "--status", "open"), "no ticket 'X1'"),
        (("ticket", "list", "--status", "weird"), "unknown status 'weird'"),
        (("merge", "C202611003", "C202611003"), "into itself"),
        (("merge", "C202611003", "C202611003", "--dry-run"), "into itself"),
        (("merge", "C202611002", "C202611003"), "C202611002 乙公司 was merged into C202611001"),  # into a merged one
        (("merge", "C202611003", "C202611002"), "C202611002 乙公司 was merged into C202611001"),  # a merged one into another
        (("calendar", "--ics", str(crm_env)), "database"),
        (("calendar", "--ics", f"{crm_env}-wal"), "database"),
    ):
        r = crm(*args)
        assert r.exit_code == 1 and words in r.stderr and r.stderr.count("\n") == 1 and r.stdout == "", (args, r.stderr)
    assert dump(crm_env) == before and crm.json("merges")[0]["undone"] is False and len(crm.json("merges")) == 1


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_report_service_and_complaints(crm: Crm) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "乙公司", "--phone", "13800000002")
    crm.ok("ticket", "add", "甲公司", "--type", "产品质量", "--content", "a", "--date", "2026-10-05", "--handler", "李")
    crm.ok("ticket", "add", "甲公司", "--type", "售后响应", "--content", "b", "--handler", "王")
    crm.ok("ticket", "add", "乙公司", "--type", "产品质量", "--content", "c", "--date", "2026-11-01", "--handler", "李")
    crm.ok("ticket", "add", "乙公司", "--type", "物流时效", "--content", "d", "--date", "2026-11-20")
    crm.ok("ticket", "update", "T202610001", "--status", "resolved", "--satisfaction", "2")
    rep = crm.json("report", "service")
    rows = {r["type"]: r for r in rep["rows"]}
    assert rows["产品质量"] == {"type": "产品质量", "tickets": 2, "open": 1, "resolved": 1, "avg_days_to_resolve": 52.0, "avg_satisfaction": 2.0}
    assert (rep["tickets"], rep["open"], rep["avg_satisfaction"]) == (4, 3, 2.0)
    handlers = {r["handler"]: r["tickets"] for r in crm.json("report", "service", "--by", "handler")["rows"]}
    assert handlers == {"李": 2, "王": 1, None: 1}
    months = crm.json("report", "service", "--by", "month")["rows"]
    assert [(m["month"], m["tickets"], m["avg_satisfaction"]) for m in months] == [("2026-10", 1, 2.0), ("2026-11", 3, None)]
    alerts = {r["code"]: r["complaints"] for r in crm.json("report", "alerts")["rows"]}
    assert alerts == {"C202611002": True}  # 甲's latest two: one resolved; 乙's two: both open
    assert crm("report", "funnel", "--by", "type").exit_code == 2


def test_import_statistics_sheet_makes_tickets_and_undo_removes_them(crm: Crm, tmp_path: Path) -> None:
    sheet = tmp_path / "stats.csv"
    sheet.write_text(
        "客户编号,客户名称,联系电话,所属行业,最近合作时间,反馈问题类型,满意度评分,负责人\n"
        "C202405001,科技有限公司,13800000001,IT服务,2024-05-10,,5,张\n"
        "C202405002,制造厂,13800000002,机械制造,2024-05-08,物流延迟,3,张\n"
        "C202405003,商贸公司,13800000003,零售,2024-04-25,,,张\n"
        "C202405004,教育集团,13800000004,教育培训,2023-09-12,售后响应慢,,王\n"
        "C202405005,坏分数,13800000005,零售,2024-01-01,产品质量,9,王\n",
        encoding="utf-8",
    )
    import json

    r = crm("import", str(sheet), "--format", "json")
    out = json.loads(r.stdout)
    assert r.exit_code == 3 and (out["created"], out["rejected"], out["tickets"]) == (4, 1, 3)
    got = {(t["customer"], t["type"], t["status"], t["satisfaction"], t["opened_at"]) for t in crm.json("ticket", "list")}
    assert got == {
        ("C202405001", "其他", "resolved", 5, "2024-05-10"),
        ("C202405002", "物流时效", "resolved", 3, "2024-05-08"),
        ("C202405004", "售后响应", "open", None, "2023-09-12"),
    }
    assert json.loads(crm("import", str(sheet), "--format", "json").stdout)["tickets"] == 0  # twice adds nothing
    crm.ok("import", "--undo", "1")
    assert crm.json("ticket", "list") == []


# --------------------------------------------------------------------------- dupes and merge


def test_add_notes_a_likely_duplicate_and_dupes_lists_it(crm: Crm) -> None:
    crm.ok("add", "杭州云帆科技有限公司", "--phone", "13857112345")
    r = crm("add", "杭州云帆科技", "--phone", "13857112345")
    assert r.exit_code == 0 and "looks like C202611001" in r.stderr  # a note, never a refusal
    r = crm("add", "云帆科技(杭州)有限公司", "--phone", "13857199999")
    assert r.exit_code == 0 and "C202611001" in r.stderr
    crm.ok("add", "云帆物流", "--phone", "13900000000")  # a look-alike: another trade
    crm.ok("add", "Lee, Tom", "--phone", "13900000001")
    crm.ok("add", "Tom Lee", "--phone", "13900000002")
    pairs = {(p["a"], p["b"]): p for p in crm.json("dupes")}
    assert set(pairs) == {("C202611001", "C202611002"), ("C202611001", "C202611003"), ("C202611002", "C202611003"), ("C202611005", "C202611006")}
    assert pairs["C202611001", "C202611002"]["reasons"] == ["same_phone", "same_core_name"]
    assert pairs["C202611005", "C202611006"]["reasons"] == ["name_order"]
    assert all(0 <= p["score"] <= 1 for p in pairs.values())


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_merge_moves_everything_and_undo_restores_both_exactly(crm: Crm) -> None:
    crm.ok("add", "杭州云帆科技有限公司", "--phone", "13857112345", "--contact", "王总", "--tag", "华东")
    crm.ok("add", "杭州云帆科技", "--phone", "13857112399", "--email", "a@yunfan.example.com", "--tag", "重点", "--tag", "华东")
    crm.ok("follow", "C202611002", "--content", "电话", "--next-date", "+3d")
    crm.ok("stage", "C202611002", "won", "--amount", "5万")
    crm.ok("ticket", "add", "C202611002", "--type", "产品质量", "--content", "坏了")
    before = db_rows.dump(TABLES)
    r = crm("merge", "C202611001", "C202611002")
    assert r.exit_code == 0 and r.stdout.strip() == "1", r.stderr
    show = crm.json("show", "C202611002")  # the old code finds KEEP
    assert show["code"] == "C202611001" and show["email"] == "a@yunfan.example.com" and show["contact"] == "王总"
    assert (len(show["follow_ups"]), len(show["deals"]), len(show["tickets"]), show["tags"]) == (1, 1, 1, ["华东", "重点"])
    assert crm.json("show", "13857112399")["code"] == "C202611001"  # and so does its phone
    assert [c["code"] for c in crm.json("list")] == ["C202611001"] and crm.json("list", "--archived") == []
    assert crm.json("merges") == [{"id": 1, "keep": "C202611001", "other": "C202611002", "at": crm.json("merges")[0]["at"], "by": "alice", "undone": False}]
    for args, words in ((("C202611001", "C202611002"), "merged into C202611001"), (("C202611002", "C202611001"), "merged into"),
                        (("C202611001", "C202611001"), "into itself")):  # fmt: skip
        r = crm("merge", *args)
        assert r.exit_code == 1 and words in r.stderr
    crm.ok("merge", "--undo", "1")
    assert db_rows.dump(TABLES) == before  # both customers and every moved record exactly as they were
    assert crm.json("merges")[0]["undone"] is True
    assert crm("merge", "--undo", "1").exit_code == 1


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_crm_undo_of_the_merge_change_set_agrees_with_merge_undo(crm: Crm) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "甲公司分公司", "--phone", "13800000002")
    crm.ok("follow", "C202611002", "--content", "x")
    before = db_rows.dump(TABLES)
    crm.ok("merge", "C202611001", "C202611002")
    crm.ok("undo")  # the acting user's latest change set: the merge
    assert db_rows.dump(TABLES) == before
    assert crm.json("merges")[0]["undone"] is True and crm("merge", "--undo", "1").exit_code == 1


def test_archived_customers_never_make_a_ref_ambiguous(crm: Crm) -> None:
    crm.ok("add", "杭州云帆科技有限公司", "--phone", "13857112345")
    crm.ok("add", "杭州云帆科技", "--phone", "13857112345")
    assert crm("follow", "13857112345", "--content", "x").exit_code == 1  # two live customers
    crm.ok("archive", "C202611002")
    assert "C202611001" in crm.ok("follow", "13857112345", "--content", "x")
    assert crm.json("show", "杭州云帆科技")["code"] == "C202611002"  # found when it is the only match


def test_dupes_on_the_small_corpus_finds_exactly_the_planted_pairs(crm_env: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.dupes_corpus import codes, make

    from crmcli.services import dupes
    from crmcli.store import open_store

    crm_env.parent.mkdir(parents=True, exist_ok=True)
    planted = codes(make(crm_env.parent / "corpus.db", 2000))
    with open_store(crm_env.parent / "corpus.db").read() as reader:
        found = {(p["a"], p["b"]) for p in dupes.find(reader)}
    assert len(planted) == 100 and found == planted


# --------------------------------------------------------------------------- calendar


def test_calendar_parses_back_with_stable_uids_and_masked_phones(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    from icalendar import Calendar

    crm.ok("add", "甲公司", "--phone", "13800000001", "--contact", "张三")
    crm.ok("follow", "甲公司", "--content", "x", "--next-date", "+5d", "--next-plan", "送报价")
    crm.ok("add", "乙公司", "--phone", "13800000002")  # due today (never followed up)
    crm.ok("add", "丙公司", "--phone", "13800000003")
    crm.ok("follow", "丙公司", "--content", "y", "--next-date", "+40d")  # outside the window
    ics = tmp_path / "crm.ics"
    crm.ok("calendar", "--ics", str(ics))
    events = {str(e["uid"]): e for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    assert set(events) == {"C202611001@crmcli.follow-up", "C202611002@crmcli.follow-up"}
    a = events["C202611001@crmcli.follow-up"]
    assert str(a["dtstart"].dt) == "2026-12-01" and "送报价" in str(a["summary"])
    assert "138****0001" in str(a["description"]) and "张三" in str(a["description"])
    assert str(events["C202611002@crmcli.follow-up"]["dtstart"].dt) == "2026-11-26"
    first = ics.read_bytes()
    crm.ok("calendar", "--ics", str(ics))
    assert ics.read_bytes() == first  # stable: a subscribed calendar updates, never duplicates
    full = Calendar.from_ical(crm.ok("calendar", "--ics", "-", "--no-mask").encode())
    assert any("13800000001" in str(e["description"]) for e in full.walk("VEVENT"))
    db_before = crm_env.read_bytes()
    r = crm("calendar", "--ics", str(crm_env))
    assert r.exit_code == 1 and "database" in r.stderr and crm_env.read_bytes() == db_before


# --------------------------------------------------------------------------- migration 0006


def test_a_0004_database_is_upgraded_to_tickets_and_merges(crm: Crm, crm_env: Path) -> None:
    """Spec §17: the 0004 release's file opens, is backed up and migrated; every record is kept and
    the old import still undoes."""
    crm_env.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "crm_0004.sqlite", crm_env)
    tables = ("customer", "follow_up", "stage_change", "deal", "tag", "import_batch", "batch_change", "custom_value", "change_set", "change")
    before = counts(crm_env, tables)
    old = dump_columns(crm_env)
    crm.ok("list")
    assert revision(crm_env) == HEAD and counts(crm_env, tables) == before
    assert dump_columns(crm_env, old_columns(old)) == old
    assert len(list(crm_env.parent.glob("crm.db.bak-0004-*"))) == 1
    crm.ok("ticket", "add", "ABC科技有限公司", "--type", "产品质量", "--content", "x")
    out = crm.json("import", "--undo", "1")
    assert out["deleted_customers"] >= 1


def dump_columns(path: Path, columns: dict[str, list[str]] | None = None) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    """Every row of the tables a migration must keep, in the columns given (default: all of them),
    so a later file can be compared on the columns the earlier one had."""
    con = sqlite3.connect(path)
    try:
        out = {}
        for t in ("customer", "follow_up", "stage_change", "deal", "tag", "custom_value"):
            cols = columns[t] if columns else [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
            out[t] = (cols, list(con.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY rowid")))
        return out
    finally:
        con.close()


def old_columns(dump: dict[str, tuple[list[str], list[tuple[object, ...]]]]) -> dict[str, list[str]]:
    return {t: cols for t, (cols, _rows) in dump.items()}


@pytest.mark.parametrize("cmd", ["ticket", "dupes", "merge", "merges", "calendar"])
def test_new_commands_have_help(crm: Crm, cmd: str) -> None:
    assert crm(cmd, "--help").exit_code == 0


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_a_merge_undo_a_later_change_conflicts_with_names_the_merge_and_the_flag(crm: Crm) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "甲公司分公司", "--phone", "13800000002", "--email", "a@jia.example.com")
    crm.ok("merge", "C202611001", "C202611002")  # fills KEEP's e-mail
    crm.ok("edit", "C202611001", "--email", "b@jia.example.com")  # a later change to what the merge wrote
    r = crm("merge", "--undo", "1")
    assert r.exit_code == 1 and "cannot undo merge 1 (change " in r.stderr and "--force" in r.stderr, r.stderr
    assert crm.json("merges")[0]["undone"] is False
