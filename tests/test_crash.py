"""Crash safety: SIGKILL in the middle of a 20,000-row import leaves all of it or none of it.

The import is one write transaction. Two moments are hit: while the import holds its write
lock (rows going into the transaction), and while its commit is being written to the -wal file
(the WAL growing past the size of an empty schema). After the kill the database must pass
``PRAGMA integrity_check`` and hold 0 or 20,000 customers, and the next command works normally.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Crm
from tests.reliability_support import CRM, count, crm_run, integrity

ROWS = 20_000


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.generate import write_csv

    return write_csv(tmp_path_factory.mktemp("crash") / "customers_20k.csv", ROWS)


def holds_write_lock(db: Path) -> Callable[[], bool]:
    con = sqlite3.connect(db, timeout=0, isolation_level=None)

    def probe() -> bool:
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True  # someone else (the import) holds the write lock
        con.execute("ROLLBACK")
        return False

    return probe


def wal_past(db: Path, size: int) -> Callable[[], bool]:
    wal = db.with_name(db.name + "-wal")
    return lambda: wal.exists() and wal.stat().st_size > size


def kill_import_when(csv: Path, ready: Callable[[], bool], extra_delay: float) -> tuple[bool, float]:
    """Start `crm import`, SIGKILL it once ``ready()`` (+ ``extra_delay`` s); (killed while running, seconds)."""
    proc = subprocess.Popen([*CRM, "import", str(csv)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    try:
        while proc.poll() is None and not ready():
            if time.monotonic() - start > 120:
                raise TimeoutError("the import never reached the moment to kill it")
            time.sleep(0.001)
        if extra_delay:
            time.sleep(extra_delay)
        running = proc.poll() is None
        if running:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    return running, time.monotonic() - start


def assert_all_or_nothing(db: Path) -> int:
    assert integrity(db) == "ok"
    customers = count(db, "customer")
    assert customers in (0, ROWS)
    assert count(db, "follow_up") == customers  # one follow-up per generated row
    assert count(db, "import_batch") == (1 if customers else 0)
    con = sqlite3.connect(db)
    assert list(con.execute("PRAGMA foreign_key_check")) == []
    con.close()
    return customers


def the_next_commands_work(crm: Crm, db: Path, csv: Path | None) -> None:
    before = count(db, "customer")
    if csv is not None:  # the same import again, in a new process: it runs to the end
        run = crm_run("import", str(csv))
        assert run.returncode == 0, run.stderr
        assert count(db, "customer") == ROWS and count(db, "follow_up") == ROWS
        before = ROWS
    crm.ok("add", "崩溃之后的客户", "--phone", "13900009999")
    assert crm.json("check")["ok"] is True
    assert count(db, "customer") == before + 1


@pytest.mark.parametrize(
    ("moment", "extra_delay"),
    [("while the import holds its write transaction", 0.4), ("while the commit is being written", 0.0)],
)
def test_sigkill_mid_import_leaves_all_or_nothing(crm: Crm, crm_env: Path, big_csv: Path, moment: str, extra_delay: float) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    from crmcli import store

    for _attempt in range(3):  # the commit takes a few tens of ms: on a fast machine, try again
        store.dispose_all()  # else init reuses the cached engine of the file unlinked below and creates nothing:
        for p in crm_env.parent.glob("crm.db*"):  # the import would then be killed creating the schema
            p.unlink()
        crm.ok("init")  # create the database
        store.dispose_all()
        assert not crm_env.with_name(crm_env.name + "-wal").exists()
        ready = holds_write_lock(crm_env) if "transaction" in moment else wal_past(crm_env, 1_000_000)
        running, _ = kill_import_when(big_csv, ready, extra_delay)
        if running:
            break
    assert running, f"the import finished before it could be killed {moment}"
    customers = assert_all_or_nothing(crm_env)
    if "transaction" in moment:
        assert customers == 0  # killed before its COMMIT: nothing of it may show
    the_next_commands_work(crm, crm_env, big_csv if "transaction" in moment else None)
