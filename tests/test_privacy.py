"""Privacy: every file crm writes is 0600 whatever the umask; --mask never shows a whole phone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Crm

# Runs in a process of its own because the umask is process-wide. The commands run in-process
# there so that the engine (and with it the -wal and -shm files) is still open when we look.
UMASK_SCRIPT = """
import json, os, sys
os.umask(int(sys.argv[1], 8))
from pathlib import Path
from typer.testing import CliRunner
from crmcli.cli import app

runner = CliRunner()
def run(*args):
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, (args, r.stdout, r.stderr)
    return r.stdout

db = Path(os.environ["CRM_DB"])
out = Path(sys.argv[2])
modes = {}
def record(name, path):
    modes[name] = oct(os.stat(path).st_mode & 0o777)

run("add", "A公司", "--phone", "13812345678")
run("follow", "A公司", "-c", "电话")
record("db_dir", db.parent)
for suffix in ("", "-wal", "-shm"):
    record("db" + suffix, str(db) + suffix)
backup = Path(run("backup").strip())
record("backups_dir", backup.parent)
record("backup", backup)
record("backup_to_file", run("backup", str(out / "copy.db")).strip())
run("restore", str(out / "copy.db"))
record("before_restore", next(db.parent.glob("crm.db.before-restore-*")))
run("follow", "A公司", "-c", "恢复之后")  # the restored database, open again
for suffix in ("", "-wal", "-shm"):
    record("db_after_restore" + suffix, str(db) + suffix)
print(json.dumps(modes))
"""


@pytest.mark.parametrize("umask", ["000", "022", "077"])
def test_files_are_private_whatever_the_umask(crm_env: Path, tmp_path: Path, umask: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(UMASK_SCRIPT), umask, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    modes = json.loads(proc.stdout.strip().splitlines()[-1])
    dirs = {k: v for k, v in modes.items() if k.endswith("_dir")}
    files = {k: v for k, v in modes.items() if not k.endswith("_dir")}
    assert set(dirs.values()) == {"0o700"}, dirs
    assert set(files.values()) == {"0o600"}, files
    assert {"db-wal", "db-shm", "backup", "before_restore"} <= set(files)


PHONES = ["13812345678", "+86 139 8765 4321", "010-87654321", "0755-12345678转8001", "+1 415 555 0199"]
_DIGIT_RUN = re.compile(r"[0-9][0-9 ()+\-]*[0-9]")


def assert_no_whole_phone(out: str, phones: list[str]) -> None:
    """No run of digits (spaces, dashes, brackets allowed inside) holds the last 8 digits of a phone."""
    runs = ["".join(c for c in m.group() if c.isdigit()) for m in _DIGIT_RUN.finditer(out)]
    for phone in phones:
        tail = "".join(c for c in phone.split("转")[0] if c.isdigit())[-8:]
        assert not [r for r in runs if tail in r], (phone, out)
        assert phone not in out


def test_mask_never_leaks_a_phone_in_list_or_show(crm: Crm) -> None:
    for i, phone in enumerate(PHONES):
        crm.ok("add", f"客户{i}", "--phone", phone, "--email", f"person{i}@example.com")
    outputs = {fmt: crm.ok("list", "--mask", "--format", fmt) for fmt in ("table", "json", "csv", "tsv")}
    outputs |= {f"due {fmt}": crm.ok("list", "--due", "--mask", "--format", fmt) for fmt in ("table", "json", "csv")}
    for i in range(len(PHONES)):
        for fmt in ("table", "json"):
            outputs[f"show {i} {fmt}"] = crm.ok("show", f"客户{i}", "--mask", "--format", fmt)
    for name, out in outputs.items():
        assert_no_whole_phone(out, PHONES)
        assert "person1@" not in out, name
    assert "138****5678" in outputs["table"] and "p***@example.com" in outputs["json"]
    # The unmasked output does show them (so the check above can fail).
    with pytest.raises(AssertionError):
        assert_no_whole_phone(crm.ok("list", "--format", "csv"), PHONES)
