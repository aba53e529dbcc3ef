"""crm backup, crm restore, crm check: copies that are whole, restores that cannot make things worse."""

from __future__ import annotations

import os
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Crm
from tests.reliability_support import (
    count,
    counts,
    crm_run,
    digest,
    integrity,
    mode,
    revision,
    write_config,
    write_lock,
)


def populate(crm: Crm, n: int = 3) -> list[str]:
    codes = []
    for i in range(n):
        code = crm.ok("add", f"客户{i}有限公司", "--phone", f"1380000{i:04d}", "--tag", "vip").strip()
        crm.ok("follow", code, "-c", f"第{i}次电话", "-m", "phone")
        codes.append(code)
    crm.ok("stage", codes[0], "won", "--amount", "5万")
    return codes


def corrupt_a_page(path: Path) -> None:
    """Scribble over the middle of a b-tree page (not the header page): integrity_check must notice."""
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='follow_up'").fetchone()[0]
    con.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        # Fixed bytes (a seeded generator): the same damage every run, so the test cannot flake.
        fh.write(b"\x0d\x00\x00\x00\x05\xff\xff" + random.Random(7).randbytes(64))


def live_files(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir())


# --------------------------------------------------------------------------- backup


def test_backup_default_location_is_private_and_verified(crm: Crm, crm_env: Path) -> None:
    populate(crm)
    before = counts(crm_env)
    out = crm.ok("backup").strip()
    path = Path(out)
    assert re.fullmatch(re.escape(str(crm_env.parent / "backups")) + r"/crm-\d{8}-\d{6}\.db", out)
    assert mode(path.parent) == 0o700 and mode(path) == 0o600
    assert integrity(path) == "ok"
    assert counts(path) == before
    assert revision(path) == revision(crm_env)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    con.close()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no partial files left
    # A second backup in the same second does not overwrite the first.
    second = Path(crm.ok("backup").strip())
    assert second != path and second.exists() and path.exists()


def test_backup_to_a_file_or_directory(crm: Crm, tmp_path: Path) -> None:
    populate(crm, 1)
    target = tmp_path / "copy.db"
    assert crm.ok("backup", str(target)).strip() == str(target)
    assert mode(target) == 0o600 and integrity(target) == "ok"
    # An older backup is replaced (a nightly cron job reuses the name) ...
    crm.ok("add", "新客户", "--phone", "13900000001")
    crm.ok("backup", str(target))
    assert count(target, "customer") == 2
    # ... and a directory gets the default name inside it.
    out = Path(crm.ok("backup", str(tmp_path)).strip())
    assert out.parent == tmp_path and out.name.startswith("crm-") and integrity(out) == "ok"


def test_backup_refuses_to_overwrite_other_files(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm, 1)
    precious = tmp_path / "report.xlsx"
    precious.write_bytes(b"PK\x03\x04 not a database")
    result = crm("backup", str(precious))
    assert result.exit_code == 1 and "refusing to overwrite" in result.stderr
    assert precious.read_bytes() == b"PK\x03\x04 not a database"
    result = crm("backup", str(crm_env))
    assert result.exit_code == 1 and "live database" in result.stderr
    result = crm("backup", str(tmp_path / "no" / "such" / "dir" / "x.db"))
    assert result.exit_code == 1 and "does not exist" in result.stderr
    result = crm("backup", str(tmp_path / "usb") + "/")  # a directory that is not there
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "usb").exists()


def test_backup_of_a_newer_schema_works_and_of_a_damaged_file_fails(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm)
    from crmcli import store

    store.dispose_all()
    con = sqlite3.connect(crm_env)
    con.execute("UPDATE alembic_version SET version_num='9999'")  # written by a newer crm
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    out = Path(crm.ok("backup", str(tmp_path / "newer.db")).strip())
    assert revision(out) == "9999" and integrity(out) == "ok"
    corrupt_a_page(crm_env)
    result = crm("backup", str(tmp_path / "damaged.db"))
    assert result.exit_code == 1 and "damaged" in result.stderr and "no backup was written" in result.stderr
    assert not (tmp_path / "damaged.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file left


def test_backup_without_a_database(crm: Crm, crm_env: Path) -> None:
    result = crm("backup")
    assert result.exit_code == 1 and "no database" in result.stderr
    assert not crm_env.exists()  # backup never creates the database


def test_backup_while_another_process_writes(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """A writer in the middle of a transaction neither blocks the backup nor leaks into it."""
    populate(crm)
    before = counts(crm_env)
    with write_lock(crm_env, insert_customer=True):
        run = crm_run("backup", str(tmp_path / "during.db"))
        assert run.returncode == 0, run.stderr
    assert integrity(tmp_path / "during.db") == "ok"
    assert counts(tmp_path / "during.db") == before  # the uncommitted row is not in it


def test_backup_during_a_stream_of_commits(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """Backups taken while another process commits follow-ups are each a consistent snapshot."""
    codes = populate(crm, 2)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                from typer.testing import CliRunner
                from crmcli.cli import app
                runner = CliRunner()
                for i in range(40):
                    r = runner.invoke(app, ["follow", {codes[1]!r}, "-c", f"call {{i}}"])
                    assert r.exit_code == 0, r.output
                """
            ),
        ],
    )
    copies = []
    try:
        for i in range(5):
            run = crm_run("backup", str(tmp_path / f"b{i}.db"))
            assert run.returncode == 0, run.stderr
            copies.append(tmp_path / f"b{i}.db")
    finally:
        assert writer.wait(timeout=120) == 0
    seen = []
    for path in copies:
        assert integrity(path) == "ok"
        con = sqlite3.connect(path)
        n = con.execute("SELECT count(*) FROM follow_up").fetchone()[0]
        seen.append(n)
        con.close()
    assert seen == sorted(seen) and 2 <= seen[0] and seen[-1] <= 2 + 40
    assert count(crm_env, "follow_up") == 2 + 40


# --------------------------------------------------------------------------- restore


def test_restore_puts_back_the_backup_and_keeps_what_it_replaced(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    codes = populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    saved = counts(crm_env)
    crm.ok("add", "后来的客户", "--phone", "13911112222")
    crm.ok("follow", codes[1], "-c", "后来的跟进")
    changed = counts(crm_env)
    assert changed != saved

    backup_bytes = digest(backup)
    out = crm.ok("restore", str(backup))
    assert "Restored" in out and "kept at" in out
    assert digest(backup) == backup_bytes  # the user's file is never modified
    assert counts(crm_env) == saved
    kept = [p for p in crm_env.parent.iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 1 and mode(kept[0]) == 0o600
    assert counts(kept[0]) == changed and integrity(kept[0]) == "ok"
    assert mode(crm_env) == 0o600
    assert "后来的客户" not in crm.ok("list", "--format", "csv")
    # The restored database is fully usable, in WAL mode, and passes crm check.
    crm.ok("add", "恢复后的客户", "--phone", "13933334444")
    assert crm.json("check")["ok"] is True
    con = sqlite3.connect(crm_env)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert not [p for p in crm_env.parent.iterdir() if ".restore-" in p.name]  # temporary copy removed


def test_restore_into_a_missing_database(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    saved = counts(crm_env)
    from crmcli import store

    store.dispose_all()
    for p in crm_env.parent.iterdir():
        p.unlink()
    crm_env.parent.rmdir()
    out = crm.ok("restore", str(backup))
    assert "kept at" not in out
    assert counts(crm_env) == saved and mode(crm_env) == 0o600 and mode(crm_env.parent) == 0o700


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    files["random bytes"] = tmp_path / "random.db"
    files["random bytes"].write_bytes(os.urandom(8192))
    files["empty"] = tmp_path / "empty.db"
    files["empty"].write_bytes(b"")
    files["spreadsheet renamed"] = tmp_path / "sheet.db"
    files["spreadsheet renamed"].write_bytes(b"PK\x03\x04" + os.urandom(4000))
    data = good.read_bytes()
    files["truncated"] = tmp_path / "truncated.db"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["corrupt page"] = tmp_path / "corrupt.db"
    files["corrupt page"].write_bytes(data)
    corrupt_a_page(files["corrupt page"])
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    files["not a crm database"] = other
    newer = tmp_path / "newer.db"
    newer.write_bytes(data)
    con = sqlite3.connect(newer)
    con.execute("UPDATE alembic_version SET version_num='9999'")
    con.commit()
    con.close()
    files["newer schema"] = newer
    orphan = tmp_path / "orphan.db"
    orphan.write_bytes(data)
    con = sqlite3.connect(orphan)  # foreign keys are off on a plain connection
    con.execute("INSERT INTO follow_up (customer_id, date, content) VALUES (4242, '2026-01-01', 'orphan')")
    con.commit()
    con.close()
    files["broken foreign key"] = orphan
    return files


NEEDLES = {
    "random bytes": "not a SQLite database",
    "empty": "empty",
    "spreadsheet renamed": "not a SQLite database",
    "truncated": "",
    "corrupt page": "",
    "not a crm database": "not a crm database",
    "newer schema": "newer",
    "broken foreign key": "foreign keys",
}


@pytest.mark.parametrize("kind", list(NEEDLES))
def test_restore_refuses_bad_files_and_changes_nothing(crm: Crm, crm_env: Path, tmp_path: Path, kind: str) -> None:
    populate(crm)
    good = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    bad = _bad_files(tmp_path, good)[kind]
    from crmcli import store

    store.dispose_all()
    live_before = digest(crm_env)
    files_before = live_files(crm_env)
    bad_before = digest(bad)
    result = crm("restore", str(bad))
    assert result.exit_code == 1, (kind, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert NEEDLES[kind] in result.stderr
    assert digest(crm_env) == live_before
    assert live_files(crm_env) == files_before  # no kept copy, no temporary left behind
    assert digest(bad) == bad_before
    assert crm.json("check")["ok"] is True


def test_restore_refuses_missing_and_live_files(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm, 1)
    result = crm("restore", str(tmp_path / "nope.db"))
    assert result.exit_code == 1 and "no such file" in result.stderr
    result = crm("restore", str(tmp_path))
    assert result.exit_code == 1 and "not a file" in result.stderr
    result = crm("restore", str(crm_env))
    assert result.exit_code == 1 and "live database" in result.stderr


def test_restore_while_another_process_reads(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """A process with the database open sees the old or the restored database, never a mix."""
    populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    for i in range(20):
        crm.ok("add", f"后加{i}", "--phone", f"1391111{i:04d}")
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sqlite3, sys
                con = sqlite3.connect({str(crm_env)!r}, isolation_level=None)
                con.execute("BEGIN")
                print(con.execute("SELECT count(*) FROM customer").fetchone()[0], flush=True)
                sys.stdin.readline()
                print(con.execute("SELECT count(*) FROM customer").fetchone()[0], flush=True)  # same snapshot
                con.execute("COMMIT")
                print(con.execute("SELECT count(*) FROM customer").fetchone()[0], flush=True)  # restored
                print(con.execute("PRAGMA integrity_check").fetchone()[0], flush=True)
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdin is not None
    assert reader.stdout.readline().strip() == "23"
    run = crm_run("restore", str(backup))
    assert run.returncode == 0, run.stderr
    out, _ = reader.communicate("\n", timeout=30)
    assert out.split() == ["23", "3", "ok"]
    assert count(crm_env, "customer") == 3 and integrity(crm_env) == "ok"


def test_restore_waits_for_a_writer_then_gives_up_with_exit_4(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    crm.ok("add", "后来的客户", "--phone", "13911112222")
    write_config(tmp_path / "crm.toml", busy_timeout=1)
    from crmcli import store

    store.dispose_all()
    before = counts(crm_env)
    with write_lock(crm_env):
        run = crm_run("restore", str(backup))
    assert run.returncode == 4, run.stderr
    assert run.stderr.startswith("Error: ") and len(run.stderr.strip().splitlines()) == 1 and "busy" in run.stderr
    assert counts(crm_env) == before and integrity(crm_env) == "ok"
    assert not [p for p in crm_env.parent.iterdir() if "restore" in p.name]


def test_restore_over_a_destroyed_database(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """Even when the live file is garbage (and has a stale -wal), restore works and keeps the garbage."""
    populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    saved = counts(crm_env)
    from crmcli import store

    store.dispose_all()
    garbage = os.urandom(50_000)
    crm_env.write_bytes(garbage)
    wal = crm_env.with_name(crm_env.name + "-wal")
    wal.write_bytes(os.urandom(10_000))
    assert crm("list").exit_code == 1
    out = crm.ok("restore", str(backup))
    assert "kept at" in out
    kept = next(p for p in crm_env.parent.iterdir() if p.name.startswith("crm.db.before-restore-") and not p.name.endswith("-wal"))
    assert kept.read_bytes() == garbage and mode(kept) == 0o600
    assert counts(crm_env) == saved and integrity(crm_env) == "ok"
    crm.ok("list")


def test_restore_over_a_damaged_page(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    saved = counts(crm_env)
    from crmcli import store

    store.dispose_all()
    con = sqlite3.connect(crm_env)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    corrupt_a_page(crm_env)
    assert crm("check").exit_code == 1
    crm.ok("restore", str(backup))
    assert counts(crm_env) == saved and integrity(crm_env) == "ok"


# --------------------------------------------------------------------------- check


def test_check_reports_counts_and_revision(crm: Crm, crm_env: Path) -> None:
    populate(crm)
    from crmcli.store import HEAD

    rep = crm.json("check")
    assert rep["ok"] is True and rep["integrity"] == "ok" and rep["foreign_keys"] == "ok"
    assert rep["revision"] == HEAD and rep["schema"] == "current"
    assert rep["counts"] == {"customers": 3, "follow_ups": 3, "stage_changes": 1, "deals": 1, "import_batches": 0}
    table = crm.ok("check")
    assert "Integrity" in table and "Customers" in table and HEAD in table
    zh = crm.ok("--lang", "zh", "check")
    assert "完整性" in zh and "跟进记录" in zh


def test_check_fails_on_broken_foreign_keys(crm: Crm, crm_env: Path) -> None:
    populate(crm)
    from crmcli import store

    store.dispose_all()
    con = sqlite3.connect(crm_env)
    con.execute("INSERT INTO follow_up (customer_id, date, content) VALUES (4242, '2026-01-01', 'orphan')")
    con.commit()
    con.close()
    result = crm("check")
    assert result.exit_code == 1 and "foreign keys" in result.stderr
    assert "FAILED" in result.stdout and "follow_up" in result.stdout


def test_check_fails_on_a_damaged_file(crm: Crm, crm_env: Path) -> None:
    populate(crm)
    from crmcli import store

    store.dispose_all()
    con = sqlite3.connect(crm_env)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    corrupt_a_page(crm_env)
    result = crm("check", "--format", "json")
    assert result.exit_code == 1 and "integrity" in result.stderr
    import json

    rep = json.loads(result.stdout)
    assert rep["ok"] is False and rep["integrity"] != "ok"
    crm_env.write_bytes(b"garbage" * 1000)
    result = crm("check")
    assert result.exit_code == 1 and "FAILED" in result.stdout


def test_check_without_a_database(crm: Crm, crm_env: Path) -> None:
    result = crm("check")
    assert result.exit_code == 1 and "no database" in result.stderr
    assert not crm_env.exists()
