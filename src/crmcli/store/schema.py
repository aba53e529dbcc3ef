"""Schema revisions and the Alembic upgrade, the same scripts for every database (spec §17).

Alembic is imported only here, and only when a database's stored revision differs from ``HEAD``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Every revision the program knows, oldest first; the last one is the head.
REVISIONS = ("0001", "0002", "0003", "0004")
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
