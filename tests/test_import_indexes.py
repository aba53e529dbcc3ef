"""An import into an empty database builds the indexes it does not read once, at the end
(``store.indexes_built_after``): the schema after it is the schema before, every index holds
every row, and a failed import leaves the indexes where they were."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crmcli.services.importer import run
from tests.conftest import Crm
from tests.test_import import SEED000, csv_file


def _rows(n: int) -> list[list[Any]]:
    rows: list[list[Any]] = [SEED000]
    for i in range(n):
        # every third customer named again on a later row: its earlier follow-ups are read while loading
        k = i - 1 if i % 3 == 2 else i
        rows.append([
            i + 1, "", f"云帆{k}科技有限公司", "制造", "重点", f"联系人{k}", "经理", f"138{k:08d}", "",
            "展会", "需求", f"2026-0{1 + i % 9}-1{i % 10}", ["王磊", "李娜", "张伟"][i % 3], "电话", f"第{i}次",
            "", "", "", f"2025-1{i % 3}-0{1 + i % 9}", "", "",
        ])  # fmt: skip
    return rows


def _schema(db: Path) -> dict[str, str]:
    con = sqlite3.connect(db)
    try:
        return {n: s for n, s in con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    finally:
        con.close()


def test_import_into_an_empty_database_leaves_the_schema_and_full_indexes(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    crm.ok("init")
    before = _schema(crm_env)
    assert {"ix_customer_phone_key", "ix_customer_due", "ix_follow_up_date"} <= before.keys()
    out = crm.json("import", str(csv_file(tmp_path / "in.csv", _rows(60))))
    assert out["created"] == 40 and out["follow_ups"] == 60
    assert _schema(crm_env) == before
    con = sqlite3.connect(crm_env)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]  # every index holds every row
        plan = " ".join(str(r) for r in con.execute("EXPLAIN QUERY PLAN SELECT id FROM customer WHERE phone_key = '13800000005'"))
        assert "ix_customer_phone_key" in plan
        assert con.execute("SELECT count(*) FROM follow_up WHERE date >= '2026-01-01'").fetchone() == (60,)
    finally:
        con.close()
    # the customers named twice got both follow-ups, and a second import finds them by phone
    assert crm.json("import", str(csv_file(tmp_path / "again.csv", _rows(60))))["created"] == 0


def test_a_failed_import_into_an_empty_database_keeps_its_indexes(
    crm: Crm, crm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.ok("init")
    before = _schema(crm_env)
    loaded = run._Run._execute

    def fail_after_loading(self: Any) -> None:
        loaded(self)  # the rows are written, the indexes not yet built again
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run._Run, "_execute", fail_after_loading)
    result = crm("import", str(csv_file(tmp_path / "in.csv", _rows(30))))
    assert result.exit_code != 0 and "disk on fire" in result.stderr
    assert _schema(crm_env) == before
    con = sqlite3.connect(crm_env)
    try:
        assert con.execute("SELECT count(*) FROM customer").fetchone() == (0,)
    finally:
        con.close()
