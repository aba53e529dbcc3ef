"""Migration 0008 on a database written by the 0007 release (spec §17): the change log's
permanent triggers and their gate (``store/changelog.py``).

``tests/data/crm_0007.sqlite`` was written by the release before (``make_release_db.py 0007``,
a8af4c6), whose change log was TEMP triggers made by each command: 24 change sets, the last but
one a merge (星辰贸易 into ABC科技有限公司, its follow-up moved), the last a follow-up after it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crmcli.store import HEAD, changelog
from tests.conftest import Crm
from tests.reliability_support import query as _q
from tests.reliability_support import release_file, revision

DATA = Path(__file__).parent / "data"


@pytest.fixture
def old_db(crm_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRM_TODAY", "2026-03-16")
    monkeypatch.setenv("CRM_USER", "wang")
    return release_file(DATA / "crm_0007.sqlite", crm_env, "0007")


def _triggers(path: Path) -> list[tuple[Any, ...]]:
    return _q(path, "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")


def test_the_upgrade_installs_the_triggers_and_an_empty_gate(crm: Crm, old_db: Path, tmp_path: Path) -> None:
    assert _triggers(old_db) == []
    counts = _q(old_db, "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM follow_up), (SELECT count(*) FROM change)")
    crm.ok("list")  # a reading command upgrades too
    assert revision(old_db) == HEAD
    assert len(list(old_db.parent.glob("crm.db.bak-0007-*"))) == 1
    assert _q(old_db, "SELECT count(*) FROM change_gate") == [(0,)]
    assert _q(old_db, "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM follow_up), (SELECT count(*) FROM change)") == counts
    # the same triggers as a database made new by this release
    crm.ok("--db", str(tmp_path / "new.db"), "init")
    assert _triggers(old_db) == _triggers(tmp_path / "new.db")
    assert len(_triggers(old_db)) == 3 * len(changelog.tracked())


def test_history_made_before_the_upgrade_still_undoes(crm: Crm, old_db: Path) -> None:
    abc = crm.json("show", "ABC科技有限公司")["code"]
    follows = lambda: _q(old_db, "SELECT customer_id, content FROM follow_up ORDER BY id")  # noqa: E731
    before = follows()
    assert (1, "合并之后") in before and (1, "微信沟通") in before  # the merge moved 星辰贸易's follow-up to ABC (id 1)
    crm.ok("undo")  # change set 24: the follow-up after the merge
    assert (1, "合并之后") not in follows()
    crm.ok("merge", "--undo", "1")  # the merge of the old release, its `move` change taken back
    assert (3, "微信沟通") in follows()
    assert _q(old_db, "SELECT merged_into, archived FROM customer WHERE id = 3") == [(None, 0)]
    assert crm.json("merges")[0]["undone"] is True
    # a change made after the upgrade is logged by the permanent triggers, and undoes too
    crm.ok("edit", abc, "--contact", "张三")
    assert crm.json("history", abc, "--limit", "1")[0]["command"].startswith("crm edit")
    crm.ok("undo")
    assert crm.json("show", abc)["contact"] == "李四"
    assert _q(old_db, "SELECT count(*) FROM change_gate") == [(0,)]


def test_an_upgrade_remakes_triggers_of_another_shape(crm: Crm, old_db: Path) -> None:
    """The triggers are made from the models at the end of every upgrade, whatever the file had."""
    con = sqlite3.connect(old_db)
    con.execute("CREATE TRIGGER crm_log_customer_u AFTER UPDATE ON customer BEGIN SELECT 1; END")
    con.commit()
    con.close()
    crm.ok("list")
    sql = dict((name, sql) for name, _, sql in _triggers(old_db))["crm_log_customer_u"]
    assert "change_gate" in sql and "json_object" in sql
