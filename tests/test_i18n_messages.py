"""Issue 18: every word in the user's language -- the command-line parser's own usage errors and
the importer's notes too, not only crm's help and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Crm


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (["list", "--nope"], "错误: 没有这个选项: --nope", "Error: No such option: --nope"),
        (["show"], "错误: 缺少参数 'REF'.", "Error: Missing argument 'REF'."),
        (["show", "a", "b"], "错误: 多余的参数 (b)", "Error: Got unexpected extra arguments (b)"),
        (["nocommand"], "错误: 没有这个命令 'nocommand'.", "Error: No such command 'nocommand'."),
        (["list", "--limit", "x"], "错误: '--limit' 的值无效: ", "Error: Invalid value for '--limit': "),
        (["list", "--limit"], "错误: 选项 '--limit' 需要一个值.", "Error: Option '--limit' requires an argument."),
    ],
)
def test_usage_errors_of_the_parser_are_in_the_display_language(crm: Crm, args: list[str], zh: str, en: str) -> None:
    result = crm("--lang", "zh", *args)
    assert result.exit_code == 2 and zh in result.stderr, result.stderr
    assert "Error" not in result.stderr and "Try '" not in result.stderr
    english = crm("--lang", "en", *args)
    assert english.exit_code == 2 and en in english.stderr, english.stderr


def test_import_notes_are_in_the_display_language(crm: Crm, tmp_path: Path) -> None:
    f = tmp_path / "accounts.csv"
    f.write_text("Account Name,Industry,Fax\nAcme Ltd,Retail,1\n", encoding="utf-8")
    result = crm("--lang", "zh", "import", str(f))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == ["提示: 该表没有电话列: 客户仅按名称识别", "提示: 未识别的列未导入: Fax"]
    again = crm("--lang", "en", "import", str(f), "--dry-run")
    assert "note: the sheet has no phone column: its customers are identified by their names alone" in again.stderr
