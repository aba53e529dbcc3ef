"""Several processes on one database: writers wait for each other, readers never fail, counts are exact."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import Crm
from tests.reliability_support import count, counts, crm_run, integrity, write_config, write_lock

# A worker process: runs crm commands in-process in a loop (one OS process, its own SQLite
# connections), reopening the database after each command like a fresh `crm` would.
WORKER = """
import json, os, sqlite3, sys, time
from typer.testing import CliRunner
from crmcli import store
from crmcli.cli import app

codes = sys.argv[1].split(",")
rounds = int(sys.argv[2])
allowed = {int(n) for n in sys.argv[3].split(",")}  # customer counts a list may show
stop = sys.argv[4] if len(sys.argv) > 4 else None  # keep going until this file exists
runner = CliRunner()
longest = 0.0
# With a stop file: say "ready" after the first round (the test waits for that line), and end
# only after a whole round that began once the stop file existed -- so that round's writes come
# after whatever the test did before creating the file.
finishing = stop is None

def run(*args):
    global longest
    start = time.monotonic()
    r = runner.invoke(app, list(args))
    store.dispose_all()
    if r.exit_code != 0:
        sys.stderr.write(f"crm {' '.join(args)} -> {r.exit_code}: {r.stderr}\\n")
        sys.exit(1)
    longest = max(longest, time.monotonic() - start)
    return r.stdout

i = stages = 0
while i < rounds or not finishing:
    saw_stop = stop is not None and os.path.exists(stop)
    code = codes[i % len(codes)]
    run("follow", code, "-c", f"{code} round {i}", "-m", "phone")
    if i % 3 == 0:
        run("stage", code, "intent" if (i // 3) % 2 == 0 else "negotiating")
        stages += 1
    rows = json.loads(run("list", "--format", "json", "--limit", "20", "--sort", "code"))
    con = sqlite3.connect(os.environ["CRM_DB"])  # one committed snapshot: all of an import or none
    seen = con.execute("SELECT count(*) FROM customer").fetchone()[0]
    con.close()
    if len(rows) != min(20, seen) or seen not in allowed:
        sys.stderr.write(f"list saw {seen} customers, expected one of {sorted(allowed)}\\n")
        sys.exit(1)
    i += 1
    if stop is not None and i == 1:
        print("ready", flush=True)
    if saw_stop:
        finishing = True
print(json.dumps({"rounds": i, "stages": stages, "longest": longest}))
"""

# Another process that keeps taking the write lock for a while, like an import transaction.
HOG = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    con.execute("BEGIN IMMEDIATE")
    time.sleep(0.3)
    con.execute("COMMIT")
    n += 1
    time.sleep(0.05)
print(n)
"""


def add_customers(crm: Crm, prefix: str, n: int, start: int) -> list[str]:
    # Own codes (not C+YYYYMM+serial), so that they never collide with the codes of an imported file.
    return [crm.ok("add", f"{prefix}{i}公司", "--phone", f"139{start + i:08d}", "--code", f"T{start + i}").strip() for i in range(n)]


def test_writers_wait_readers_never_fail_counts_exact(crm: Crm, crm_env: Path) -> None:
    groups = [add_customers(crm, f"W{w}客户", 3, w * 100) for w in range(3)]
    total = sum(len(g) for g in groups)
    from crmcli import store

    store.dispose_all()
    rounds = 6
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(crm_env), "2.5"], stdout=subprocess.PIPE, text=True)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, ",".join(g), str(rounds), str(total)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for g in groups
    ]
    # Meanwhile, real `crm` processes read: they must never fail, lock or no lock.
    reads = []
    for _ in range(3):
        run = crm_run("list", "--format", "json")
        reads.append(run)
    for w in workers:
        out, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
        assert json.loads(out)["rounds"] == rounds
    hog_out, _ = hog.communicate(timeout=60)
    assert int(hog_out) >= 3  # the lock really was taken, repeatedly
    for run in reads:
        assert run.returncode == 0, run.stderr
        assert len(json.loads(run.stdout)) == total

    assert count(crm_env, "follow_up") == 3 * rounds
    stage_changes = sum(len(range(0, rounds, 3)) for _ in groups)  # every 3rd round moves the stage
    assert count(crm_env, "stage_change") == stage_changes
    assert count(crm_env, "customer") == total
    assert integrity(crm_env) == "ok"
    # Every customer's derived summary agrees with its follow-ups (no lost update).
    for g in groups:
        for code in g:
            rec = crm.json("show", code)
            assert len(rec["follow_ups"]) == rounds // 3
            assert rec["last_follow_at"] == "2026-11-26"


def test_writer_waits_through_a_short_lock(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001").strip()
    write_config(tmp_path / "crm.toml", busy_timeout=20)
    from crmcli import store

    store.dispose_all()
    results = {}
    with write_lock(crm_env):

        def follow() -> None:
            results["run"] = crm_run("follow", code, "-c", "等了一会儿")

        t = threading.Thread(target=follow)
        t.start()
        time.sleep(2.0)
        assert t.is_alive()  # still waiting for the lock
    t.join(timeout=60)
    run = results["run"]
    assert run.returncode == 0, run.stderr
    assert count(crm_env, "follow_up") == 1


def test_blocked_writer_exits_4_with_one_line_and_writes_nothing(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001").strip()
    crm.ok("follow", code, "-c", "第一次")
    write_config(tmp_path / "crm.toml", busy_timeout=1)
    from crmcli import store

    store.dispose_all()
    before = counts(crm_env)
    writes = [
        ("follow", code, "-c", "写不进去"),
        ("stage", code, "won", "--amount", "5万"),
        ("archive", code),
    ]
    reads = [("list", "--due"), ("show", code, "--format", "json"), ("backup", str(tmp_path / "b.db"))]
    outcomes: dict[tuple[str, ...], object] = {}

    def go(args: tuple[str, ...]) -> None:
        outcomes[args] = crm_run(*args)

    with write_lock(crm_env, insert_customer=True):
        threads = [threading.Thread(target=go, args=(a,)) for a in writes + reads]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    for args in writes:
        run = outcomes[args]
        assert run.returncode == 4, (args, run.stdout, run.stderr)  # type: ignore[attr-defined]
        lines = run.stderr.strip().splitlines()  # type: ignore[attr-defined]
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "busy" in lines[0], (args, run.stderr)  # type: ignore[attr-defined]
        assert "Traceback" not in run.stderr and run.stdout == ""  # type: ignore[attr-defined]
        assert run.seconds >= 1.0  # type: ignore[attr-defined]  # it did wait for the timeout
    for args in reads:
        run = outcomes[args]
        assert run.returncode == 0, (args, run.stderr)  # type: ignore[attr-defined]
    assert counts(crm_env) == before
    assert crm.json("show", code)["archived"] is False
    assert integrity(crm_env) == "ok"


IMPORT_ROWS = 5_000


def test_import_while_others_follow_stage_and_list(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """`crm import` (one long write transaction) in one process; follow/stage/list loops in others."""
    from bench.generate import write_csv

    csv_path = write_csv(tmp_path / "leads.csv", IMPORT_ROWS)
    groups = [add_customers(crm, f"W{w}客户", 3, w * 100) for w in range(2)]
    before = sum(len(g) for g in groups)
    from crmcli import store

    store.dispose_all()
    stop = tmp_path / "stop"
    allowed = f"{before},{before + IMPORT_ROWS}"  # a list sees the import entirely or not at all
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, ",".join(g), "3", allowed, str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for g in groups
    ]
    try:
        for w in workers:  # each worker has written before the import starts
            assert w.stdout is not None and w.stdout.readline().strip() == "ready", w.stderr.read() if w.stderr else ""
        run = crm_run("import", str(csv_path), "--format", "json")
    finally:
        stop.touch()
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["created"] == IMPORT_ROWS and summary["rejected"] == 0
    reports = []
    for w in workers:
        out, err = w.communicate(timeout=180)
        assert w.returncode == 0, err
        reports.append(json.loads(out))
    # The workers wrote before the import's transaction and after it (so, during it, they waited).
    con = sqlite3.connect(crm_env)
    lo, hi = con.execute("SELECT min(id), max(id) FROM follow_up WHERE batch_id IS NOT NULL").fetchone()
    before_import = con.execute("SELECT count(*) FROM follow_up WHERE batch_id IS NULL AND id < ?", (lo,)).fetchone()[0]
    after_import = con.execute("SELECT count(*) FROM follow_up WHERE batch_id IS NULL AND id > ?", (hi,)).fetchone()[0]
    con.close()
    assert before_import > 0 and after_import > 0, (before_import, after_import, reports)

    assert count(crm_env, "customer") == before + IMPORT_ROWS
    assert count(crm_env, "follow_up") == summary["follow_ups"] + sum(r["rounds"] for r in reports)
    assert count(crm_env, "stage_change") == sum(r["stages"] for r in reports) + count(crm_env, "stage_change", "WHERE batch_id IS NOT NULL")
    assert count(crm_env, "import_batch") == 1
    assert integrity(crm_env) == "ok"
