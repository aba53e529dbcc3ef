"""The everyday loop, end to end through the CLI: add, edit, follow, stage, list, show, archive."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import Crm

# The same command tests on SQLite and on PostgreSQL (spec §16: same commands, same outputs).
BOTH = pytest.mark.usefixtures("backend")


def add(crm: Crm, name: str, phone: str, *extra: str) -> str:
    out = crm.ok("add", name, "--phone", phone, *extra)
    return out.strip()


def test_add_prints_code_alone_when_piped(crm: Crm) -> None:
    code = add(crm, "ABC科技有限公司", "13812345678", "--contact", "张伟", "--level", "重点")
    assert code == "C202611001"
    second = add(crm, "B商贸公司", "13900001111")
    assert second == "C202611002"
    rec = crm.json("show", code)
    assert rec["name"] == "ABC科技有限公司"
    assert rec["level"] == "key"
    assert rec["stage"] == "potential"
    assert rec["owner"] == "alice"
    assert rec["created_at"] == "2026-11-26"


@BOTH
def test_add_duplicate_exits_1_and_writes_nothing(crm: Crm) -> None:
    code = add(crm, "ABC科技", "138 1234 5678")
    result = crm("add", " abc科技 ", "--phone", "+86 13812345678")
    assert result.exit_code == 1
    assert code in result.stderr and "already exists" in result.stderr
    assert result.stdout == ""
    assert len(crm.json("list")) == 1


@BOTH
def test_add_same_name_other_phone_is_another_customer(crm: Crm) -> None:
    add(crm, "ABC科技", "13812345678")
    add(crm, "ABC科技", "13812345679")
    assert len(crm.json("list")) == 2


def test_add_missing_fields_not_a_terminal_is_usage_error(crm: Crm) -> None:
    result = crm("add", "ABC科技")
    assert result.exit_code == 2
    assert "--phone" in result.stderr
    result = crm("add")
    assert result.exit_code == 2
    assert "NAME" in result.stderr


def test_add_prompts_on_a_terminal(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    import crmcli.cli.customers as mod

    monkeypatch.setattr(mod, "interactive", lambda: True)
    result = crm("add", input="Prompted Co\n13812345678\n")
    assert result.exit_code == 0, result.stderr
    assert crm.json("show", "Prompted Co")["phone"] == "13812345678"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--stage", "maybe"], "unknown stage 'maybe'"),
        (["--level", "Z"], "unknown level 'Z'"),
        (["--amount", "lots"], "lots"),
        (["--expected-close", "05/08/2024"], "ambiguous"),
        (["--email", "not-an-email"], "e-mail"),
    ],
)
def test_add_bad_values_exit_1_with_one_line(crm: Crm, args: list[str], needle: str) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    result = crm("add", "X公司", "--phone", "13812345678", *args)
    assert result.exit_code == 1
    assert needle in result.stderr
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr
    assert crm.json("list") == []


def test_add_short_phone_rejected(crm: Crm) -> None:
    result = crm("add", "X公司", "--phone", "138")
    assert result.exit_code == 1
    assert "7 digits" in result.stderr


@BOTH
def test_add_with_code_kept_if_free(crm: Crm) -> None:
    assert add(crm, "A公司", "13800000001", "--code", "c202001007") == "C202001007"
    result = crm("add", "B公司", "--phone", "13800000002", "--code", "C202001007")
    assert result.exit_code == 1 and "already used" in result.stderr


@BOTH
def test_codes_grow_a_fourth_digit_past_999(crm: Crm) -> None:
    add(crm, "A公司", "13800000001", "--code", "C202611999")
    assert add(crm, "B公司", "13800000002") == "C2026111000"
    assert add(crm, "C公司", "13800000003") == "C2026111001"


@BOTH
def test_ref_resolution_order_and_ambiguity(crm: Crm) -> None:
    a = add(crm, "ＸＹＺ贸易", "13800000001")
    b = add(crm, "XYZ科技", "010-12345678")
    add(crm, "Other", "13800000003")
    assert crm.json("show", a.lower())["code"] == a  # code, any case
    assert crm.json("show", "xyz贸易")["code"] == a  # exact normalised name
    assert crm.json("show", "(010) 1234-5678")["code"] == b  # phone
    assert crm.json("show", "科技")["code"] == b  # unique part of the name
    result = crm("show", "XYZ")
    assert result.exit_code == 1
    assert "matches 2 customers" in result.stderr
    assert a in result.stderr and b in result.stderr
    missing = crm("show", "nobody")
    assert missing.exit_code == 1 and "no customer matches 'nobody'" in missing.stderr


@BOTH
def test_edit_fields_tags_and_dedup(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001", "--tag", "华东,高预算")
    add(crm, "B公司", "13800000002")
    out = crm.ok("edit", a, "--industry", "制造业", "--add-tag", "决策周期长", "--remove-tag", "华东")
    assert out == f"Updated {a}: Industry, Tags\n"  # the changed fields by their column headers
    rec = crm.json("show", a)
    assert rec["industry"] == "制造业"
    assert rec["tags"] == sorted(["高预算", "决策周期长"])
    clash = crm("edit", a, "--name", "B公司", "--phone", "13800000002")
    assert clash.exit_code == 1 and "another customer" in clash.stderr
    assert crm.json("show", a)["name"] == "A公司"
    assert "nothing to change" in crm.ok("edit", a, "--industry", "制造业")


@BOTH
def test_edit_stage_records_stage_change_but_lost_needs_stage_command(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    crm.ok("edit", a, "--stage", "意向")
    rec = crm.json("show", a)
    assert rec["stage"] == "intent"
    assert rec["stage_changes"][0]["from_stage"] == "potential"
    result = crm("edit", a, "--stage", "lost")
    assert result.exit_code == 2


@BOTH
def test_follow_moves_last_and_next_dates(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001", "--level", "key")
    crm.ok("follow", a, "--content", "电话沟通, 要报价", "--method", "电话", "--date", "2026-11-20")
    rec = crm.json("show", a)
    assert rec["last_follow_at"] == "2026-11-20"
    assert rec["next_follow_at"] == "2026-11-27"  # key cadence: 7 days
    crm.ok("follow", a, "-c", "发了报价", "--next-date", "+3d", "--next-plan", "确认报价", "--feedback", "积极")
    rec = crm.json("show", a)
    assert rec["last_follow_at"] == "2026-11-26"
    assert rec["next_follow_at"] == "2026-11-29"
    assert rec["follow_ups"][0]["feedback"] == "positive"
    assert rec["follow_ups"][0]["next_plan"] == "确认报价"
    assert rec["follow_ups"][0]["by"] == "alice"
    # an older follow-up entered later does not become the latest
    crm.ok("follow", a, "-c", "补记", "--date", "2026-11-01")
    assert crm.json("show", a)["last_follow_at"] == "2026-11-26"


@BOTH
def test_follow_with_stage_and_errors(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    out = crm.ok("follow", a, "-c", "谈价格", "--stage", "谈判")
    assert "stage Potential → Negotiating" in out  # stages as tables show them
    assert crm.json("show", a)["stage"] == "negotiating"
    bad = crm("follow", a, "-c", "x", "--method", "pigeon")
    assert bad.exit_code == 1 and "unknown method 'pigeon'" in bad.stderr
    bad = crm("follow", a, "-c", "x", "--date", "someday")
    assert bad.exit_code == 1 and "someday" in bad.stderr
    assert len(crm.json("show", a)["follow_ups"]) == 1


@BOTH
def test_stage_won_deals_and_lost_reason(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    crm.ok("stage", a, "won", "--amount", "5万", "--date", "2026-10-01")
    crm.ok("stage", a, "成交", "--amount", "¥1,200.50")  # repeat purchase
    rec = crm.json("show", a)
    assert [d["amount"] for d in rec["deals"]] == [1200.5, 50000.0]
    assert len(rec["stage_changes"]) == 1
    again = crm("stage", a, "won")
    assert again.exit_code == 1 and "already" in again.stderr
    nolost = crm("stage", a, "lost")
    assert nolost.exit_code == 2 and "--reason" in nolost.stderr
    crm.ok("stage", a, "流失", "--reason", "预算取消")
    rec = crm.json("show", a)
    assert rec["stage"] == "lost" and rec["lost_reason"] == "预算取消"
    assert rec["stage_changes"][0] == {
        "date": "2026-11-26", "from_stage": "won", "to_stage": "lost", "by": "alice", "reason": "预算取消"
    }
    wrong = crm("stage", a, "intent", "--amount", "100")
    assert wrong.exit_code == 2


@BOTH
def test_archive_hides_but_keeps(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    add(crm, "B公司", "13800000002")
    crm.ok("archive", a)
    assert [r["code"] for r in crm.json("list")] != [a]
    assert a not in [r["code"] for r in crm.json("list")]
    assert [r["code"] for r in crm.json("list", "--archived")] == [a]
    assert crm.json("show", a)["archived"] is True  # archived customers still resolve
    assert "already archived" in crm.ok("archive", a)
    crm.ok("unarchive", a)
    assert len(crm.json("list")) == 2


def _seed(crm: Crm) -> dict[str, str]:
    codes = {
        "a": add(crm, "A公司", "13800000001", "--stage", "intent", "--source", "展会推广", "--owner", "bob", "--tag", "vip"),
        "b": add(crm, "B公司", "13800000002", "--level", "key", "--industry", "零售业", "--need", "收银系统"),
        "c": add(crm, "C公司", "13800000003", "--contact", "王芳"),
    }
    return codes


@BOTH
def test_list_filters(crm: Crm) -> None:
    c = _seed(crm)
    codes = lambda *args: [r["code"] for r in crm.json("list", *args)]  # noqa: E731
    assert codes() == [c["a"], c["b"], c["c"]]
    assert codes("--stage", "意向") == [c["a"]]
    assert codes("--level", "key") == [c["b"]]
    assert codes("--source", "展会推广") == [c["a"]]
    assert codes("--owner", "bob") == [c["a"]]
    assert codes("--mine") == [c["b"], c["c"]]
    assert codes("--tag", "vip") == [c["a"]]
    assert codes("--search", "收银") == [c["b"]]
    assert codes("--search", "王芳") == [c["c"]]
    assert codes("--search", "0000003") == [c["c"]]
    assert codes("--industry", "零售业") == [c["b"]]
    assert codes("--since", "2026-11-26", "--until", "today") == [c["a"], c["b"], c["c"]]
    assert codes("--since", "tomorrow") == []
    assert codes("--sort", "-name", "--limit", "2") == [c["c"], c["b"]]
    bad = crm("list", "--sort", "colour")
    assert bad.exit_code == 2 and "--sort" in bad.stderr


@BOTH
def test_list_formats(crm: Crm) -> None:
    _seed(crm)
    rows = list(csv.DictReader(io.StringIO(crm.ok("list", "--format", "csv"))))
    assert rows[0]["stage"] == "intent" and rows[0]["tags"] == "vip"
    assert rows[1]["level"] == "key"
    tsv = crm.ok("list", "--format", "tsv").splitlines()
    assert tsv[0].split("\t")[:3] == ["code", "name", "contact"]
    assert len(tsv) == 4
    data = crm.json("list")
    assert data[0]["tags"] == ["vip"] and data[0]["amount"] is None
    for key in ("code", "name", "contact", "title", "phone", "email", "industry", "source", "level", "stage",
                "owner", "need", "tags", "notes", "created_at", "last_follow_at", "next_follow_at"):
        assert key in data[0]
    table = crm.ok("list")
    assert "Intent" in table and "A公司" in table and "\x1b[" not in table
    zh = crm.ok("--lang", "zh", "list")
    assert "意向客户" in zh and "客户编号" in zh
    assert crm("list", "--format", "xml").exit_code == 2


def test_list_table_not_cut_when_piped(crm: Crm) -> None:
    long_need = "需要" + "很长的需求描述" * 30
    add(crm, "A公司", "13800000001", "--need", long_need)
    out = crm.ok("list", "--format", "table")
    assert max(len(line) for line in out.splitlines()) > 80


@BOTH
def test_mask_never_leaks_phone(crm: Crm) -> None:
    add(crm, "A公司", "13812345678", "--email", "zhang@example.com")
    for fmt in ("table", "json", "csv", "tsv"):
        out = crm.ok("list", "--mask", "--format", fmt)
        assert "13812345678" not in out and "1234" not in out
        assert "138****5678" in out
    rec = json.loads(crm.ok("show", "A公司", "--mask", "--format", "json"))
    assert rec["email"] == "z***@example.com"


@BOTH
def test_show_table_timeline(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    crm.ok("follow", a, "-c", "第一次电话", "--date", "2026-11-01", "-m", "phone")
    crm.ok("stage", a, "won", "--amount", "1000", "--date", "2026-11-10")
    out = crm.ok("show", a)
    assert "Timeline" in out
    lines = out.splitlines()
    won = next(i for i, line in enumerate(lines) if "2026-11-10" in line)
    first = next(i for i, line in enumerate(lines) if "第一次电话" in line)
    assert won < first  # newest first


@BOTH
def test_due_list_and_cron_silence(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001", "--level", "key")
    assert crm.ok("list", "--due", "--format", "table").strip() != ""  # never followed: due from creation
    crm.ok("follow", a, "-c", "ok", "--next-date", "2026-12-05")
    result = crm("list", "--due")
    assert result.exit_code == 0 and result.stdout == ""
    rows = crm.json("list", "--due", "--within", "9")
    assert [r["code"] for r in rows] == [a] and rows[0]["overdue_days"] == -9


def test_database_created_private(crm: Crm, crm_env: Path) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    crm.ok("list")
    assert stat.S_IMODE(os.stat(crm_env).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(crm_env.parent).st_mode) == 0o700


def test_db_flag_beats_env_and_config(crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "crm.toml"
    conf.write_text(f'db = "{tmp_path / "conf.db"}"\nuser = "carol"\nlang = "zh"\n', encoding="utf-8")
    monkeypatch.delenv("CRM_DB")
    monkeypatch.delenv("CRM_USER")
    monkeypatch.delenv("CRM_LANG")
    add(crm, "A公司", "13800000001")
    assert (tmp_path / "conf.db").exists()
    assert crm.json("show", "A公司")["owner"] == "carol"
    assert "客户编号" in crm.ok("list")
    monkeypatch.setenv("CRM_USER", "dave")
    add(crm, "B公司", "13800000002")
    assert crm.json("show", "B公司")["owner"] == "dave"
    crm.ok("--db", str(tmp_path / "flag.db"), "--user", "erin", "add", "C公司", "--phone", "13800000003")
    assert (tmp_path / "flag.db").exists()
    assert crm.json("--db", str(tmp_path / "flag.db"), "show", "C公司")["owner"] == "erin"


def test_db_url_that_cannot_connect_is_one_line_naming_host_and_database(crm: Crm) -> None:
    pytest.importorskip("psycopg")
    result = crm("--db", "postgresql+psycopg://ann:s3cret@/nosuchdb?host=/nonexistent-dir&port=1", "list")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "database nosuchdb" in result.stderr and "/nonexistent-dir" in result.stderr
    assert "s3cret" not in result.stderr and "ann:***@" in result.stderr


def test_db_url_of_another_kind_refused(crm: Crm) -> None:
    result = crm("--db", "mysql://x/y", "list")
    assert result.exit_code == 2 and "postgresql+psycopg://" in result.stderr


def test_debug_shows_traceback(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DEBUG", "1")
    from crmcli.errors import NotFound

    with pytest.raises(NotFound):
        crm("show", "nobody")


@BOTH
def test_prose_kept_as_typed(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001", "--need", "采购礼盒，预算5万：含LOGO")
    crm.ok("follow", a, "-c", "  客户反馈：方案可以，下周确认  ", "--next-plan", "发送（修改版）方案")
    rec = crm.json("show", a)
    assert rec["need"] == "采购礼盒，预算5万：含LOGO"
    assert rec["follow_ups"][0]["content"] == "客户反馈：方案可以，下周确认"
    assert rec["follow_ups"][0]["next_plan"] == "发送（修改版）方案"


def test_plain_table_aligns_cjk_columns() -> None:
    from crmcli.render import plain_table, text_width

    assert text_width("ABC科技") == 7
    out = plain_table(["Code", "名称", "N"], [["C1", "ABC科技", "5"], ["C22", "ｘ", "10"]], [False, False, True])
    lines = out.splitlines()
    assert lines[0] == " Code   名称       N"
    assert lines[2] == " C1     ABC科技    5"
    assert lines[3] == " C22    ｘ        10"
    assert set(lines[1]) == {"━"}
    assert all(line == line.rstrip() for line in lines)


@BOTH
def test_due_list_honours_other_filters(crm: Crm) -> None:
    k = add(crm, "重点公司", "13800000001", "--level", "key", "--source", "展会推广")
    n = add(crm, "普通公司", "13800000002", "--source", "展会推广")
    assert [r["code"] for r in crm.json("list", "--due")] == [k, n]
    assert [r["code"] for r in crm.json("list", "--due", "--level", "key")] == [k]
    csv_out = crm.ok("list", "--due", "--level", "normal", "--format", "csv")
    assert n in csv_out and k not in csv_out
    assert crm("list", "--due", "--archived").exit_code == 2
    assert crm("list", "--due", "--sort", "name").exit_code == 2
    result = crm("list", "--due", "--source", "nowhere")
    assert result.exit_code == 0 and result.stdout == ""


@pytest.mark.parametrize("args", [["export", "-"], ["list", "--format", "csv"], ["list"], ["export", "-", "--format", "json"]])
def test_reader_closing_the_pipe_is_not_an_error(tmp_path: Path, args: list[str]) -> None:
    """`crm ... | head -1`: exit 0, nothing on stderr (no traceback from a dangling cursor)."""
    import subprocess
    import sys

    src = tmp_path / "many.csv"
    src.write_text("客户名称,联系电话\n" + "".join(f"公司{i},138{i:08d}\n" for i in range(20000)), encoding="utf-8")
    env = {**os.environ, "CRM_DB": str(tmp_path / "pipe.db")}
    subprocess.run([sys.executable, "-m", "crmcli", "import", str(src)], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "crmcli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away
    err = proc.stderr.read().decode()
    assert proc.wait() == 0, err
    assert err == ""


@BOTH
def test_lost_reason_leaves_with_the_lost_stage(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    crm.ok("stage", a, "lost", "--reason", "价格")
    crm.ok("stage", a, "won", "--amount", "100")
    rec = crm.json("show", a)
    assert rec["stage"] == "won" and rec["lost_reason"] is None
    assert rec["stage_changes"][1]["reason"] == "价格"  # the history keeps it


def test_future_event_dates_are_refused(crm: Crm) -> None:
    a = add(crm, "A公司", "13800000001")
    follow = crm("follow", a, "-c", "x", "--date", "tomorrow")
    assert follow.exit_code == 2 and "--next-date" in follow.stderr
    stage = crm("stage", a, "won", "--amount", "100", "--date", "2027-05-01")
    assert stage.exit_code == 1 and "future" in stage.stderr
    empty = crm("follow", a, "-c", "x", "--date", "")
    assert empty.exit_code == 1
    rec = crm.json("show", a)
    assert rec["follow_ups"] == [] and rec["deals"] == [] and rec["stage"] == "potential"


def test_bad_language_names_its_source(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_LANG", "fr")
    result = crm("list")
    assert result.exit_code == 2 and "CRM_LANG fr" in result.stderr


def test_new_directories_are_private(crm: Crm, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        crm.ok("--db", str(tmp_path / "a" / "b" / "c.db"), "init")
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
