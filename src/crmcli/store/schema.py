"""Schema revisions and the Alembic upgrade, the same scripts for every database (spec §17).

Alembic is imported only here, and only when a database's stored revision differs from ``HEAD``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

# Every revision the program knows, oldest first; the last one is the head.
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
HEAD = REVISIONS[-1]
SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"


def upgrade(engine: Engine) -> None:
    """Bring the database behind ``engine`` to HEAD (one transaction; see migrations/env.py)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def create(conn: Connection) -> bool:
    """Create the current schema in an empty database, stamped at HEAD; False if it exists already.

    A new database needs no history: the tables come from the models (what every migration leads
    to; a test holds the two equal), which is faster than replaying the migrations and does not
    import Alembic. ``conn`` is inside a write transaction, so two processes creating the same new
    file cannot both do it.
    """
    import sqlalchemy as sa

    from crmcli.models import SQLModel

    if sa.inspect(conn).has_table("alembic_version"):
        return False
    SQLModel.metadata.create_all(conn)
    if conn.dialect.name == "sqlite":  # PostgreSQL's change log is installed with the team schema
        from crmcli.store import changelog

        changelog.install(conn)
    version = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True))
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD))
    return True
