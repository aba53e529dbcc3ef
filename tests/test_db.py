"""The database file: schema revisions, pragmas, refusal of files that are not ours."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crmcli.store import schema, sqlite
from tests.conftest import Crm


def test_head_matches_alembic_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory


    cfg = Config()
    cfg.set_main_option("script_location", str(schema.SCRIPTS))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_current_head() == schema.HEAD
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(schema.REVISIONS)


def test_new_database_is_at_head_with_wal_and_indexes(crm: Crm, crm_env: Path) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    crm.ok("list")
    con = sqlite3.connect(crm_env)
    from crmcli.store import HEAD

    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_customer_due", "ix_follow_up_customer"} <= indexes
    uniques = [r for r in con.execute("PRAGMA index_list(customer)") if r[2] == 1]
    cols = [[c[2] for c in con.execute(f"PRAGMA index_info('{u[1]}')")] for u in uniques]
    assert ["name_key", "phone_key"] in cols


def test_foreign_keys_on_every_connection(crm: Crm) -> None:
    from sqlalchemy import text

    from crmcli.settings import load

    engine = sqlite.get_engine(load().db)
    for _ in range(2):
        with sqlite.read_connection(engine) as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with pytest.raises(Exception, match="FOREIGN KEY"), sqlite.write_connection(engine) as conn:
        conn.execute(text("INSERT INTO follow_up (customer_id, date, content) VALUES (999, '2026-01-01', 'x')"))


def test_newer_database_is_refused(crm: Crm, crm_env: Path) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    crm.ok("list")
    from crmcli import store

    store.dispose_all()
    con = sqlite3.connect(crm_env)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    result = crm("list")
    assert result.exit_code == 1
    assert "newer" in result.stderr and "9999" in result.stderr
    con = sqlite3.connect(crm_env)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "9999"


def test_non_crm_files_are_refused(crm: Crm, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    result = crm("--db", str(other), "list")
    assert result.exit_code == 1 and "not a crm database" in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = crm("--db", str(junk), "list")
    assert result.exit_code == 1 and "junk.db" in result.stderr
    assert junk.read_bytes() == b"this is not sqlite" * 100


def test_older_database_is_backed_up_and_upgraded(crm: Crm, crm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at an older known revision is backed up next to itself, then upgraded by Alembic."""
    crm.ok("add", "A公司", "--phone", "13800000001")
    from crmcli import store

    store.dispose_all()
    # Pretend the program knows a revision "0000" older than head and the file is at it.
    monkeypatch.setattr(schema, "REVISIONS", ("0000", *schema.REVISIONS))
    con = sqlite3.connect(crm_env)
    con.execute("UPDATE alembic_version SET version_num = '0000'")
    con.commit()
    con.close()
    seen: list[str | None] = []
    real = sqlite.migrate

    def migrate(engine, path, current):  # type: ignore[no-untyped-def]
        seen.append(current)
        # Alembic itself does not know "0000": put the real stored revision back before it runs.
        c = sqlite3.connect(path)
        c.execute("UPDATE alembic_version SET version_num = ?", (schema.HEAD,))
        c.commit()
        c.close()
        real(engine, path, current)

    monkeypatch.setattr(sqlite, "migrate", migrate)
    crm.ok("list")
    assert seen == ["0000"]
    backups = list(crm_env.parent.glob("crm.db.bak-0000-*"))
    assert len(backups) == 1
    assert sqlite3.connect(backups[0]).execute("SELECT count(*) FROM customer").fetchone()[0] == 1
    assert sqlite3.connect(crm_env).execute("SELECT version_num FROM alembic_version").fetchone()[0] == schema.HEAD


def test_alembic_not_imported_when_at_head(crm: Crm, crm_env: Path) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    crm.ok("list")
    code = (
        "import sys; from crmcli.store import sqlite; from crmcli.settings import load; "
        "sqlite.get_engine(load().db); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _schema(path: Path) -> dict[str, object]:
    """Every table's columns, indexes and foreign keys, as SQLite describes them."""
    con = sqlite3.connect(path)
    try:
        out: dict[str, object] = {}
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            cols = sorted((r[1], r[2].upper(), r[3], str(r[4]).replace("'", "").lower() if r[4] is not None else None, r[5])
                          for r in con.execute(f"PRAGMA table_info('{table}')"))  # fmt: skip
            indexes = sorted(  # SQLite numbers the indexes of UNIQUE constraints in creation order: not a difference
                ("auto" if r[1].startswith("sqlite_autoindex_") else r[1], r[2], tuple(c[2] for c in con.execute(f"PRAGMA index_info('{r[1]}')")))
                for r in con.execute(f"PRAGMA index_list('{table}')")
            )
            fks = sorted((r[2], r[3], r[4], r[6]) for r in con.execute(f"PRAGMA foreign_key_list('{table}')"))
            out[table] = (cols, indexes, fks)
        # the change log's triggers (store/changelog.py): made from the models on both paths
        out["triggers"] = sorted(con.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))
        return out
    finally:
        con.close()


def test_a_new_database_from_the_models_equals_one_from_the_migrations(tmp_path: Path) -> None:
    """New databases are created from the models and stamped at HEAD (no Alembic); every
    migration together must lead to exactly that schema, or upgraded users would differ."""
    from crmcli.store import schema, sqlite

    fresh = tmp_path / "fresh.db"
    sqlite.get_engine(fresh)
    migrated = tmp_path / "migrated.db"
    migrated.touch()
    schema.upgrade(sqlite.make_engine(migrated))
    assert sqlite.stored_revision(fresh) == sqlite.stored_revision(migrated) == schema.HEAD
    assert _schema(fresh) == _schema(migrated)
