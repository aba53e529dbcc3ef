"""Custom fields (spec §11): definitions, typed values, --set, --where, JSON, show, export, upgrade."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from crmcli.store import HEAD
from tests.conftest import Crm
from tests.reliability_support import counts, revision

DATA = Path(__file__).parent / "data"


@pytest.fixture
def two(crm: Crm) -> tuple[str, str]:
    a = crm.ok("add", "甲公司", "--phone", "13800000001").strip()
    b = crm.ok("add", "乙公司", "--phone", "13800000002").strip()
    crm.ok("field", "add", "tier", "--label", "客户分层", "--type", "choice", "--choices", "金牌,银牌")
    crm.ok("field", "add", "budget", "--label", "年度预算", "--type", "money")
    crm.ok("field", "add", "since", "--label", "合作开始", "--type", "date")
    crm.ok("field", "add", "social", "--label", "社交媒体账号")
    return a, b


def test_values_are_typed_and_read_back(crm: Crm, two: tuple[str, str]) -> None:
    a, b = two
    crm.ok("edit", a, "--set", "tier=金牌", "--set", "年度预算=1.5万", "--set", "since=2024年5月8日", "--set", "social=yunfan_01")
    crm.ok("add", "丙公司", "--phone", "13800000003", "--set", "tier=银牌", "--set", "budget=800")
    rec = crm.json("show", a)
    assert rec["fields"] == {"tier": "金牌", "budget": 15000, "since": "2024-05-08", "social": "yunfan_01"}
    listed = {r["name"]: r["fields"] for r in crm.json("list")}
    assert listed["乙公司"] == {"tier": None, "budget": None, "since": None, "social": None}
    assert listed["丙公司"]["budget"] == 800 and listed["丙公司"]["tier"] == "银牌"
    table = crm.ok("show", a)
    assert "客户分层" in table and "金牌" in table and "15,000" in table
    crm.ok("edit", a, "--set", "social=")  # KEY= clears a value
    assert crm.json("show", a)["fields"]["social"] is None


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("tier=铜牌", ["tier", "铜牌", "金牌"]),
        ("budget=很多", ["budget", "很多"]),
        ("since=13/13/2024", ["since", "13/13/2024"]),
        ("nope=1", ["nope"]),
        ("tier", ["KEY=VALUE"]),
    ],
)
def test_a_bad_value_is_one_line_and_writes_nothing(crm: Crm, two: tuple[str, str], spec: str, words: list[str]) -> None:
    a, _ = two
    before = crm.json("show", a)
    result = crm("edit", a, "--set", spec, "--contact", "不该写入")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert all(w in result.stderr for w in words), result.stderr
    assert crm.json("show", a) == before
    n = len(crm.json("list"))
    assert crm("add", "丁公司", "--phone", "13800000009", "--set", spec).exit_code == 1
    assert len(crm.json("list")) == n


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["name", "--label", "随便"], ["name", "built-in"]),
        (["tier2", "--label", "客户名称"], ["客户名称", "built-in"]),
        (["tier2", "--label", "Phone"], ["Phone", "built-in"]),
        (["tier", "--label", "别的"], ["tier", "already"]),
        (["x2", "--label", "客户分层"], ["客户分层"]),
        (["level2", "--label", "级别", "--type", "colour"], ["colour", "type"]),
        (["level2", "--label", "级别", "--type", "choice"], ["choices"]),
        (["9lives", "--label", "九条命"], ["9lives"]),
        (["ok_key", "--label", "   "], ["label"]),
    ],
)
def test_bad_definitions_are_refused(crm: Crm, two: tuple[str, str], args: list[str], words: list[str]) -> None:
    result = crm("field", "add", *args)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert all(w in result.stderr for w in words), result.stderr
    assert len(crm.json("field", "list")) == 4


def test_where_filters_through_the_index(crm: Crm, two: tuple[str, str], crm_env: Path) -> None:
    a, b = two
    crm.ok("edit", a, "--set", "tier=金牌", "--set", "budget=5万")
    crm.ok("edit", b, "--set", "tier=银牌")
    assert [r["code"] for r in crm.json("list", "--where", "tier=金牌")] == [a]
    assert [r["code"] for r in crm.json("list", "--where", "客户分层=银牌")] == [b]  # by label too
    assert [r["code"] for r in crm.json("list", "--where", "budget=50000")] == [a]  # typed: 5万 = 50000
    assert [r["code"] for r in crm.json("list", "--where", "budget=")] == [b]  # no value
    assert crm.json("list", "--where", "tier=金牌", "--where", "budget=1") == []
    assert crm("list", "--where", "tier=铜牌").exit_code == 1
    con = sqlite3.connect(crm_env)
    plan = " ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN SELECT customer_id FROM custom_value WHERE field_key='tier' AND value='金牌'"))
    assert "ix_custom_value_lookup" in plan


def test_remove_hides_and_add_brings_back(crm: Crm, two: tuple[str, str]) -> None:
    a, _ = two
    crm.ok("edit", a, "--set", "budget=300")
    out = crm.ok("field", "remove", "budget")
    assert "1 value" in out
    assert "budget" not in crm.json("show", a)["fields"]
    assert crm("edit", a, "--set", "budget=1").exit_code == 1
    listing = {f["key"]: f for f in crm.json("field", "list")}
    assert listing["budget"]["hidden"] is True and listing["budget"]["values"] == 1
    assert crm("field", "add", "budget", "--label", "年度预算", "--type", "text").exit_code == 1  # type must match
    crm.ok("field", "add", "budget", "--label", "年度预算", "--type", "money")
    assert crm.json("show", a)["fields"]["budget"] == 300
    assert crm("field", "remove", "nope").exit_code == 1


def test_export_has_a_column_per_field_with_drop_downs(crm: Crm, two: tuple[str, str], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    a, _ = two
    crm.ok("edit", a, "--set", "tier=金牌", "--set", "budget=5万", "--set", "since=2024-05-08")
    crm.ok("export", str(tmp_path / "out.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8-sig"))))
    mine = next(r for r in rows if r["Code"] == a)
    assert (mine["客户分层"], mine["年度预算"], mine["合作开始"], mine["社交媒体账号"]) == ("金牌", "50000", "2024-05-08", "")
    crm.ok("export", str(tmp_path / "out.xlsx"))
    ws = load_workbook(tmp_path / "out.xlsx").worksheets[0]
    head = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(head)}
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == a)
    assert row[col["年度预算"]] == 50000 and row[col["合作开始"]].date().isoformat() == "2024-05-08"
    formulas = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"金牌,银牌"' in formulas
    crm.ok("export", str(tmp_path / "t.xlsx"), "--template")
    assert "客户分层" in [c.value for c in load_workbook(tmp_path / "t.xlsx").worksheets[0][1]]


def test_a_0002_database_is_upgraded_to_custom_fields(crm: Crm, crm_env: Path) -> None:
    """Spec §17: the file written by the 0002 release opens, is backed up, migrated, keeps everything."""
    crm_env.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "crm_0002.sqlite", crm_env)
    before = counts(crm_env, ("customer", "follow_up", "stage_change", "deal", "tag", "import_batch", "batch_change"))
    archived = crm.json("list", "--archived")
    assert len(archived) == 1 and revision(crm_env) == HEAD
    backups = list(crm_env.parent.glob("crm.db.bak-0002-*"))
    assert len(backups) == 1 and revision(backups[0]) == "0002"
    assert counts(crm_env, tuple(before)) == before
    crm.ok("field", "add", "tier", "--label", "分层")
    first = crm.json("list")[0]["code"]
    crm.ok("edit", first, "--set", "tier=金牌")
    assert crm.json("show", first)["fields"] == {"tier": "金牌"}
    undo = crm.json("import", "--undo", "1")
    assert undo["deleted_customers"] >= 1


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_import_reads_custom_columns_by_key_or_label(crm: Crm, two: tuple[str, str], tmp_path: Path) -> None:
    a, _ = two
    src = _csv(tmp_path / "in.csv", [
        ["客户名称", "联系电话", "客户分层", "budget", "合作开始"],
        ["丁公司", "13900000001", "银牌", "3万", "2024/5/8"],
        ["甲公司", "13800000001", "金牌", "", ""],
        ["戊公司", "13900000002", "铜牌", "", ""],
        ["己公司", "13900000003", "", "很多", ""],
    ])  # fmt: skip
    result = crm("import", str(src), "--on-duplicate", "update", "--format", "json")
    assert result.exit_code == 3, result.stderr
    summary = json.loads(result.stdout)
    assert summary["created"] == 1 and summary["updated"] == 1 and summary["rejected"] == 2
    assert any("客户分层" in r and "铜牌" in r for r in summary["rejected_rows"])
    assert any("budget" in r and "很多" in r for r in summary["rejected_rows"])
    by_name = {r["name"]: r["fields"] for r in crm.json("list")}
    assert by_name["丁公司"] == {"tier": "银牌", "budget": 30000, "since": "2024-05-08", "social": None}
    assert by_name["甲公司"]["tier"] == "金牌"
    undone = crm.json("import", "--undo", str(summary["batch"]))
    assert undone["deleted_customers"] == 1
    assert crm.json("show", a)["fields"]["tier"] is None  # the value the batch set is taken back


def test_keep_unknown_makes_text_fields_and_undo_takes_them_back(crm: Crm, two: tuple[str, str], tmp_path: Path) -> None:
    src = _csv(tmp_path / "in.csv", [["客户名称", "联系电话", "Social Media", "爱好"], ["丁公司", "13900000001", "@ding", "高尔夫"]])
    plain = crm("import", str(src), "--dry-run")
    assert "Social Media" in plain.stderr and "爱好" in plain.stderr  # reported, not imported
    summary = json.loads(crm.ok("import", str(src), "--keep-unknown", "--format", "json"))
    assert summary["unknown_columns"] == [] and len(summary["new_fields"]) == 2
    fields_now = {f["key"]: f for f in crm.json("field", "list")}
    assert fields_now["social_media"]["label"] == "Social Media" and fields_now["爱好"]["type"] == "text"
    rec = next(r for r in crm.json("list") if r["name"] == "丁公司")
    assert rec["fields"]["social_media"] == "@ding" and rec["fields"]["爱好"] == "高尔夫"
    crm.ok("import", "--undo", str(summary["batch"]))
    assert {f["key"] for f in crm.json("field", "list")} == {"tier", "budget", "since", "social"}


def test_export_then_import_keeps_custom_values(crm: Crm, two: tuple[str, str], tmp_path: Path, crm_env: Path) -> None:
    a, b = two
    crm.ok("edit", a, "--set", "tier=金牌", "--set", "budget=5万", "--set", "since=2024-05-08", "--set", "social=x1")
    crm.ok("edit", b, "--set", "tier=银牌")
    before = {r["code"]: r["fields"] for r in crm.json("list")}
    for fmt in ("xlsx", "csv"):
        crm.ok("export", str(tmp_path / f"out.{fmt}"))
    from crmcli import store

    crm_env.rename(crm_env.with_name("old.db"))
    store.dispose_all()
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"out.{fmt}"
        for spec in (["tier", "--label", "客户分层", "--type", "choice", "--choices", "金牌,银牌"],
                     ["budget", "--label", "年度预算", "--type", "money"], ["since", "--label", "合作开始", "--type", "date"],
                     ["social", "--label", "社交媒体账号"]):  # fmt: skip
            crm.ok("field", "add", *spec)
        crm.ok("import", str(out))
        assert {r["code"]: r["fields"] for r in crm.json("list")} == before, fmt
        crm_env.unlink()
        store.dispose_all()
