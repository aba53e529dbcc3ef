"""Migration 0005 on a database written by the 0004 release (spec §17): deals become opportunities.

``tests/data/crm_0004.sqlite`` was written by the release before (``make_release_db.py 0004``):
three deals (B商贸公司 won 80,000 then again 20,000 -- the last change set --, 清风书院's 6,000
recorded by import batch 1) and one that an undo deleted (星辰贸易's 30,000). Beside it,
``crm_0004.reports.json`` holds what that release's reports said; they must say the same now.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crmcli.store import HEAD
from tests.conftest import Crm
from tests.reliability_support import revision

DATA = Path(__file__).parent / "data"
MADE_ON = "2026-03-16"  # the CRM_TODAY the file and its report figures were made with


@pytest.fixture
def old_db(crm_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    crm_env.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(DATA / "crm_0004.sqlite", crm_env)
    crm_env.chmod(0o600)
    monkeypatch.setenv("CRM_TODAY", MADE_ON)
    monkeypatch.setenv("CRM_USER", "wang")
    assert revision(crm_env) == "0004"
    return crm_env


def _deals(path: Path, cols: str = "id, customer_id, amount, date") -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return list(con.execute(f"SELECT {cols} FROM deal ORDER BY id"))
    finally:
        con.close()


def test_every_deal_becomes_a_won_opportunity(crm: Crm, old_db: Path) -> None:
    before = _deals(old_db)
    assert [(a, d) for _, _, a, d in before] == [(80000.0, "2026-03-14"), (6000.0, "2026-03-15"), (20000.0, "2026-03-16")]
    crm.ok("list")  # a reading command upgrades too
    assert revision(old_db) == HEAD
    assert len(list(old_db.parent.glob("crm.db.bak-0004-*"))) == 1
    after = _deals(old_db, "id, customer_id, amount, date, code, stage, probability, closed_at, owner")
    assert [r[:4] for r in after] == before  # same customer, amount and date
    assert [r[4:] for r in after] == [
        ("O202603001", "won", 100.0, "2026-03-14", "wang"),
        ("O202603002", "won", 100.0, "2026-03-15", "wang"),
        ("O202603003", "won", 100.0, "2026-03-16", "wang"),
    ]
    b = crm.json("show", "B商贸公司")
    assert (b["stage"], b["orders"], b["total_amount"], b["last_order_at"]) == ("won", 2, 100000.0, "2026-03-16")
    assert [d["code"] for d in b["deals"]] == ["O202603003", "O202603001"]
    listed = crm.json("deal", "list", "--won")
    assert [(d["code"], d["amount"], d["closed_at"]) for d in listed] == [
        ("O202603001", 80000.0, "2026-03-14"), ("O202603002", 6000.0, "2026-03-15"), ("O202603003", 20000.0, "2026-03-16"),
    ]  # fmt: skip


def test_reports_say_what_the_release_before_said(crm: Crm, old_db: Path) -> None:
    said = json.loads((DATA / "crm_0004.reports.json").read_text(encoding="utf-8"))
    for kind in ("trend", "abc", "sources"):
        assert crm.json("report", kind) == said[kind], kind
    owners = crm.json("report", "owners")  # it gained opportunity columns; the figures it had are the same
    for old, new in zip(said["owners"]["rows"], owners["rows"], strict=True):
        # except "due": a stage change now counts as contact (issue 18), so a customer moved after
        # its last follow-up is due later than that release said; never sooner
        assert {k: new[k] for k in old if k != "due"} == {k: v for k, v in old.items() if k != "due"}
        assert new["due"] <= old["due"]
    assert [r["due"] for r in owners["rows"]] == [2]  # 3 in that release: one customer moved stage after its last follow-up


def test_the_last_deal_and_an_old_undo_can_still_be_undone(crm: Crm, old_db: Path) -> None:
    crm.ok("undo")  # wang's latest change set: B商贸公司's repeat purchase of 20,000
    b = crm.json("show", "B商贸公司")
    assert (b["stage"], b["orders"], b["total_amount"]) == ("won", 1, 80000.0)
    star = "C202603003"
    assert crm.json("show", star)["stage"] == "potential"
    crm.ok("undo", "20")  # the 0004 release's undo of 星辰贸易's deal, taken back: the deal is put back whole
    rec = crm.json("show", star)
    assert rec["stage"] == "won" and [(d["amount"], d["stage"]) for d in rec["deals"]] == [(30000.0, "won")]
    assert rec["orders"] == 1 and rec["total_amount"] == 30000.0
    assert crm.json("deal", "show", rec["deals"][0]["code"])["customer_code"] == star


def test_the_old_import_batch_is_undone_with_its_deal(crm: Crm, old_db: Path) -> None:
    assert [d["customer_name"] for d in crm.json("deal", "list")].count("清风书院") == 1
    out = crm.json("import", "--undo", "1")
    assert out["deleted_customers"] == 2 and out["deleted_deals"] == 1
    assert [d["customer_name"] for d in crm.json("deal", "list")] == ["B商贸公司", "B商贸公司"]
    assert crm.json("report", "trend")["won_amount"] == 100000.0
