"""Real mistakes under CRM_LANG=zh (and ``lang = "zh"`` in the config): the error line is Chinese,
the exit status the same as in English; an import's reject reasons are Chinese in the summary and
in the rejects file; JSON keys stay as they are."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.conftest import Crm

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def abc(crm: Crm) -> str:
    return crm.ok("add", "ABC科技有限公司", "--phone", "13812345678").strip()


MISTAKES = [
    (("show", "nobody"), 1, ("没有客户匹配 'nobody'",), "no customer matches 'nobody'"),
    (("follow", "ABC", "--content", "电话", "--date", "2026-02-30"), 1, ("不是真实存在的日期", "该月没有这一天"), "is not a real date (day is out of range for month)"),
    (("follow", "ABC", "--content", "电话", "--date", "明天下午"), 1, ("无法识别日期",), "cannot read date"),
    (("deal", "add", "ABC", "--name", "x", "--amount", "lots"), 1, ("无法识别金额 'lots'",), "cannot read amount 'lots'"),
    (("deal", "add", "ABC", "--name", "x", "--amount", "-5"), 1, ("金额 '-5' 是负数",), "amount '-5' is negative"),
    (("list", "--sort", "nosuch"), 2, ("--sort nosuch", "请从"), "--sort nosuch: choose one of"),
    (("add", "ABC科技有限公司", "--phone", "13812345678"), 1, ("客户已存在", "什么都没有写入"), "customer already exists"),
    (("list", "--within", "3"), 2, ("--within", "--due"), "--within goes with --due"),
    (("team", "user", "add", "bob", "--name", "Bob", "--role", "rep"), 1, ("团队模式需要",), "team mode needs a shared PostgreSQL database"),
]


@pytest.mark.parametrize(("args", "code", "zh", "en"), MISTAKES, ids=[" ".join(m[0][:2]) for m in MISTAKES])
def test_a_mistake_is_one_chinese_line_with_the_same_exit_status(
    crm: Crm, abc: str, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], code: int, zh: tuple[str, ...], en: str
) -> None:
    english = crm(*args)
    assert english.exit_code == code and english.stderr.startswith("Error: ") and en in english.stderr, english.stderr
    monkeypatch.setenv("CRM_LANG", "zh")
    result = crm(*args)
    assert result.exit_code == code, result.stderr
    assert result.stderr.startswith("错误: ") and result.stderr.count("\n") == 1, result.stderr
    assert all(word in result.stderr for word in zh), result.stderr
    assert en not in result.stderr


def test_lang_in_the_config_file_is_enough(crm: Crm, abc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_LANG")
    monkeypatch.setenv("LANG", "C")
    (tmp_path / "crm.toml").write_text('lang = "zh"\n', encoding="utf-8")
    result = crm("show", "无此客户")
    assert result.exit_code == 1 and result.stderr == "错误: 没有客户匹配 '无此客户'\n"


def test_a_bad_config_value_is_named_in_chinese(crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "crm.toml").write_text('[cadence]\nkey = "三"\n', encoding="utf-8")
    monkeypatch.setenv("CRM_LANG", "zh")
    result = crm("list")
    assert result.exit_code == 1 and "cadence.key = \"三\"" in result.stderr, result.stderr
    assert "应为1 到 36500 之间的整数天数" in result.stderr, result.stderr


def test_import_reject_reasons_are_chinese_in_the_summary_and_the_rejects_file(
    crm: Crm, abc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "客户.csv"
    source.write_text("客户名称,联系电话,下次跟进日期\n甲公司,13800000001,2026-13-01\n乙公司,abc,\n丙公司,13800000003,\n", encoding="utf-8")
    monkeypatch.setenv("CRM_LANG", "zh")
    result = crm("import", str(source), "--format", "json")
    assert result.exit_code == 3, result.stderr  # some rows imported, some rejected
    summary = json.loads(result.stdout)
    assert summary["created"] == 1 and summary["rejected"] == 2  # the keys as in English
    reasons = summary["rejected_rows"]
    assert reasons[0].startswith("第 2 行, 下次跟进日期 列: 日期 '2026-13-01' 不是真实存在的日期"), reasons
    assert reasons[1] == "第 3 行, 联系电话 列: 无法识别电话 'abc'", reasons
    with open(summary["rejects_file"], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-1] == "拒绝原因" and [r[-1] for r in rows[1:]] == reasons
    assert all(CJK.search(r) for r in reasons)


def test_every_row_rejected_is_a_chinese_error_line(crm: Crm, abc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("客户名称,联系电话\n乙公司,abc\n", encoding="utf-8")
    monkeypatch.setenv("CRM_LANG", "zh")
    result = crm("import", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith("错误: 什么都没有导入: 全部 1 行都被拒绝; 见 "), result.stderr


def test_confirmations_name_stages_and_fields_in_chinese(crm: Crm) -> None:
    """Under zh a confirmation shows stages and changed fields as the tables do, not as keys."""
    code = crm.ok("add", "甲公司", "--phone", "13800000001").strip()
    out = crm.ok("--lang", "zh", "stage", code, "negotiating")
    assert "潜在客户 → 谈判中" in out and "potential" not in out, out
    out = crm.ok("--lang", "zh", "edit", code, "--level", "key", "--email", "a@jia.example.com")
    assert out == f"已更新 {code}: 邮箱, 客户等级\n", out
    crm.ok("ticket", "add", code, "--type", "物流", "--content", "慢")
    out = crm.ok("--lang", "zh", "ticket", "update", "T202611001", "--status", "resolved", "--satisfaction", "5")
    assert "处理状态" in out and "满意度评分" in out and "status" not in out, out
