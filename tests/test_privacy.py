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
for fmt in ("csv", "xlsx", "json"):
    run("export", str(out / f"customers.{fmt}"))
    record(f"export_{fmt}", out / f"customers.{fmt}")
(out / "in.csv").write_text("客户名称,联系电话\\nB公司,13800000002\\nC公司,138\\n", encoding="utf-8")
runner.invoke(app, ["import", str(out / "in.csv")])  # exit 3: one row rejected
record("rejects", out / "in.csv.rejects.csv")
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
    assert {"db-wal", "db-shm", "backup", "before_restore", "export_csv", "export_xlsx", "export_json", "rejects"} <= set(files)


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


def test_mask_never_leaks_a_phone_in_exports(crm: Crm, tmp_path: Path) -> None:
    for i, phone in enumerate(PHONES):
        code = crm.ok("add", f"客户{i}", "--phone", phone, "--email", f"person{i}@example.com").strip()
        crm.ok("follow", code, "-c", "电话沟通")
    texts = {}
    for fmt in ("csv", "json", "xlsx"):
        out = tmp_path / f"masked.{fmt}"
        crm.ok("export", str(out), "--mask")
        if fmt == "xlsx":
            texts[fmt] = _xlsx_text(out)
        else:
            texts[fmt] = out.read_text(encoding="utf-8-sig")
    texts["stdout csv"] = crm.ok("export", "-", "--mask")
    texts["stdout json"] = crm.ok("export", "-", "--mask", "--format", "json")
    for name, text in texts.items():
        assert_no_whole_phone(text, PHONES)
        assert "person1@" not in text, name
        assert "138****5678" in text, name
    # Unmasked, the same check fails: it is not vacuous.
    crm.ok("export", str(tmp_path / "plain.xlsx"))
    with pytest.raises(AssertionError):
        assert_no_whole_phone(_xlsx_text(tmp_path / "plain.xlsx"), PHONES)


def _xlsx_text(path: Path) -> str:
    """Every cell of every sheet, and the raw XML of every part (nothing hides in a comment or a name)."""
    import zipfile

    from openpyxl import load_workbook

    wb = load_workbook(path)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    with zipfile.ZipFile(path) as zf:
        raw = [zf.read(n).decode("utf-8", "replace") for n in zf.namelist()]
    return "\n".join(cells + raw)


# --------------------------------------------------------------------------- ID and bank card numbers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """A Chinese resident ID number with its GB 11643 check character."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def bank_card(prefix: str) -> str:
    """``prefix`` + the Luhn check digit."""
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return prefix + str((10 - total % 10) % 10)


ID1 = resident_id("11010519491231002")  # ...X
ID2 = resident_id("44030619900307123")
CARD1 = bank_card("622202123456789012")  # 19 digits
CARD2 = bank_card("411111111111111")  # 16 digits
SENSITIVE_ROWS = [
    # (name, phone, notes, need, contact, source); the row's number is what must be flagged
    ("身份证公司", "13800000001", f"法人身份证 {ID1}", "", "", ""),
    ("全角公司", "13800000002", "", "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in ID2), "", ""),
    ("银行卡公司", "13800000003", "", "", f"张三 卡号{CARD1}", ""),
    ("分组卡号公司", "13800000004", "", "", "", " ".join(CARD2[i : i + 4] for i in range(0, 16, 4))),
]
INNOCENT_ROWS = [
    ("普通公司", "13800000005", "电话 13912345678, 订单号 20240508123456", "预算 50000", "李四", "展会"),
    ("校验位错公司", "13800000006", ID1[:-1] + ("1" if ID1[-1] != "1" else "2"), "", "", ""),  # bad check digit
    ("非卡号公司", "13800000007", "", CARD2[:-1] + str((int(CARD2[-1]) + 1) % 10), "", ""),  # fails Luhn
    ("日期公司", "13800000008", "2024-05-08 至 2024-06-30", "", "", ""),
]
NUMBERS = [ID1, ID2, CARD1, CARD2]


def _sensitive_csv(path: Path) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["客户名称", "联系电话", "备注", "核心需求", "联系人", "客户来源"])
        w.writerows(SENSITIVE_ROWS + INNOCENT_ROWS)
    return path


def _stored_text(db: Path) -> str:
    import sqlite3

    con = sqlite3.connect(db)
    rows = con.execute("SELECT name, contact, need, notes, source FROM customer").fetchall()
    con.close()
    return "\n".join(str(v) for r in rows for v in r if v)


def _digits(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit() or c == "X")


def test_import_flags_id_and_bank_card_numbers(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    path = _sensitive_csv(tmp_path / "leads.csv")
    result = crm("import", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["created"] == len(SENSITIVE_ROWS) + len(INNOCENT_ROWS)
    assert summary["sensitive"] == len(SENSITIVE_ROWS)
    warning = result.stderr
    for row, column in ((2, "备注"), (3, "核心需求"), (4, "联系人"), (5, "客户来源")):
        assert f"row {row}, column {column}" in warning
    assert "--reject-sensitive" in warning
    for number in NUMBERS:  # the warning says where, never the number
        assert number not in _digits(warning)
    # --dry-run flags the same, and the line summary shows it.
    line = crm("import", str(path), "--dry-run")
    assert "sensitive=" in line.stdout or "sensitive" in line.stderr


def test_reject_sensitive_keeps_them_out_of_the_database(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    path = _sensitive_csv(tmp_path / "leads.csv")
    result = crm("import", str(path), "--reject-sensitive", "--format", "json")
    assert result.exit_code == 3, result.stderr  # partial: the innocent rows are in
    summary = json.loads(result.stdout)
    assert summary["rejected"] == len(SENSITIVE_ROWS) and summary["created"] == len(INNOCENT_ROWS)
    assert summary["sensitive"] == 0
    from crmcli import store

    store.dispose_all()
    stored = _digits(_stored_text(crm_env))
    for number in NUMBERS:
        assert number not in stored
    rejects = Path(summary["rejects_file"]).read_text(encoding="utf-8-sig")
    assert rejects.count("this import refuses sensitive numbers") == len(SENSITIVE_ROWS)
    assert "ID number" in rejects and "bank card" in rejects


def test_mask_covers_the_candidates_of_an_ambiguous_ref(crm: Crm) -> None:
    """`crm show 公司 --mask`: the 'matches N customers' list shows code, name and masked phone."""
    for i, phone in enumerate(PHONES):
        crm.ok("add", f"公司{i}", "--phone", phone)
    crm.ok("add", "另一家", "--phone", PHONES[0])  # the same phone: a phone REF that is ambiguous
    for ref in ("公司", PHONES[0], "138 1234 5678"):
        for fmt in ("table", "json"):
            result = crm("show", ref, "--mask", "--format", fmt)
            assert result.exit_code == 1 and result.stderr.count("Error:") == 1, result.stderr
            assert "matches" in result.stderr and "138****5678" in result.stderr
            assert_no_whole_phone(result.stdout + result.stderr, PHONES)
    # an unknown phone typed as the REF is not echoed whole either
    missing = crm("show", "13999990000", "--mask")
    assert missing.exit_code == 1 and "no customer matches" in missing.stderr
    assert_no_whole_phone(missing.stderr, ["13999990000"])
    # Without --mask the candidates carry their phones (spec §4), so the checks above can fail.
    plain = crm("show", "公司")
    assert plain.exit_code == 1
    with pytest.raises(AssertionError):
        assert_no_whole_phone(plain.stderr, PHONES)
    assert "13999990000" in crm("show", "13999990000").stderr


def test_masking_is_one_function(crm: Crm) -> None:
    """Records, export rows and error candidates all go through crmcli.masking."""
    from crmcli import masking

    rec = {"code": "C1", "phone": "13812345678", "email": "zhang@example.com", "contact": "张三"}
    assert masking.mask_record(dict(rec)) == {
        "code": "C1", "phone": "138****5678", "email": "z***@example.com", "contact": "张三",
    }  # fmt: skip
    assert masking.mask_text("call 138 1234 5678 or 010-87654321 ext 12, room 301") == (
        "call 138****5678 or 010****4321 ext 12, room 301"
    )
