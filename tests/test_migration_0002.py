"""Migration 0002 on a database written by the 0001 release (spec §17).

``tests/data/crm_0001.sqlite`` was written by the release before (``tests/data/make_release_db.py 0001``
lists what it holds). Opened by this program it is backed up, migrated, keeps every record and
its import batch stays undoable; names that differed from another only by characters that show
nothing now have the key ``crm add`` computes, except where that would merge two customers.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crmcli.store import HEAD
from tests.conftest import Crm
from tests.reliability_support import counts, integrity, revision

FIXTURE = Path(__file__).parent / "data" / "crm_0001.sqlite"
TABLES = ("customer", "follow_up", "stage_change", "deal", "tag", "import_batch", "batch_change")


def columns(path: Path, table: str) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    finally:
        con.close()


def rows(path: Path, table: str, exclude: tuple[str, ...] = (), only: list[str] | None = None) -> list[tuple[Any, ...]]:
    """The rows of ``table`` (``only``: these columns, the ones the release before had: later
    migrations add columns)."""
    con = sqlite3.connect(path)
    try:
        cols = [c for c in only or columns(path, table) if c not in exclude]
        return list(con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid"))
    finally:
        con.close()


def keys(path: Path) -> dict[str, str]:
    con = sqlite3.connect(path)
    try:
        return dict(con.execute("SELECT code, name_key FROM customer"))
    finally:
        con.close()


@pytest.fixture
def old_db(crm_env: Path) -> Path:
    crm_env.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE, crm_env)
    crm_env.chmod(0o600)
    assert revision(crm_env) == "0001"
    return crm_env


def test_opens_backs_up_and_keeps_every_record(crm: Crm, old_db: Path) -> None:
    before = {t: rows(old_db, t) for t in TABLES}
    old_keys = keys(old_db)
    crm.ok("list")  # a read-only command upgrades too
    assert revision(old_db) == HEAD and integrity(old_db) == "ok" and crm.json("check")["ok"] is True
    backups = list(old_db.parent.glob(f"{old_db.name}.bak-0001-*"))
    assert len(backups) == 1 and revision(backups[0]) == "0001" and keys(backups[0]) == old_keys
    assert {t: rows(backups[0], t) for t in TABLES} == before
    # every record is still there; only name keys (and undo images' name keys) changed
    for table in ("follow_up", "stage_change", "deal", "tag", "import_batch"):
        assert rows(old_db, table, only=columns(backups[0], table)) == before[table], table
    old_columns = columns(backups[0], "customer")
    assert rows(old_db, "customer", exclude=("name_key",), only=old_columns) == rows(backups[0], "customer", exclude=("name_key",))
    assert counts(old_db) == counts(backups[0])
    abc = crm.json("show", "C202603001")
    assert len(abc["follow_ups"]) == 3 and abc["stage"] == "negotiating" and abc["tags"] == ["展会", "高预算"]
    assert crm.json("show", "B商贸公司")["deals"][0]["amount"] == 80000
    assert crm.json("show", "C202603004")["stage_changes"][0]["reason"] == "预算取消"
    assert [c["code"] for c in crm.json("list", "--archived")] == ["C202603010"]


def test_invisible_names_get_the_new_key_unless_it_collides(crm: Crm, old_db: Path) -> None:
    old_keys = keys(old_db)
    crm.ok("list")
    new_keys = keys(old_db)
    assert new_keys["C202603003"] == "星辰贸易"  # U+200E
    assert new_keys["C202603004"] == "云端科技"  # U+FE0F
    assert new_keys["C202603009"] == "新名称公司"  # U+200E, renamed by import batch 1
    assert new_keys["C202603011"] == "绿源环保科技"  # U+2066/2069, created by import batch 1
    assert new_keys["C202603007"] == "蓝天物流"  # the older of two invisible variants
    # would be the same customer as another: left as they were
    assert new_keys["C202603005"] == old_keys["C202603005"] == "海纳\u2063百川"
    assert new_keys["C202603008"] == old_keys["C202603008"] != "蓝天物流"
    changed = {code for code in old_keys if old_keys[code] != new_keys[code]}
    assert changed == {"C202603003", "C202603004", "C202603009", "C202603011", "C202603007"}


@pytest.mark.parametrize(
    ("name", "phone", "code"),
    [("星辰贸易", "13811112222", "C202603003"), ("云端科技", "13822223333", "C202603004"),
     ("绿源环保科技", "13855556666", "C202603011"), ("蓝天物流", "13844445555", "C202603007")],
)  # fmt: skip
def test_a_clean_add_is_refused_as_a_duplicate(crm: Crm, old_db: Path, name: str, phone: str, code: str) -> None:
    result = crm("add", name, "--phone", phone)
    assert result.exit_code == 1 and "already exists" in result.stderr and code in result.stderr
    assert result.stderr.count("Error:") == 1
    assert crm.json("show", name)["code"] == code


def test_import_undo_of_the_old_batch(crm: Crm, old_db: Path) -> None:
    crm.ok("list")
    undone = crm.json("import", "--undo", "1")
    assert undone["deleted_customers"] == 2 and undone["restored_customers"] >= 1
    assert undone["kept_later_edits"] == []
    # the rename is taken back with its key: the old name is the customer again
    renamed = crm.json("show", "C202603009")
    assert renamed["name"] == "旧名称公司" and renamed["contact"] is None
    assert keys(old_db)["C202603009"] == "旧名称公司"
    dup = crm("add", "旧名称公司", "--phone", "13877778888")
    assert dup.exit_code == 1 and "C202603009" in dup.stderr
    assert crm.ok("add", "新名称公司", "--phone", "13877778888").strip()
    codes = {c["code"] for c in crm.json("list")}
    assert "C202603011" not in codes and "C202603012" not in codes
    assert len(crm.json("show", "C202603001")["follow_ups"]) == 2  # the imported one is gone
    assert crm.json("imports")[0]["undone_at"] is not None
