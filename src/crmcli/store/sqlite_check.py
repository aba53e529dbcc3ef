"""``crm check`` on a SQLite file (spec §5): integrity, foreign keys, schema revision and counts.

It works on the file with the standard ``sqlite3`` module, not through the engine, so that it
reports on a file the engine would refuse (damaged, newer schema). ``sqlite_safety``'s restore
validates a copy with the same inspections; PostgreSQL's check (``pg_check``) answers with the
same ``CheckResult``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError, NotFound
from crmcli.i18n import N_, Text
from crmcli.store import errors

# Tables counted by `crm check`, in display order.
COUNTED = (
    ("customers", "customer"),
    ("follow_ups", "follow_up"),
    ("stage_changes", "stage_change"),
    ("deals", "deal"),
    ("import_batches", "import_batch"),
)


def integrity_of(con: sqlite3.Connection) -> list[str]:
    """The problems ``PRAGMA integrity_check`` reports; [] when the file is sound."""
    rows = [str(r[0]) for r in con.execute("PRAGMA integrity_check")]
    if rows == ["ok"]:
        return []
    # One problem per line; drop the "*** in database main ***" banner lines.
    lines = [line.strip() for row in rows for line in row.splitlines()]
    return [line for line in lines if line and not line.startswith("***")] or rows


def foreign_key_problems_of(con: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"table": r[0], "rowid": r[1], "parent": r[2]}
        for r in con.execute("PRAGMA foreign_key_check")
    ]


def tables_of(con: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def revision_of(con: sqlite3.Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def counts_of(con: sqlite3.Connection, tables: set[str]) -> dict[str, int]:
    return {key: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for key, table in COUNTED if table in tables}


@dataclass
class CheckResult:
    database: Path
    size: int
    revision: str | None
    schema: str  # current | older | newer | missing
    integrity: list[str] = field(default_factory=list)  # [] = ok
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)  # [] = ok
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # the file could not be read at all

    @property
    def ok(self) -> bool:
        return self.error is None and not self.integrity and not self.foreign_keys and self.schema in ("current", "older")

    def failures(self) -> list[str]:
        out = []
        if self.error:
            out.append("unreadable")
        if self.integrity:
            out.append("integrity")
        if self.foreign_keys:
            out.append("foreign keys")
        if self.schema not in ("current", "older"):
            out.append(f"schema {self.schema}")
        return out

    def summary(self) -> str:
        return ", ".join(self.failures()) or "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": str(self.database),
            "size": self.size,
            "revision": self.revision,
            "schema": self.schema,
            "integrity": "ok" if not self.integrity and not self.error else (self.integrity or [self.error]),
            "foreign_keys": "ok" if not self.foreign_keys and not self.error else self.foreign_keys,
            "counts": self.counts,
            "ok": self.ok,
        }


def check(db_path: Path, *, busy_timeout: float) -> CheckResult:
    """Integrity and foreign-key checks, schema revision and record counts of the database file."""
    from crmcli.store.schema import HEAD, REVISIONS

    if not db_path.is_file():
        raise NotFound(N_("no database at {db_path}"), db_path=db_path)
    result = CheckResult(database=db_path, size=db_path.stat().st_size, revision=None, schema="missing")
    def cannot_check(exc: sqlite3.Error) -> CrmError | None:
        """A reason the check could not run (busy, disk full): not a verdict on the file."""
        known = errors.translate(exc, db_path, doing=Text(N_("the database was not checked")))
        return None if known is None or errors.code(exc) in (11, 26) else known

    try:
        con = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        known = cannot_check(exc)
        if known is not None:
            raise known from None
        result.error = str(exc)
        return result
    try:
        result.integrity = integrity_of(con)
        tables = tables_of(con)
        result.revision = revision_of(con, tables)
        if result.revision is None:
            result.schema = "missing"
        elif result.revision == HEAD:
            result.schema = "current"
        elif result.revision in REVISIONS:
            result.schema = "older"
        else:
            result.schema = "newer"
        result.foreign_keys = foreign_key_problems_of(con)
        result.counts = counts_of(con, tables)
    except sqlite3.DatabaseError as exc:
        known = cannot_check(exc)
        if known is not None:
            raise known from None
        result.error = str(exc)
    finally:
        con.close()
    return result
