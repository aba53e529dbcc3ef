"""Database file safety: backup, restore and check (spec §5).

These work on the SQLite file itself with the standard ``sqlite3`` module, not through the
engine: ``check`` must report on a file the engine would refuse (damaged, newer schema), and
``restore`` must work when the live file is damaged beyond opening.

* **backup** copies the live database with SQLite's online backup API: one step, so it reads
  one consistent snapshot while other processes keep writing (WAL readers never block). The copy
  is written to a hidden temporary file (0600), switched to a rollback journal so that the
  one file is the whole backup, verified with ``integrity_check``, and only then renamed into
  place: an interrupted backup never leaves a half file under the final name.
* **restore** never trusts the file it is given. It copies it (and its ``-wal``, if any) to a
  private temporary file next to the live database -- the user's file is never opened, so
  SQLite cannot "recover" or modify it -- and validates that copy: SQLite header,
  ``integrity_check``, ``foreign_key_check``, and a schema revision this program knows. Then
  it keeps a copy of the live database (``<db>.before-restore-<stamp>``, 0600) and writes the
  validated copy INTO the live database with the backup API. That is one write transaction
  on the live file: other connections see the old or the new database, never a mix; the live
  ``-wal`` stays consistent with it (the pages go through it); a writer that holds the lock past
  the busy timeout makes restore give up with exit 4, having changed nothing. Renaming a file
  over the live path instead would strand processes that hold it open, and a stale ``-wal``
  next to the new file would be replayed into it. Only when the live file is too damaged to be
  opened is it replaced by rename, after its ``-wal`` and ``-shm`` are moved aside with it.
* **check** runs ``integrity_check`` and ``foreign_key_check`` and counts the records.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError, DatabaseBusy, NotFound

SQLITE_HEADER = b"SQLite format 3\x00"
# Tables counted by `crm check`, in display order.
COUNTED = (
    ("customers", "customer"),
    ("follow_ups", "follow_up"),
    ("stage_changes", "stage_change"),
    ("deals", "deal"),
    ("import_batches", "import_batch"),
)
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 whatever the umask; it must not exist yet."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _private_dir(path: Path) -> None:
    if not path.exists():
        try:
            path.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise CrmError(f"cannot create directory {path}: {exc.strerror}") from None
        os.chmod(path, 0o700)
    elif not path.is_dir():
        raise CrmError(f"{path} is not a directory")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _sidecars(path: Path) -> tuple[Path, Path, Path]:
    """The -wal, -shm and -journal files SQLite keeps next to ``path``."""
    return (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), path.with_name(path.name + "-journal"))


def _is_busy(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg)


def _copy_with_backup_api(source: sqlite3.Connection, target: sqlite3.Connection, *, busy_timeout: float, what: str) -> None:
    """``source.backup(target)`` in one step, giving up with DatabaseBusy past the timeout.

    Python's backup() retries a busy step forever; the progress callback sees each busy step
    (after the target's busy handler has already waited) and ends it.
    """
    start = time.monotonic()

    def progress(status: int, _remaining: int, _total: int) -> None:
        if status in _BUSY_CODES and time.monotonic() - start >= busy_timeout:
            raise DatabaseBusy(f"the database is busy: another crm process held the write lock past the timeout; {what}")

    source.backup(target, pages=-1, progress=progress)


def _unique(path: Path) -> Path:
    """``path``, or ``path`` with -1, -2, ... before the suffix when it exists already."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


# --------------------------------------------------------------------------- validation


@dataclass
class Validation:
    revision: str
    counts: dict[str, int]


def _integrity(con: sqlite3.Connection) -> list[str]:
    """The problems ``PRAGMA integrity_check`` reports; [] when the file is sound."""
    rows = [str(r[0]) for r in con.execute("PRAGMA integrity_check")]
    if rows == ["ok"]:
        return []
    # One problem per line; drop the "*** in database main ***" banner lines.
    lines = [line.strip() for row in rows for line in row.splitlines()]
    return [line for line in lines if line and not line.startswith("***")] or rows


def _foreign_key_problems(con: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"table": r[0], "rowid": r[1], "parent": r[2]}
        for r in con.execute("PRAGMA foreign_key_check")
    ]


def _tables(con: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _revision(con: sqlite3.Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _counts(con: sqlite3.Connection, tables: set[str]) -> dict[str, int]:
    return {key: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for key, table in COUNTED if table in tables}


def _has_sqlite_header(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def validate_copy(path: Path, *, shown: str, known_revision: bool = True) -> Validation:
    """Check a private copy of a would-be database; raise CrmError naming ``shown`` if unusable.

    ``known_revision``: also require a schema revision this program knows (restore does; a
    backup of a database a newer crm wrote is still a good backup). On success the copy is left
    in rollback-journal mode (its -wal folded in): one self-contained file.
    """
    from crmcli.db import HEAD, REVISIONS

    if path.stat().st_size == 0:
        raise CrmError(f"{shown} is empty, not a crm database")
    if not _has_sqlite_header(path):
        raise CrmError(f"{shown} is not a SQLite database (no SQLite header)")
    try:
        con = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise CrmError(f"{shown} cannot be opened: {exc}") from None
    try:
        problems = _integrity(con)
        if problems:
            raise CrmError(f"{shown} is damaged (integrity_check: {problems[0]})")
        tables = _tables(con)
        revision = _revision(con, tables)
        if revision is None or "customer" not in tables:
            raise CrmError(f"{shown} is a SQLite database but not a crm database")
        if known_revision and revision not in REVISIONS:
            raise CrmError(
                f"{shown} has schema revision {revision}, newer than this program knows ({HEAD}); "
                "upgrade crmcli to restore it"
            )
        broken = _foreign_key_problems(con)
        if broken:
            raise CrmError(f"{shown} is damaged ({len(broken)} rows with broken foreign keys)")
        counts = _counts(con, tables)
        con.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise CrmError(f"{shown} is not a usable database ({exc})") from None
    finally:
        con.close()
    return Validation(revision=revision, counts=counts)


# --------------------------------------------------------------------------- backup


def default_backup_path(db_path: Path, now: dt.datetime) -> Path:
    return db_path.parent / "backups" / f"crm-{stamp(now)}.db"


def backup(db_path: Path, dest: Path | None = None, *, busy_timeout: float, now: dt.datetime) -> Path:
    """Write a verified copy of the live database to ``dest`` (default ``<db dir>/backups/``); return its path.

    ``dest`` may be a directory (the default file name goes in it). An existing file is only
    replaced if it is a SQLite database itself (an older backup), never the live database.
    """
    if not db_path.is_file() or db_path.stat().st_size == 0:
        raise NotFound(f"no database at {db_path}; nothing to back up")
    if dest is None:
        _private_dir(db_path.parent / "backups")
        target = _unique(default_backup_path(db_path, now))
    else:
        target = dest.expanduser()
        if target.is_dir():
            target = _unique(target / f"crm-{stamp(now)}.db")
        if not target.parent.is_dir():
            raise NotFound(f"directory {target.parent} does not exist")
        if target.exists():
            if target.resolve() == db_path.resolve():
                raise CrmError(f"{target} is the live database; give another file")
            if not target.is_file() or (target.stat().st_size and not _has_sqlite_header(target)):
                raise CrmError(f"{target} exists and is not a database; refusing to overwrite it")

    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove(tmp, *_sidecars(tmp))
    try:
        _private_file(tmp)
    except OSError as exc:
        raise CrmError(f"cannot write {target}: {exc.strerror}") from None
    try:
        source = sqlite3.connect(db_path, timeout=busy_timeout)
        try:
            copy = sqlite3.connect(tmp, isolation_level=None)
            try:
                # One step: a single read transaction on the source, so one consistent snapshot.
                source.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode=DELETE")  # the file alone is the whole backup
            finally:
                copy.close()
        finally:
            source.close()
        validate_copy(tmp, shown=f"the copy of {db_path}", known_revision=False)
        os.chmod(tmp, 0o600)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    except sqlite3.Error as exc:
        if _is_busy(exc):
            raise DatabaseBusy(f"the database is busy: {exc}; no backup was written") from None
        raise CrmError(f"backup of {db_path} failed: {exc}; run crm check") from None
    except DatabaseBusy:
        raise
    except CrmError as exc:
        raise CrmError(f"{exc}; no backup was written (run crm check)") from None
    finally:
        _remove(tmp, *_sidecars(tmp))
    return target


# --------------------------------------------------------------------------- restore


@dataclass
class Restored:
    source: Path
    database: Path
    revision: str
    counts: dict[str, int]
    kept: Path | None  # copy of the database that was replaced
    needs_upgrade: bool
    replaced_by_rename: bool = False


def _copy_file(src: Path, dst: Path) -> None:
    _private_file(dst)
    with src.open("rb") as fin, dst.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def _keep_live_copy(db_path: Path, aside: Path, busy_timeout: float) -> bool:
    """Copy the live database to ``aside`` (0600). True when it was readable as a database."""
    try:
        _private_file(aside)
        source = sqlite3.connect(db_path, timeout=busy_timeout)
        try:
            target = sqlite3.connect(aside, isolation_level=None)
            try:
                source.backup(target, pages=-1)
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
        finally:
            source.close()
        return True
    except sqlite3.Error as exc:
        if _is_busy(exc):
            _remove(aside, *_sidecars(aside))
            raise DatabaseBusy(f"the database is busy: {exc}; nothing was restored") from None
    # Too damaged for SQLite: keep its bytes as they are (with its -wal, which belongs to it).
    _remove(aside, *_sidecars(aside))
    _copy_file(db_path, aside)
    wal = _sidecars(db_path)[0]
    if wal.exists():
        _copy_file(wal, _sidecars(aside)[0])
    return False


def restore(db_path: Path, source: Path, *, busy_timeout: float, now: dt.datetime) -> Restored:
    """Replace the live database with a validated copy of ``source`` (see the module docstring)."""
    from crmcli.db import HEAD, _prepare_file

    source = source.expanduser()
    if not source.exists():
        raise NotFound(f"{source}: no such file")
    if not source.is_file():
        raise CrmError(f"{source} is not a file")
    if db_path.exists() and source.resolve() == db_path.resolve():
        raise CrmError(f"{source} is the live database itself")
    _private_dir(db_path.parent)

    tmp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
    _remove(tmp, *_sidecars(tmp))
    try:
        # A private copy: the user's file is never opened by SQLite, so never modified.
        _copy_file(source, tmp)
        source_wal = _sidecars(source)[0]
        if source_wal.is_file() and source_wal.stat().st_size:
            _copy_file(source_wal, _sidecars(tmp)[0])
        try:
            checked = validate_copy(tmp, shown=str(source))
        except CrmError as exc:
            raise CrmError(f"{exc}; nothing was restored") from None

        kept: Path | None = None
        live_ok = True
        if db_path.exists() and db_path.stat().st_size:
            kept = _unique(db_path.with_name(f"{db_path.name}.before-restore-{stamp(now)}"))
            live_ok = _keep_live_copy(db_path, kept, busy_timeout)
        else:
            _prepare_file(db_path)

        renamed = False
        if live_ok:
            try:
                _write_into_live(tmp, db_path, busy_timeout)
            except (sqlite3.DatabaseError, DatabaseBusy) as exc:
                if isinstance(exc, DatabaseBusy) or _is_busy(exc):
                    # Rolled back: the live database is as it was, so its copy is not needed.
                    if kept is not None:
                        _remove(kept, *_sidecars(kept))
                    if isinstance(exc, DatabaseBusy):
                        raise
                    raise DatabaseBusy(f"the database is busy: {exc}; nothing was restored") from None
                live_ok = False
        if not live_ok:
            # The live file cannot be opened: nothing can be using it. Its -wal must not be
            # replayed into the restored file, so it goes too (a copy is in `kept`).
            _remove(*_sidecars(db_path))
            os.chmod(tmp, 0o600)
            os.replace(tmp, db_path)
            _fsync(db_path.parent)
            renamed = True
        problems = check(db_path, busy_timeout=busy_timeout)
        if not problems.ok:
            raise CrmError(f"the restored database at {db_path} fails its check ({problems.summary()}); the previous one is kept at {kept}")
    finally:
        _remove(tmp, *_sidecars(tmp))
    return Restored(
        source=source,
        database=db_path,
        revision=checked.revision,
        counts=checked.counts,
        kept=kept,
        needs_upgrade=checked.revision != HEAD,
        replaced_by_rename=renamed,
    )


def _write_into_live(validated: Path, db_path: Path, busy_timeout: float) -> None:
    src = sqlite3.connect(validated, isolation_level=None)
    try:
        live = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
        try:
            live.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            mode = str(live.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode != "wal":
                live.execute("PRAGMA journal_mode=WAL")
            # The backup API refuses a WAL destination whose page size differs: match it first.
            live_size = int(live.execute("PRAGMA page_size").fetchone()[0])
            if int(src.execute("PRAGMA page_size").fetchone()[0]) != live_size:
                src.execute(f"PRAGMA page_size={live_size}")
                src.execute("VACUUM")
            _copy_with_backup_api(src, live, busy_timeout=busy_timeout, what="nothing was restored")
        finally:
            live.close()
    finally:
        src.close()


# --------------------------------------------------------------------------- check


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
    from crmcli.db import HEAD, REVISIONS

    if not db_path.is_file():
        raise NotFound(f"no database at {db_path}")
    result = CheckResult(database=db_path, size=db_path.stat().st_size, revision=None, schema="missing")
    try:
        con = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        result.error = str(exc)
        return result
    try:
        result.integrity = _integrity(con)
        tables = _tables(con)
        result.revision = _revision(con, tables)
        if result.revision is None:
            result.schema = "missing"
        elif result.revision == HEAD:
            result.schema = "current"
        elif result.revision in REVISIONS:
            result.schema = "older"
        else:
            result.schema = "newer"
        result.foreign_keys = _foreign_key_problems(con)
        result.counts = _counts(con, tables)
    except sqlite3.DatabaseError as exc:
        if _is_busy(exc):
            raise DatabaseBusy(f"the database is busy: {exc}") from None
        result.error = str(exc)
    finally:
        con.close()
    return result
