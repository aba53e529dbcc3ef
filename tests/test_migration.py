"""Schema upgrades: all or nothing, child rows kept through batch table rebuilds, a valid backup first.

The program's real migrations directory is copied to tmp_path with extra revisions (9002, 9003)
added after its head, and ``crmcli.store.schema`` is pointed at the copy (its ``SCRIPTS``,
``REVISIONS`` and ``HEAD``), so the code under test is the real ``get_engine`` -> ``migrate`` ->
``env.py`` path.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crmcli.store import schema, sqlite
from tests.conftest import Crm
from tests.reliability_support import counts, integrity, query, revision

REBUILD_9002 = '''
"""rebuild every table that has children"""
from alembic import op
import sqlalchemy as sa

revision = "9002"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # recreate="always": a real batch rebuild (CREATE _alembic_tmp_x, copy, DROP x, RENAME).
    with op.batch_alter_table("customer", recreate="always") as batch:
        batch.add_column(sa.Column("territory", sa.String(), nullable=True))
    with op.batch_alter_table("import_batch", recreate="always") as batch:
        batch.add_column(sa.Column("note", sa.String(), nullable=True))
{extra}

def downgrade() -> None:
    pass
'''

FAILING_9003 = '''
"""a later revision that fails half-way"""
from alembic import op
import sqlalchemy as sa

revision = "9003"
down_revision = "9002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follow_up", recreate="always") as batch:
        batch.add_column(sa.Column("channel", sa.String(), nullable=True))
    op.execute("DELETE FROM tag")
    {failure}


def downgrade() -> None:
    pass
'''


REAL_SCRIPTS, REAL_REVISIONS = schema.SCRIPTS, schema.REVISIONS
OLD = REAL_REVISIONS[-1]  # what a database written by this program holds before the fake upgrade


def fake_migrations(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of crmcli/migrations plus ``files`` (name -> source); returns the copy's path."""
    from crmcli.store import schema

    pkg = tmp_path / "fakepkg"
    shutil.copytree(schema.SCRIPTS, pkg / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    for name, source in files.items():
        (pkg / "migrations" / "versions" / name).write_text(source, encoding="utf-8")
    return pkg / "migrations"


def point_db_at(monkeypatch: pytest.MonkeyPatch, scripts: Path, revisions: tuple[str, ...]) -> None:
    from crmcli import store
    from crmcli.store import schema

    store.dispose_all()
    monkeypatch.setattr(schema, "SCRIPTS", scripts)
    monkeypatch.setattr(schema, "REVISIONS", revisions)
    monkeypatch.setattr(schema, "HEAD", revisions[-1])


def populate(crm: Crm) -> None:
    for i in range(5):
        code = crm.ok("add", f"客户{i}", "--phone", f"1380000{i:04d}", "--tag", "vip", "--tag", f"t{i}").strip()
        crm.ok("follow", code, "-c", f"电话{i}", "-m", "phone")
        crm.ok("follow", code, "-c", f"拜访{i}", "-m", "visit")
        crm.ok("stage", code, "won", "--amount", str(1000 * (i + 1)))


def columns(path: Path, table: str) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    finally:
        con.close()


def fk_problems(path: Path) -> list[tuple[object, ...]]:
    return query(path, "PRAGMA foreign_key_check")


def pre_migration_backup(db: Path, rev: str) -> Path:
    found = sorted(db.parent.glob(f"{db.name}.bak-{rev}-*"))
    assert len(found) == 1, found
    return found[0]


def test_batch_rebuild_keeps_child_rows(crm: Crm, crm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DROP TABLE customer inside a rebuild would cascade to every follow-up if foreign keys were on."""
    populate(crm)
    before = counts(crm_env)
    assert min(before.values()) > 0
    fake = fake_migrations(tmp_path, {"9002_rebuild.py": REBUILD_9002.format(down=OLD, extra="")})
    point_db_at(monkeypatch, fake, (*REAL_REVISIONS, "9002"))

    crm.ok("list")
    assert revision(crm_env) == "9002"
    assert "territory" in columns(crm_env, "customer")
    assert counts(crm_env) == before
    assert fk_problems(crm_env) == [] and integrity(crm_env) == "ok"
    backup = pre_migration_backup(crm_env, OLD)
    assert revision(backup) == OLD and counts(backup) == before and integrity(backup) == "ok"
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    # Foreign keys are enforced again afterwards, on the same pooled connections.
    from sqlalchemy import text

    from crmcli.settings import load

    with sqlite.read_connection(sqlite.get_engine(load().db)) as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    # Deleting a customer still cascades: the rebuilt table kept its ON DELETE CASCADE children.
    con = sqlite3.connect(crm_env)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("DELETE FROM customer WHERE code = (SELECT min(code) FROM customer)")
    con.commit()
    assert con.execute("SELECT count(*) FROM follow_up").fetchone()[0] == before["follow_up"] - 2
    con.close()


def test_failed_upgrade_leaves_the_old_revision(crm: Crm, crm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """9002 succeeds, 9003 fails after rebuilding a table: the whole upgrade is one transaction."""
    populate(crm)
    before = counts(crm_env)
    fake = fake_migrations(
        tmp_path,
        {
            "9002_rebuild.py": REBUILD_9002.format(down=OLD, extra=""),
            "9003_fails.py": FAILING_9003.format(failure='raise RuntimeError("disk on fire")'),
        },
    )
    point_db_at(monkeypatch, fake, (*REAL_REVISIONS, "9002", "9003"))

    result = crm("list")
    assert result.exit_code == 1 and "disk on fire" in result.stderr
    assert revision(crm_env) == OLD  # not 9002: no intermediate revision
    assert "territory" not in columns(crm_env, "customer") and "channel" not in columns(crm_env, "follow_up")
    assert counts(crm_env) == before and integrity(crm_env) == "ok"
    backup = pre_migration_backup(crm_env, OLD)
    assert revision(backup) == OLD and counts(backup) == before and integrity(backup) == "ok"
    # The program that only knows the real revisions carries on normally.
    point_db_at(monkeypatch, REAL_SCRIPTS, REAL_REVISIONS)
    crm.ok("follow", "客户1", "-c", "迁移失败之后")
    assert crm.json("check")["ok"] is True


def test_upgrade_refuses_to_commit_broken_foreign_keys(crm: Crm, crm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With foreign keys off during the rebuild, the migration checks them itself before COMMIT."""
    populate(crm)
    before = counts(crm_env)
    orphaning = '''
    op.execute("UPDATE follow_up SET customer_id = customer_id + 1000")
'''
    fake = fake_migrations(tmp_path, {"9002_rebuild.py": REBUILD_9002.format(down=OLD, extra=orphaning)})
    point_db_at(monkeypatch, fake, (*REAL_REVISIONS, "9002"))
    result = crm("list")
    assert result.exit_code == 1 and "foreign keys" in result.stderr
    assert revision(crm_env) == OLD and counts(crm_env) == before and fk_problems(crm_env) == []


def test_upgrade_killed_midway(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    """SIGKILL in the middle of a rebuild: old revision, all rows, valid backup; the next command works."""
    populate(crm)
    before = counts(crm_env)
    from crmcli import store

    store.dispose_all()
    fake = fake_migrations(
        tmp_path,
        {
            "9002_rebuild.py": REBUILD_9002.format(down=OLD, extra=""),
            "9003_fails.py": FAILING_9003.format(failure="import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
        },
    )
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from crmcli.store import schema
        schema.SCRIPTS = Path({str(fake)!r})
        schema.REVISIONS = {(*REAL_REVISIONS, "9002", "9003")!r}
        schema.HEAD = "9003"
        from crmcli.cli import main
        sys.argv = ["crm", "list"]
        main()
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert integrity(crm_env) == "ok"
    assert revision(crm_env) == OLD
    assert "territory" not in columns(crm_env, "customer")
    assert counts(crm_env) == before
    backup = pre_migration_backup(crm_env, OLD)
    assert revision(backup) == OLD and counts(backup) == before and integrity(backup) == "ok"
    assert not list(tmp_path.rglob("_alembic_tmp_*"))
    crm.ok("follow", "客户2", "-c", "断电之后")
    assert crm.json("check")["counts"]["follow_ups"] == before["follow_up"] + 1


def test_restored_older_backup_is_upgraded_on_next_use(crm: Crm, crm_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(crm)
    before = counts(crm_env)
    backup = Path(crm.ok("backup", str(tmp_path / "old.db")).strip())
    fake = fake_migrations(tmp_path, {"9002_rebuild.py": REBUILD_9002.format(down=OLD, extra="")})
    point_db_at(monkeypatch, fake, (*REAL_REVISIONS, "9002"))
    crm.ok("list")
    assert revision(crm_env) == "9002"
    out = crm.ok("restore", str(backup))
    assert "upgraded" in out and revision(crm_env) == OLD
    crm.ok("list")
    assert revision(crm_env) == "9002" and counts(crm_env) == before and fk_problems(crm_env) == []
