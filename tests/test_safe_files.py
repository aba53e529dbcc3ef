"""Every file crm writes goes through one safe writer (``crmcli.safe_files``).

Each test here was written against a way to lose data found by an adversarial tester: a report
workbook written over the live database, a restore racing an import, a full disk, a planted
symlink, a formula smuggled into a report, text cut at Excel's cell limit, temporary files left
behind. Full-disk tests run on a small tmpfs of their own (the suite runs as root, as CI does).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmcli.store import schema, sqlite
from tests.conftest import Crm
from tests.reliability_support import CRM, count, counts, digest, integrity, mode, write_config


def populate(crm: Crm, n: int = 3) -> list[str]:
    codes = [crm.ok("add", f"客户{i}有限公司", "--phone", f"1380000{i:04d}").strip() for i in range(n)]
    crm.ok("follow", codes[0], "-c", "电话沟通")
    crm.ok("stage", codes[1], "lost", "--reason", "价格太高")
    return codes


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- a small disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs of our own, unmounted afterwards."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path, leave: int = 0) -> None:
    """Fill ``disk`` up, leaving about ``leave`` bytes free."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        block = b"\0" * 4096
        while True:
            try:
                os.write(fd, block)
            except OSError:
                break
        if leave:
            os.ftruncate(fd, max(os.fstat(fd).st_size - leave, 0))
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- report --xlsx


def test_report_xlsx_never_writes_over_the_database(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    populate(crm)
    before = counts(crm_env)
    link = tmp_path / "link.xlsx"
    link.symlink_to(crm_env)
    for target in (crm_env, link, crm_env.with_name("crm.db-wal")):
        result = crm("report", "funnel", "--xlsx", str(target))
        assert result.exit_code == 1, target
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert counts(crm_env) == before and integrity(crm_env) == "ok"
    assert link.is_symlink() and link.resolve() == crm_env.resolve()


def test_report_xlsx_never_writes_through_a_symlink_or_over_a_document(crm: Crm, tmp_path: Path) -> None:
    populate(crm)
    precious = tmp_path / "合同.docx"
    precious.write_bytes(b"not a workbook, a contract")
    link = tmp_path / "report.xlsx"
    link.symlink_to(precious)
    result = crm("report", "funnel", "--xlsx", str(link))
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    result = crm("report", "funnel", "--xlsx", str(precious))
    assert result.exit_code == 1 and "not an Excel workbook" in result.stderr
    assert precious.read_bytes() == b"not a workbook, a contract" and link.is_symlink()
    assert temp_files(tmp_path) == []


def test_report_xlsx_is_private_whatever_the_umask_and_replaces_an_older_report(crm: Crm, tmp_path: Path) -> None:
    populate(crm)
    out = tmp_path / "funnel.xlsx"
    old = os.umask(0)
    try:
        crm.ok("report", "funnel", "--xlsx", str(out))
        first = out.read_bytes()
        assert mode(out) == 0o600
        crm.ok("report", "lost", "--xlsx", str(out))  # an older workbook is replaced
    finally:
        os.umask(old)
    assert out.read_bytes() != first and zipfile.is_zipfile(out)
    assert temp_files(tmp_path) == []


def test_report_cells_from_stored_values_never_become_formulas_or_errors(crm: Crm, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    formula = '=HYPERLINK("http://evil.example/?x","点这里")'
    code = crm.ok("add", "甲公司", "--phone", "13800000001", "--industry", "#N/A").strip()
    crm.ok("stage", code, "lost", "--reason", formula)
    for kind, value in (("lost", formula), ("industries", "#N/A")):
        out = tmp_path / f"{kind}.xlsx"
        crm.ok("report", kind, "--xlsx", str(out))
        ws = load_workbook(out).active
        cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
        assert all(c.data_type in ("s", "n") for c in cells), [(c.coordinate, c.data_type, c.value) for c in cells]
        assert str(ws["A1"].value).startswith(value)  # the headline begins with the stored value, as text
        assert any(c.value == value for c in cells)


# --------------------------------------------------------------------------- exports


def test_xlsx_export_refuses_text_longer_than_an_excel_cell_instead_of_cutting_it(crm: Crm, tmp_path: Path) -> None:
    code = crm.ok("add", "甲公司", "--phone", "13800000001").strip()
    long_note = "长" * 40_000
    crm.ok("edit", code, "--note", long_note)
    out = tmp_path / "out.xlsx"
    result = crm("export", str(out))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "32,767" in result.stderr and "40,000" in result.stderr
    assert not out.exists() and temp_files(tmp_path) == []
    crm.ok("export", str(tmp_path / "out.csv"))  # csv keeps it whole
    assert long_note in (tmp_path / "out.csv").read_text(encoding="utf-8-sig")


def test_old_temporary_files_of_ours_are_swept_and_nothing_else(crm: Crm, tmp_path: Path) -> None:
    populate(crm)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    two_days = time.time() - 2 * 86400
    ours_old = [".客户.xlsx.4242.0badf00d.crm-tmp", ".out.csv.99.deadbeef.tmp", ".crm.db.partial-77-journal", ".rejects-abc123.csv"]
    for name in ours_old:
        (out_dir / name).write_text("customer data")
        os.utime(out_dir / name, (two_days, two_days))
    young = out_dir / ".客户.xlsx.4243.0badf00e.crm-tmp"
    young.write_text("an export running right now")
    foreign = out_dir / ".bashrc"
    foreign.write_text("not ours")
    os.utime(foreign, (two_days, two_days))
    crm.ok("export", str(out_dir / "客户.xlsx"))
    assert temp_files(out_dir) == sorted([".bashrc", young.name])


def test_ctrl_c_during_an_xlsx_export_is_one_line_and_leaves_nothing(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    from bench.generate import write_csv

    crm.ok("import", str(write_csv(tmp_path / "leads.csv", 20_000)))
    from crmcli import store

    store.dispose_all()
    out = tmp_path / "out" / "客户.xlsx"
    out.parent.mkdir()
    out.write_bytes(b"PK\x03\x04 an earlier export")
    proc = subprocess.Popen([*CRM, "export", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".crm-tmp") for p in out.parent.iterdir()):  # the export is writing
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.count("\n") == 1 and "interrupted" in stderr.lower(), stderr
    assert out.read_bytes() == b"PK\x03\x04 an earlier export"
    assert temp_files(out.parent) == []


# --------------------------------------------------------------------------- backups and safety copies


@pytest.mark.parametrize("step", ["fchmod", "fsync", "replace"])
def test_ctrl_c_at_any_step_of_a_safe_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """The interrupt of the flaky export test, landed on purpose: while the temporary file is being
    made private, while it is fsynced before the rename, and at the rename itself."""
    from crmcli import safe_files

    target = tmp_path / "客户.xlsx"
    target.write_bytes(b"PK\x03\x04 an earlier export")
    real = {"fchmod": os.fchmod, "fsync": safe_files.fsync_file, "replace": os.replace}

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    where = {"fchmod": (os, "fchmod"), "fsync": (safe_files, "fsync_file"), "replace": (os, "replace")}[step]
    monkeypatch.setattr(*where, interrupted)
    with pytest.raises(KeyboardInterrupt):
        with safe_files.open_for_writing(target, check=safe_files.replaceable_workbook) as fh:
            fh.write(b"PK\x03\x04 half of a new export")
    monkeypatch.setattr(*where, real[step])
    assert target.read_bytes() == b"PK\x03\x04 an earlier export"
    assert temp_files(tmp_path) == [] and safe_files._live == set()


def test_a_temporary_file_an_interrupt_orphaned_is_removed_by_the_boundary(crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a temporary file escape its cleanup block (an interrupt between two statements),
    the error boundary removes it on Ctrl-C: recorded before it exists, until it is renamed."""
    from crmcli import safe_files
    from crmcli.services import exporter

    crm.ok("add", "甲公司", "--phone", "13800000001")
    orphan = safe_files.PendingFile(tmp_path / "orphan.xlsx")  # made, then never committed nor aborted
    assert orphan.path.exists()

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(exporter, "export_file", interrupted)
    result = crm("export", str(tmp_path / "out.xlsx"))
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert not orphan.path.exists() and temp_files(tmp_path) == []


def test_pre_migration_backup_never_follows_a_planted_symlink(crm: Crm, crm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as real_dt

    crm.ok("add", "A公司", "--phone", "13800000001")
    from crmcli import store

    store.dispose_all()
    monkeypatch.setattr(schema, "REVISIONS", ("0000", *schema.REVISIONS))
    con = sqlite3.connect(crm_env)
    con.execute("UPDATE alembic_version SET version_num = '0000'")
    con.commit()
    con.close()
    victim = tmp_path / "victim.txt"
    victim.write_text("my notes")
    now = real_dt.datetime.now()
    for s in range(0, 30):  # the backup's name carries the time: plant one for each of the next seconds
        stamp = (now + real_dt.timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S")
        (crm_env.parent / f"crm.db.bak-0000-{stamp}").symlink_to(victim)
    real = sqlite.migrate

    def migrate(engine, path, current):  # type: ignore[no-untyped-def]
        c = sqlite3.connect(path)
        c.execute("UPDATE alembic_version SET version_num = ?", (schema.HEAD,))
        c.commit()
        c.close()
        real(engine, path, current)

    monkeypatch.setattr(sqlite, "migrate", migrate)
    crm.ok("list")
    assert victim.read_text() == "my notes"
    backups = [p for p in crm_env.parent.glob("crm.db.bak-0000-*") if not p.is_symlink()]
    assert len(backups) == 1 and mode(backups[0]) == 0o600
    assert sqlite3.connect(backups[0]).execute("SELECT count(*) FROM customer").fetchone()[0] == 1


def test_a_database_created_by_another_user_is_refused(crm: Crm, crm_env: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can make a file owned by another user")
    crm.ok("add", "A公司", "--phone", "13800000001")
    from crmcli import store

    store.dispose_all()
    os.chown(crm_env, 65534, 65534)
    os.chmod(crm_env, 0o666)
    result = crm("list")
    assert result.exit_code == 1 and "another user" in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_our_own_database_open_to_others_is_made_private(crm: Crm, crm_env: Path) -> None:
    crm.ok("add", "A公司", "--phone", "13800000001")
    from crmcli import store

    store.dispose_all()
    os.chmod(crm_env, 0o666)
    crm.ok("list")
    assert mode(crm_env) == 0o600


# --------------------------------------------------------------------------- restore racing a writer


def test_restore_waits_for_a_committing_writer_and_keeps_its_rows(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """A restore started while another process is in the middle of a write transaction must not
    copy the live database aside before that transaction commits: its rows would be in neither."""
    populate(crm)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    write_config(tmp_path / "crm.toml", busy_timeout=60)
    from crmcli import store

    store.dispose_all()
    writer = sqlite3.connect(crm_env, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    for i in range(500):
        writer.execute(
            "INSERT INTO customer (code, name, name_key, phone, phone_key, created_at) VALUES (?, ?, ?, ?, ?, '2026-11-26')",
            (f"C2099{i:05d}", f"导入{i}", f"导入{i}", f"1390000{i:04d}", f"1390000{i:04d}"),
        )
    restore = subprocess.Popen([*CRM, "restore", str(backup)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait until the restore has the live database open (its next step needs our lock).
        deadline = time.monotonic() + 60
        live = os.path.realpath(crm_env)
        while True:
            assert restore.poll() is None, restore.communicate()
            assert time.monotonic() < deadline
            try:
                fds = [os.readlink(f"/proc/{restore.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{restore.pid}/fd")]
            except OSError:
                fds = []
            if live in fds:
                break
            time.sleep(0.005)
        writer.execute("COMMIT")  # the import commits while the restore runs
    finally:
        writer.close()
    out, err = restore.communicate(timeout=120)
    assert restore.returncode == 0, err
    kept = [p for p in crm_env.parent.iterdir() if p.name.startswith("crm.db.before-restore-")]
    assert len(kept) == 1
    assert count(kept[0], "customer") == 3 + 500  # the committed rows are kept aside
    assert count(crm_env, "customer") == 3  # the live database is the backup
    assert temp_files(crm_env.parent) == []


# --------------------------------------------------------------------------- a full disk


def test_full_disk_is_named_as_such_never_a_broken_database(crm: Crm, small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dbfile = small_disk / "crm.db"
    monkeypatch.setenv("CRM_DB", str(dbfile))
    populate(crm)
    from crmcli import store

    store.dispose_all()
    fill(small_disk)
    for args in (("add", "新客户", "--phone", "13900000009"), ("check",), ("list",)):
        result = crm(*args)
        assert result.exit_code == 1, args
        assert "disk" in result.stderr and "full" in result.stderr, (args, result.stderr)
        assert "not a crm database" not in result.stderr and "FAILED" not in result.stdout + result.stderr
        store.dispose_all()
    (small_disk / "filler").unlink()
    assert count(dbfile, "customer") == 3 and integrity(dbfile) == "ok"


def test_report_on_a_full_disk_leaves_the_earlier_workbook(crm: Crm, small_disk: Path) -> None:
    populate(crm)
    out = small_disk / "funnel.xlsx"
    crm.ok("report", "funnel", "--xlsx", str(out))
    before = out.read_bytes()
    fill(small_disk)
    result = crm("report", "lost", "--xlsx", str(out))
    assert result.exit_code == 1 and "disk is full" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == before
    assert temp_files(small_disk) == []


def test_rejects_file_on_a_full_disk_fails_the_whole_import(crm: Crm, crm_env: Path, small_disk: Path) -> None:
    """The import and its rejects file land together or not at all (the database is elsewhere)."""
    crm.ok("add", "已有客户", "--phone", "13800000001")
    src = small_disk / "leads.csv"
    lines = ["客户名称,联系电话"] + [f"新客户{i},1390000{i:04d}" for i in range(20)] + [f"坏行{i},12" for i in range(20)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fill(small_disk)
    before = counts(crm_env, ("customer", "import_batch"))
    result = crm("import", str(src))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "disk is full" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert counts(crm_env, ("customer", "import_batch")) == before
    assert temp_files(small_disk) == []


def test_restore_on_a_full_disk_changes_nothing_and_leaves_no_partial_copy(crm: Crm, small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dbfile = small_disk / "crm.db"
    monkeypatch.setenv("CRM_DB", str(dbfile))
    codes = populate(crm)
    for i in range(300):
        crm.ok("follow", codes[0], "-c", f"第{i}次跟进: " + "内容" * 100)
    backup = Path(crm.ok("backup", str(tmp_path / "good.db")).strip())
    crm.ok("add", "备份之后", "--phone", "13900000001")
    from crmcli import store

    store.dispose_all()
    before = digest(dbfile)
    fill(small_disk, leave=dbfile.stat().st_size // 2)  # room for less than the copy kept aside
    result = crm("restore", str(backup))
    assert result.exit_code == 1 and "disk" in result.stderr and "full" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert digest(dbfile) == before
    left = [p.name for p in small_disk.iterdir() if p.name not in ("crm.db", "crm.db-wal", "crm.db-shm", "filler")]
    assert left == []  # no .before-restore copy, complete or not, and no temporary file


def test_pre_migration_backup_on_a_full_disk_leaves_no_partial_copy(crm: Crm, small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dbfile = small_disk / "crm.db"
    monkeypatch.setenv("CRM_DB", str(dbfile))
    codes = populate(crm)
    for i in range(300):
        crm.ok("follow", codes[0], "-c", f"第{i}次跟进: " + "内容" * 100)
    from crmcli import store

    store.dispose_all()
    monkeypatch.setattr(schema, "REVISIONS", ("0000", *schema.REVISIONS))
    con = sqlite3.connect(dbfile)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("UPDATE alembic_version SET version_num = '0000'")
    con.commit()
    con.close()
    fill(small_disk, leave=dbfile.stat().st_size // 2)
    result = crm("list")
    assert result.exit_code == 1 and "disk" in result.stderr and "full" in result.stderr, result.stderr
    left = [p.name for p in small_disk.iterdir() if p.name not in ("crm.db", "crm.db-wal", "crm.db-shm", "filler")]
    assert left == []


def test_sweep_is_cheap_and_only_ours(tmp_path: Path) -> None:
    from crmcli import safe_files

    old = time.time() - 3 * 86400
    names = [".a.xlsx.1.00000000.crm-tmp", ".a.xlsx.1.00000000.crm-tmp-journal", "a.xlsx.1.00000000.crm-tmp", ".x.crm-tmp"]
    for n in names:
        (tmp_path / n).write_text("x")
        os.utime(tmp_path / n, (old, old))
    removed = safe_files.sweep(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
