"""Migration 0009 on a database written by the 0008 release (spec §17): the change log's triggers
remade (``store/changelog.py``): moves logged once, a follow-up's next date and plan logged.

``tests/data/crm_0008.sqlite`` was written by the release before (``make_release_db.py 0008``,
37a4dea): 24 change sets, the last but one a merge (星辰贸易 into ABC科技有限公司, its follow-up
moved: a ``move`` change), the last a follow-up after it; its triggers are 0008's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmcli.store import HEAD, changelog
from tests.conftest import Crm
from tests.reliability_support import query as _q
from tests.reliability_support import release_file, revision

DATA = Path(__file__).parent / "data"
TABLES = ("customer", "follow_up", "stage_change", "deal", "tag", "ticket", "custom_value")


@pytest.fixture
def old_db(crm_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRM_TODAY", "2026-03-16")
    monkeypatch.setenv("CRM_USER", "wang")
    return release_file(DATA / "crm_0008.sqlite", crm_env, "0008")


def _triggers(path: Path) -> dict[str, str]:
    return dict(_q(path, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"))


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(_q(path, f"SELECT * FROM {t}"), key=repr) for t in TABLES}


def test_the_upgrade_remakes_the_triggers_and_changes_no_row(crm: Crm, old_db: Path, tmp_path: Path) -> None:
    old = _triggers(old_db)
    assert 'OF "id", "customer_id"' in old["crm_log_follow_up_u"] and "mute" in old["crm_log_follow_up_u"]
    assert "next_date" not in old["crm_log_follow_up_u"]
    rows = _dump(old_db)
    changes = _q(old_db, "SELECT * FROM change ORDER BY id")
    crm.ok("list")  # a reading command upgrades too
    assert revision(old_db) == HEAD
    assert len(list(old_db.parent.glob("crm.db.bak-0008-*"))) == 1
    assert _dump(old_db) == rows and _q(old_db, "SELECT * FROM change ORDER BY id") == changes
    assert _q(old_db, "SELECT count(*) FROM change_gate") == [(0,)]
    new = _triggers(old_db)
    crm.ok("--db", str(tmp_path / "new.db"), "init")
    assert new == _triggers(tmp_path / "new.db") and len(new) == 3 * len(changelog.tracked())
    for table in changelog.MOVABLE:
        assert '"customer_id"' not in new[f"crm_log_{table}_u"].split(" ON ")[0]  # not OF customer_id
    assert '"customer_id"' in new["crm_log_tag_u"].split(" ON ")[0] and "mute" not in new["crm_log_follow_up_u"]
    assert "next_date" in new["crm_log_follow_up_u"]


def test_history_made_before_the_upgrade_still_undoes_and_redoes(crm: Crm, old_db: Path) -> None:
    follows = lambda: _q(old_db, "SELECT id, customer_id, content FROM follow_up ORDER BY id")  # noqa: E731
    assert {(1, "合并之后"), (1, "微信沟通")} <= {(c, t) for _, c, t in follows()}
    crm.ok("undo")  # change set 24: the follow-up after the merge
    merged = _dump(old_db)
    crm.ok("merge", "--undo", "1")  # the 0008 release's merge: its `move` change taken back
    assert (3, "微信沟通") in [(c, t) for _, c, t in follows()]
    assert _q(old_db, "SELECT merged_into, archived FROM customer WHERE id = 3") == [(None, 0)]
    undo = crm.json("history", "--limit", "1")[0]
    assert [(c["table"], c["op"], c["rows"]) for c in undo["changes"] if c["table"] == "follow_up"] == [("follow_up", "move", 1)]
    crm.ok("undo", str(undo["id"]))  # the undo undone: merged again, as the release left it
    assert _dump(old_db) == merged
    # a follow-up's next date, edited after the upgrade, is logged and undone
    crm.ok("follow", "edit", "1", "--next-date", "2026-03-30")
    assert _q(old_db, "SELECT next_date FROM follow_up WHERE id = 1") == [("2026-03-30",)]
    crm.ok("undo")
    assert _dump(old_db) == merged
