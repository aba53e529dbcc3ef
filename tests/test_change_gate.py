"""The change log's gate on SQLite (``store/changelog.py``): the one row that switches the
permanent triggers on lives only inside a writing transaction, never committed.

If it were ever committed, every later write by anyone -- an import, another process, a user's
``sqlite3`` shell -- would be logged into a change set that is not theirs. So after every kind of
command, failed or killed ones included, the table must be empty as the other connections see it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crmcli.store import changelog, open_store
from tests.conftest import Crm
from tests.reliability_support import query


def gate_rows(path: Path) -> list[tuple[object, ...]]:
    return query(path, "SELECT * FROM change_gate")


def test_no_command_leaves_a_gate_row(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "leads.csv"
    sheet.write_text("客户名称,联系电话\n丙公司,13900000003\n", encoding="utf-8")
    commands = [
        ("add", "甲公司", "--phone", "13900000001", "--tag", "重点"),
        ("add", "甲公司集团", "--phone", "13900000002", "--email", "a@example.com"),
        ("follow", "C202611002", "--content", "电话"),
        ("edit", "C202611001", "--contact", "李四"),
        ("merge", "C202611001", "C202611002"),
        ("import", str(sheet)),
        ("undo",),
        ("merge", "--undo", "1"),
    ]
    for args in commands:
        crm.ok(*args)
        assert gate_rows(crm_env) == [], args
    for args in (("merge", "C202611001", "C202611001"), ("follow", "C202699999", "--content", "x"), ("undo", "999")):
        assert crm(*args).exit_code != 0
        assert gate_rows(crm_env) == [], args
    assert len(crm.json("history")) >= 6  # they were logged all the same


def test_only_the_writing_transaction_sees_the_gate(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "甲公司", "--phone", "13900000001")
    st = open_store(crm_env)
    with st.write(user="u", command="c") as conn:
        assert conn.exec_driver_sql("SELECT set_id FROM change_gate").scalar() == conn.info["change_set"]
        assert gate_rows(crm_env) == []  # another connection (WAL: the last commit) sees none
        other = sqlite3.connect(crm_env)
        other.execute("SELECT count(*) FROM customer").fetchone()
        other.close()


def test_an_error_mid_command_leaves_no_gate_row_and_no_change(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "甲公司", "--phone", "13900000001")
    changes = len(crm.json("history"))
    st = open_store(crm_env)
    with pytest.raises(RuntimeError), st.write(user="u", command="c") as conn:
        conn.exec_driver_sql("UPDATE customer SET contact = '王五'")
        raise RuntimeError("a command fails half way")
    with pytest.raises(Exception, match="FOREIGN KEY"), st.write(user="u", command="c") as conn:
        conn.exec_driver_sql("UPDATE customer SET contact = '王五'")
        conn.exec_driver_sql("INSERT INTO follow_up (customer_id, date, content) VALUES (999, '2026-01-01', 'x')")
    assert gate_rows(crm_env) == []
    assert crm.json("show", "甲公司")["contact"] is None and len(crm.json("history")) == changes
    with st.write(user="u", command="c") as conn:  # the pooled connection logs as before
        conn.exec_driver_sql("UPDATE customer SET contact = '王五'")
    assert len(crm.json("history")) == changes + 1 and gate_rows(crm_env) == []


def test_other_clients_write_unlogged_with_sqlite_alone(crm: Crm, crm_env: Path) -> None:
    """A user's own sqlite3 (no function of ours registered) edits the file; nothing is logged."""
    crm.ok("add", "甲公司", "--phone", "13900000001", "--tag", "重点")
    before = gate_rows(crm_env), len(crm.json("history"))
    con = sqlite3.connect(crm_env)
    changes = con.execute("SELECT count(*) FROM change").fetchone()
    con.execute("UPDATE customer SET contact = '赵六'")
    con.execute("INSERT INTO follow_up (customer_id, date, content) VALUES (1, '2026-11-26', '手工')")
    con.execute("DELETE FROM tag")
    con.commit()
    assert con.execute("SELECT count(*) FROM change").fetchone() == changes and con.execute("SELECT contact FROM customer").fetchone() == ("赵六",)
    con.close()
    assert (gate_rows(crm_env), len(crm.json("history"))) == before


KILLED = """
import sys
from pathlib import Path
from crmcli.store import open_store
st = open_store(Path(sys.argv[1]))
with st.write(user="u", command="killed") as conn:
    conn.exec_driver_sql("UPDATE customer SET contact = '王五'")
    print("inside", flush=True)
    sys.stdin.readline()  # killed here, the gate row written and the transaction open
"""


def test_a_killed_command_leaves_no_gate_row(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "甲公司", "--phone", "13900000001")
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(crm_env)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "inside\n"
        proc.kill()
    finally:
        proc.wait()
    assert gate_rows(crm_env) == []
    assert crm.json("show", "甲公司")["contact"] is None
    crm.ok("edit", "甲公司", "--contact", "李四")  # and the next command logs as ever
    assert crm.json("history", "--limit", "1")[0]["command"].startswith("crm edit") and gate_rows(crm_env) == []


def test_the_gate_holds_one_row_at_most(crm: Crm, crm_env: Path) -> None:
    crm.ok("init")
    con = sqlite3.connect(crm_env)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("INSERT INTO change_gate (id, set_id) VALUES (2, 1)")
    finally:
        con.close()
    assert "change_gate" in changelog.GATE_DDL


def test_an_unlogged_write_ignores_a_gate_row_committed_by_mistake(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """An import is logged by its batch; a gate row left committed (a bug, or a hand in sqlite3)
    must not log its rows into that change set: the unlogged write empties the gate first."""
    crm.ok("add", "甲公司", "--phone", "13900000001")
    con = sqlite3.connect(crm_env)
    stale = con.execute("SELECT max(id) FROM change_set").fetchone()[0]
    con.execute("INSERT INTO change_gate (id, set_id) VALUES (1, ?)", (stale,))
    con.commit()
    before = con.execute("SELECT count(*) FROM change WHERE set_id = ?", (stale,)).fetchone()
    con.close()
    leads = tmp_path / "leads.csv"
    leads.write_text("客户名称,联系电话\n乙公司,13900000002\n丙公司,13900000003\n", encoding="utf-8")
    assert crm.json("import", str(leads))["created"] == 2
    con = sqlite3.connect(crm_env)
    try:
        assert con.execute("SELECT count(*) FROM change WHERE set_id = ?", (stale,)).fetchone() == before
    finally:
        con.close()
    assert gate_rows(crm_env) == []
