"""Commands that only read refuse a database file that does not exist (spec §1): exit 1, the path
and `crm init` named, nothing created. A typo in CRM_DB must not look like "nothing due" to cron."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Crm
from tests.test_due import crontab_commands

READ_ONLY = [
    ["list"], ["list", "--due"], ["list", "--format", "json"], ["show", "C202611001"],
    ["report", "funnel"], ["report", "alerts"], ["report", "pipeline"], ["report", "service"],
    ["export", "-"], ["export", "-", "--format", "json"], ["imports"], ["history"], ["dupes"], ["merges"],
    ["calendar", "--ics", "-"], ["deal", "list"], ["deal", "show", "O202611001"], ["product", "list"],
    ["field", "list"], ["ticket", "list"], ["check"], ["backup"],
]  # fmt: skip


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_refuse_a_missing_database(crm: Crm, tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "typo" / "crm.db"
    result = crm("--db", str(db), *args)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert str(db) in result.stderr and result.stdout == ""
    assert not db.parent.exists()  # neither the file nor its folder was created


def test_crontab_lines_with_a_wrong_database_path_fail(tmp_path: Path) -> None:
    """Every crm line of examples/crontab, run as cron would with CRM_DB misspelt: non-zero exit."""
    wrong = tmp_path / "srv" / "crm" / "crm.dbb"
    ran = 0
    for env, args in crontab_commands():
        if args[0] == "import":
            continue  # writes: creating the database is what an import does
        if args[0] == "backup":
            args = ["backup", str(tmp_path)]  # a folder that exists: only the database is wrong
        full = {**os.environ, **env, "CRM_DB": str(wrong), "CRM_CONFIG": str(tmp_path / "none.toml")}
        done = subprocess.run([sys.executable, "-m", "crmcli", *args], env=full, capture_output=True, text=True)
        assert done.returncode != 0, args
        assert str(wrong) in done.stderr and done.stdout == "", args
        ran += 1
    assert ran >= 4
    assert not wrong.parent.exists()
