"""The README's ```console blocks are real output: regenerating them changes nothing.

The blocks are rewritten by ``python docs/readme_blocks.py``; these tests run the same code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]


def _load() -> ModuleType:
    name = "readme_blocks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "readme_blocks.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


rb = _load()


def test_readme_console_blocks_are_current() -> None:
    old = (ROOT / "README.md").read_text(encoding="utf-8")
    new = rb.regenerate(old)
    if new != old:
        pytest.fail(
            "README.md's console output has drifted from what crm prints now; "
            "run `python docs/readme_blocks.py` and check the prose around the changed blocks.\n" + rb.diff(old, new),
            pytrace=False,
        )


FRAGMENT = """\
Some prose.

<!-- readme: session=s -->
```console
$ crm add ABC科技有限公司 --phone 13812345678
C209901001

$ crm add abc科技有限公司 --phone 13812345678
错误: 客户已存在: C202611001 ABC科技有限公司 (同名同电话); 什么都没有写入
```
"""


def test_check_reports_a_wrong_output_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(FRAGMENT, encoding="utf-8")
    assert rb.main(["--check", str(readme)]) == 1
    out = capsys.readouterr().out
    changed = [line for line in out.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    assert changed == ["-C209901001", "+C202611001"]  # the wrong line, and nothing else
    assert readme.read_text(encoding="utf-8") == FRAGMENT  # --check writes nothing
    assert rb.main([str(readme)]) == 0
    assert rb.main(["--check", str(readme)]) == 0
    assert "$ crm add ABC科技有限公司 --phone 13812345678\nC202611001\n\n$ crm add" in readme.read_text(
        encoding="utf-8"
    )


def test_a_console_block_without_a_marker_is_refused() -> None:
    with pytest.raises(rb.ReadmeError, match="needs <!-- readme: session=NAME"):
        rb.regenerate("text\n\n```console\n$ crm list\n```\n")


def test_static_blocks_are_left_alone() -> None:
    text = "<!-- readme: static (needs a second process) -->\n```console\n$ crm list\nanything\n```\n"
    assert rb.regenerate(text) == text


def test_shell_lines_are_split_at_top_level_only() -> None:
    assert rb.split_line('crm import a.xlsx; echo "exit $?"') == [
        ("", ["crm import a.xlsx"]),
        (";", ['echo "exit $?"']),
    ]
    assert rb.split_line("crm export - --stage 'a|b' | head -3  # note") == [
        ("", ["crm export - --stage 'a|b'", "head -3"])
    ]
    assert rb.split_line("crm x && crm y || echo z") == [("", ["crm x"]), ("&&", ["crm y"]), ("||", ["echo z"])]
    assert rb.crm_args("CRM_USER=li crm list --due --mine") == ({"CRM_USER": "li"}, ["list", "--due", "--mine"])
    assert rb.crm_args("crm import $f") is None  # needs the shell: runs in bash with the real crm


SAME_BOTH_WAYS = """\
<!-- readme-setup: session=p
cp "$REPO/examples/followup-log.xlsx" .
-->
<!-- readme: session=p -->
```console
$ crm import followup-log.xlsx; echo "exit $?"
$ CRM_LANG=en crm list --format csv --sort name | cut -d, -f2,10 | head -3
$ crm show nobody | head -1
$ crm show nobody
$ echo $?
$ crm backup
```
"""


def test_in_process_output_is_the_real_commands_output() -> None:
    """The test runs crm in this process; the real `crm` in bash must print the same thing.

    Covers what could differ: stdout and stderr interleaved (a summary, then a note), the exit
    status, an env prefix, pipes (stderr not piped), an `Error:` line, and the normalised
    directory and timestamp.
    """
    in_process = rb.regenerate(SAME_BOTH_WAYS)
    assert "rejects_file=followup-log.xlsx.rejects.csv\n提示: 未使用的列: 客户状态" in in_process
    assert "\nexit 3\n" in in_process
    assert "$ crm show nobody | head -1\n错误: 没有客户匹配 'nobody'\n$ crm show nobody\n" in in_process
    assert "$ crm show nobody\n错误: 没有客户匹配 'nobody'\n$ echo $?\n1\n" in in_process
    assert "/tmp/demo/backups/crm-20261126-080724.db" in in_process
    assert rb.regenerate(SAME_BOTH_WAYS, subprocess=True) == in_process
