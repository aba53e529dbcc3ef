"""The change log around moves (spec §14, §18): a merge logs each table's moved rows as one ``move``
change, the update triggers of the movable tables are not ``OF customer_id`` (``changelog``), so
everything else that changes those rows must still be logged, and every move -- a merge, its
undo, the undo of that -- must be logged by ``changelog.move_rows`` to stay undoable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crmcli.store import changelog
from tests import db_rows
from tests.conftest import Crm

TABLES = ("customer", "follow_up", "stage_change", "deal", "deal_line", "tag", "ticket", "custom_value")
SRC = Path(__file__).resolve().parents[1] / "src" / "crmcli"


def latest_changes() -> set[tuple[str, str]]:
    """(table, op) of the newest change set's changes."""
    return {(t, op) for t, op in db_rows._query("SELECT table_name, op FROM change WHERE set_id = (SELECT max(set_id) FROM change)")}


def undo_the_undo(crm: Crm) -> None:
    """``crm undo N`` of the latest change set, an undo (``crm undo`` alone passes undos by)."""
    latest = crm.json("history", "--limit", "1")[0]
    assert latest["command"].startswith(("crm undo", "crm merge --undo"))
    crm.ok("undo", str(latest["id"]))


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_an_edit_of_a_follow_up_is_logged_undone_and_redone(crm: Crm) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("follow", "甲公司", "-c", "电话", "--next-date", "+3d", "--next-plan", "报价")
    before = db_rows.dump(TABLES)
    crm.ok("follow", "edit", "1", "-c", "改过")
    assert latest_changes() == {("follow_up", "update")}
    crm.ok("undo")
    assert db_rows.dump(TABLES) == before
    # its next date and plan alone: what the user typed, not the customer's derived columns
    crm.ok("follow", "edit", "1", "--next-date", "+5d", "--next-plan", "送样")
    edited = db_rows.dump(TABLES)
    change = crm.json("history", "--limit", "1")[0]["changes"]
    assert [(c["table"], c["op"], sorted(c["fields"])) for c in change] == [("follow_up", "update", ["next_date", "next_plan"])]
    crm.ok("undo")
    assert db_rows.dump(TABLES) == before  # the customer's next follow-up worked out again too
    undo_the_undo(crm)
    assert db_rows.dump(TABLES) == edited


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_a_merge_its_undo_and_the_undo_of_that_restore_exactly(crm: Crm) -> None:
    crm.ok("add", "杭州云帆科技有限公司", "--phone", "13857112345", "--tag", "华东")
    crm.ok("add", "杭州云帆科技", "--phone", "13857112399", "--email", "a@yunfan.example.com", "--tag", "重点")
    crm.ok("follow", "C202611002", "-c", "一", "--next-date", "+3d")
    crm.ok("follow", "C202611002", "-c", "二")
    crm.ok("stage", "C202611002", "won", "--amount", "5万")  # a stage change and an opportunity
    crm.ok("ticket", "add", "C202611002", "--type", "产品质量", "--content", "坏了")
    crm.ok("follow", "C202611001", "-c", "KEEP's own")  # must not move anywhere
    before = db_rows.dump(TABLES)
    crm.ok("merge", "C202611001", "C202611002")
    merged = db_rows.dump(TABLES)
    moves = {("follow_up", "move"), ("stage_change", "move"), ("deal", "move"), ("ticket", "move")}
    logged = latest_changes()
    assert moves <= logged and not {(t, "update") for t in changelog.MOVABLE} & logged  # one change a table
    crm.ok("merge", "--undo", "1")
    assert db_rows.dump(TABLES) == before
    logged = latest_changes()
    assert moves <= logged and not {(t, "update") for t in changelog.MOVABLE} & logged  # moved back as moves
    undo_the_undo(crm)  # merged again
    assert db_rows.dump(TABLES) == merged and crm.json("merges")[0]["undone"] is False
    logged = latest_changes()
    assert moves <= logged and not {(t, "update") for t in changelog.MOVABLE} & logged
    crm.ok("undo", str(crm.json("history", "--limit", "1")[0]["id"]))  # and back once more
    assert db_rows.dump(TABLES) == before


def test_a_change_of_customer_alone_is_left_to_move_rows(crm: Crm, crm_env: Path) -> None:
    """The triggers' shape, pinned: not OF customer_id for movable rows, but a statement that also
    changes a logged column is logged whole."""
    from crmcli.store import open_store

    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "乙公司", "--phone", "13800000002")
    crm.ok("follow", "甲公司", "-c", "x")
    st = open_store(crm_env)
    with st.write(user="alice", command="test") as conn:
        conn.exec_driver_sql("UPDATE follow_up SET customer_id = 2 WHERE id = 1")
        assert conn.exec_driver_sql("SELECT count(*) FROM change WHERE set_id = ?", (conn.info["change_set"],)).scalar() == 0
        conn.exec_driver_sql("UPDATE follow_up SET customer_id = 1, content = 'y' WHERE id = 1")
        row = conn.exec_driver_sql("SELECT op, before, after FROM change WHERE set_id = ?", (conn.info["change_set"],)).one()
        assert row[0] == "update" and '"customer_id":2' in row[1] and '"customer_id":1' in row[2]
        conn.exec_driver_sql("UPDATE customer SET email = 'a@b.example.com' WHERE id = 1")  # the customer's are OF it all
        assert conn.exec_driver_sql("SELECT count(*) FROM change WHERE set_id = ?", (conn.info["change_set"],)).scalar() == 2


def test_only_the_change_log_changes_the_customer_of_a_movable_row() -> None:
    """A statement elsewhere that sets only ``customer_id`` of a follow-up, stage change, opportunity
    or ticket would not be logged by the triggers (and could not be undone): moves go through
    ``changelog.move_rows``."""
    movable = "|".join((*changelog.MOVABLE, r"\{table\}"))
    pattern = re.compile(rf"UPDATE\s+(?:{movable})\b[^\n]*\bSET\b[^\n]*customer_id|customer_id\s*=\s*[^=\n]*\)\s*\.where", re.I)
    allowed = {SRC / "store" / "changelog.py", SRC / "store" / "pg_changelog.py"}
    found = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py") if p not in allowed and "migrations" not in p.parts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]  # fmt: skip
    assert found == []


def test_a_customer_change_logged_row_by_row_is_undone_as_a_move(crm: Crm, crm_env: Path) -> None:
    """A log older than moves may hold a follow-up's customer changed as an ``update`` change:
    its undo moves the row back through ``move_rows``, so that undoing the undo moves it again."""
    import sqlite3

    crm.ok("add", "甲公司", "--phone", "13800000001")
    crm.ok("add", "乙公司", "--phone", "13800000002")
    crm.ok("follow", "乙公司", "-c", "x")
    con = sqlite3.connect(crm_env)
    with con:  # follow-up 1 moved from 乙 (2) to 甲 (1), logged one row at a time as such a release did
        con.execute("UPDATE follow_up SET customer_id = 1 WHERE id = 1")
        set_id = con.execute("INSERT INTO change_set (at, user, command, kind) VALUES ('2026-11-26T09:00:00+08:00', 'alice', "
                             "'crm merge 1 2', 'edit') RETURNING id").fetchone()[0]  # fmt: skip
        image = "json_object('id', id, 'customer_id', {c}, 'date', date, 'method', method, 'content', content, 'feedback', feedback, 'by', by)"
        con.execute(f"INSERT INTO change (set_id, table_name, row_id, op, before, after, customer_id) SELECT ?, 'follow_up', id, "
                    f"'update', {image.format(c=2)}, {image.format(c='customer_id')}, 1 FROM follow_up WHERE id = 1", (set_id,))  # fmt: skip
    con.close()
    where = lambda: db_rows._query("SELECT customer_id FROM follow_up WHERE id = 1")[0][0]  # noqa: E731
    crm.ok("undo", str(set_id))
    assert where() == 2 and latest_changes() == {("follow_up", "move")}
    undo_the_undo(crm)
    assert where() == 1


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_a_chain_of_undos_says_what_is_in_effect(crm: Crm) -> None:
    """Undo, undo of the undo, and so on: ``merges``, ``history``, ``merge --undo`` and ``crm undo``
    agree with the data at every step (a change set's ``undone_by`` names the undo in effect)."""
    crm.ok("add", "杭州云帆科技有限公司", "--phone", "13857112345")
    crm.ok("add", "杭州云帆科技", "--phone", "13857112399")
    crm.ok("follow", "C202611002", "-c", "一")
    before = db_rows.dump(TABLES)
    crm.ok("merge", "C202611001", "C202611002")
    merged = db_rows.dump(TABLES)
    merge_set = crm.json("history", "--limit", "1")[0]["id"]

    def in_effect(expected: bool) -> None:
        assert db_rows.dump(TABLES) == (merged if expected else before)
        assert crm.json("merges")[0]["undone"] is (not expected)
        shown = {s["id"]: s["undone"] for s in crm.json("history", "--limit", "20")}
        assert shown[merge_set] is (not expected)

    crm.ok("merge", "--undo", "1")
    in_effect(False)
    for expected in (True, False, True):  # the undo undone, that undone, and once more
        undo_the_undo(crm)
        in_effect(expected)
    crm.ok("merge", "--undo", "1")  # in effect again: it can be taken back again, by name ...
    in_effect(False)
    undo_the_undo(crm)
    crm.ok("undo")  # ... and as the acting user's latest change
    in_effect(False)
    again = crm("merge", "--undo", "1")
    assert again.exit_code == 1 and "already undone" in again.stderr
