"""Shell completion: commands, options, enum values and customer codes, for bash, zsh and fish."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Crm

CRM = Path(sys.executable).parent / "crm"


def complete(shell: str, line: str, db: Path) -> list[str]:
    if not CRM.exists():
        pytest.skip("the crm console script is not installed in this environment")
    env = {**os.environ, "CRM_DB": str(db), "_CRM_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        words = line.split(" ")
        env |= {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    else:
        env |= {"_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    out = subprocess.run([str(CRM)], env=env, capture_output=True, text=True, timeout=60)
    return [line for line in out.stdout.splitlines() if line]


@pytest.fixture
def db(crm: Crm, crm_env: Path) -> Path:
    crm.ok("add", "星辰贸易", "--phone", "13800000001", "--source", "展会推广")
    crm.ok("add", "云帆科技", "--phone", "13800000002", "--source", "客户转介绍")
    return crm_env


def test_bash_completes_commands_options_and_values(db: Path) -> None:
    assert "list" in complete("bash", "crm li", db)
    assert "--stage" in complete("bash", "crm list --st", db)
    assert complete("bash", "crm list --stage ", db) == ["potential", "intent", "negotiating", "won", "lost"]
    assert complete("bash", "crm list --level k", db) == ["key"]
    assert complete("bash", "crm show C2026", db) == ["C202611001", "C202611002"]
    assert complete("bash", "crm list --source 展", db) == ["展会推广"]
    assert "alerts" in complete("bash", "crm report ", db)


def test_opportunity_and_ticket_codes_complete(crm: Crm, db: Path) -> None:
    crm.ok("deal", "add", "星辰", "--name", "年度采购", "--amount", "5万")
    crm.ok("ticket", "add", "云帆", "--type", "物流延迟", "--content", "晚到")
    assert complete("bash", "crm deal stage O2026", db) == ["O202611001"]
    assert complete("bash", "crm deal show ", db) == ["O202611001"]
    assert complete("bash", "crm ticket update T", db) == ["T202611001"]
    assert '"O202611001":"年度采购"' in "\n".join(complete("zsh", "crm deal edit O", db))


def test_zsh_and_fish_show_labels_beside_values(db: Path) -> None:
    zsh = "\n".join(complete("zsh", "crm show C2026", db))
    assert '"C202611001":"星辰贸易"' in zsh
    assert complete("fish", "crm list --level ", db) == ["key\t重点客户", "normal\t普通客户", "potential\t潜力客户"]


def test_no_database_no_suggestions_and_no_error(tmp_path: Path) -> None:
    assert complete("bash", "crm show C", tmp_path / "none.db") == []
    assert not (tmp_path / "none.db").exists()


def test_scripts_for_each_shell(crm: Crm) -> None:
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --command crm")):
        if not CRM.exists():
            pytest.skip("no crm script")
        # (the variant of --show-completion that takes the shell instead of detecting it)
        env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
        out = subprocess.run([str(CRM), "--show-completion", shell], capture_output=True, text=True, timeout=60, env=env)
        assert marker in out.stdout, (shell, out.stdout[:300])
