"""Database file safety: backup and restore (spec §5); check is ``sqlite_check``.

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
* **check** (``sqlite_check``) runs ``integrity_check`` and ``foreign_key_check`` and counts the records.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from crmcli import safe_files
from crmcli.errors import CrmError, NotFound
from crmcli.i18n import N_, Text
from crmcli.i18n import gettext as _
from crmcli.store import errors
from crmcli.store.sqlite_check import check, counts_of, foreign_key_problems_of, integrity_of, revision_of, tables_of

SQLITE_HEADER = b"SQLite format 3\x00"


def _private_dir(path: Path) -> None:
    if not path.exists():
        try:
            path.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise CrmError(N_("cannot create directory {path}: {strerror}"), path=path, strerror=exc.strerror) from None
        os.chmod(path, 0o700)
    elif not path.is_dir():
        raise CrmError(N_("{path} is not a directory"), path=path)


def _is_busy(exc: BaseException) -> bool:
    return errors.is_busy(exc)


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def _sidecars(path: Path) -> tuple[Path, Path, Path]:
    """The -wal, -shm and -journal files SQLite keeps next to ``path``."""
    return (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), path.with_name(path.name + "-journal"))


def stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


# --------------------------------------------------------------------------- validation


@dataclass
class Validation:
    revision: str
    counts: dict[str, int]


def _has_sqlite_header(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def validate_copy(path: Path, *, shown: str, known_revision: bool = True) -> Validation:
    """Check a private copy of a would-be database; raise CrmError naming ``shown`` if unusable.

    ``known_revision``: also require a schema revision this program knows (restore does; a
    backup of a database a newer crm wrote is still a good backup). On success the copy is left
    in rollback-journal mode (its -wal folded in): one self-contained file.
    """
    from crmcli.store.schema import HEAD, REVISIONS

    if path.stat().st_size == 0:
        raise CrmError(N_("{shown} is empty, not a crm database"), shown=shown)
    if not _has_sqlite_header(path):
        raise CrmError(N_("{shown} is not a SQLite database (no SQLite header)"), shown=shown)
    try:
        con = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise CrmError(N_("{shown} cannot be opened: {exc}"), shown=shown, exc=exc) from None
    try:
        problems = integrity_of(con)
        if problems:
            raise CrmError(N_("{shown} is damaged (integrity_check: {value})"), shown=shown, value=problems[0])
        tables = tables_of(con)
        revision = revision_of(con, tables)
        if revision is None or "customer" not in tables:
            raise CrmError(N_("{shown} is a SQLite database but not a crm database"), shown=shown)
        if known_revision and revision not in REVISIONS:
            raise CrmError(N_("{shown} has schema revision {revision}, newer than this program knows ({head}); upgrade crmcli to restore it"), shown=shown, revision=revision, head=HEAD)
        broken = foreign_key_problems_of(con)
        if broken:
            raise CrmError(N_("{shown} is damaged ({broken} rows with broken foreign keys)"), shown=shown, broken=len(broken))
        counts = counts_of(con, tables)
        con.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise CrmError(N_("{shown} is not a usable database ({exc})"), shown=shown, exc=exc) from None
    finally:
        con.close()
    return Validation(revision=revision, counts=counts)


# --------------------------------------------------------------------------- backup


def default_backup_path(db_path: Path, now: dt.datetime) -> Path:
    return db_path.parent / "backups" / f"crm-{stamp(now)}.db"


def _older_backup_only(target: Path) -> str | None:
    """A check for ``safe_files.writing``: only an empty file or a database (an older backup) is replaced."""
    if target.stat().st_size and not _has_sqlite_header(target):
        return _("{target} exists and is not a database; refusing to overwrite it").format(target=target)
    return None


def _sqlite_failure(exc: sqlite3.Error, path: Path, doing: object) -> CrmError:
    return errors.translate(exc, path, doing=doing) or CrmError(N_("{exc}; {doing}"), exc=exc, doing=doing)


def backup(db_path: Path, dest: Path | None = None, *, busy_timeout: float, now: dt.datetime) -> Path:
    """Write a verified copy of the live database to ``dest`` (default ``<db dir>/backups/``); return its path.

    ``dest`` may be a directory (the default file name goes in it). An existing file is only
    replaced if it is a SQLite database itself (an older backup), never the live database.
    """
    if not db_path.is_file() or db_path.stat().st_size == 0:
        raise NotFound(N_("no database at {db_path}; nothing to back up"), db_path=db_path)
    if dest is None:
        _private_dir(db_path.parent / "backups")
        target, exclusive = default_backup_path(db_path, now), True
    else:
        target = dest.expanduser()
        exclusive = target.is_dir()
        if exclusive:
            target = target / f"crm-{stamp(now)}.db"
        if not target.parent.is_dir():
            raise NotFound(N_("directory {parent} does not exist"), parent=target.parent)
    while True:
        final = safe_files.unique_name(target) if exclusive else target
        try:
            with safe_files.writing(final, exclusive=exclusive, allow_sqlite=True, check=_older_backup_only) as tmp:
                _snapshot(db_path, tmp, busy_timeout, doing=Text(N_("no backup was written")))
                try:
                    validate_copy(tmp, shown=_("the copy of {db_path}").format(db_path=db_path), known_revision=False)
                except CrmError as exc:
                    raise CrmError(N_("{exc}; no backup was written (run crm check)"), exc=exc) from None
            return final
        except FileExistsError:
            continue  # another backup took that name in the same second: the next one


def _snapshot(db_path: Path, into: Path, busy_timeout: float, *, doing: object) -> None:
    """Copy the live database into the (empty, private) file ``into`` in one consistent step."""
    try:
        source = sqlite3.connect(db_path, timeout=busy_timeout)
        try:
            copy = sqlite3.connect(into, isolation_level=None)
            try:
                # One step: a single read transaction on the source, so one consistent snapshot.
                source.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode=DELETE")  # the file alone is the whole copy
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise _sqlite_failure(exc, db_path, doing) from None


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


def _copy_bytes(src: Path, dst: Path) -> None:
    """Copy ``src`` into the (empty, private) file ``dst`` and fsync it."""
    with src.open("rb") as fin, dst.open("r+b") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def _keep_damaged_copy(db_path: Path, kept: Path) -> None:
    """Keep a live file SQLite cannot open byte for byte (with its -wal, which belongs to it)."""
    with safe_files.writing(kept, exclusive=True) as tmp:
        _copy_bytes(db_path, tmp)
    wal = _sidecars(db_path)[0]
    if wal.exists():
        with safe_files.writing(_sidecars(kept)[0], exclusive=True) as tmp:
            _copy_bytes(wal, tmp)


def restore(db_path: Path, source: Path, *, busy_timeout: float, now: dt.datetime) -> Restored:
    """Replace the live database with a validated copy of ``source`` (see the module docstring)."""
    from crmcli.store.schema import HEAD
    from crmcli.store.sqlite import _prepare_file

    source = source.expanduser()
    if not source.exists():
        raise NotFound(N_("{source}: no such file"), source=source)
    if not source.is_file():
        raise CrmError(N_("{source} is not a file"), source=source)
    if db_path.exists() and source.resolve() == db_path.resolve():
        raise CrmError(N_("{source} is the live database itself"), source=source)
    _private_dir(db_path.parent)

    with safe_files.temporary(db_path) as tmp:
        # A private copy: the user's file is never opened by SQLite, so never modified.
        _copy_bytes(source, tmp)
        source_wal = _sidecars(source)[0]
        if source_wal.is_file() and source_wal.stat().st_size:
            with safe_files.writing(_sidecars(tmp)[0]) as wal_tmp:
                _copy_bytes(source_wal, wal_tmp)
        try:
            checked = validate_copy(tmp, shown=str(source))
        except CrmError as exc:
            raise CrmError(N_("{exc}; nothing was restored"), exc=exc) from None

        kept_name = db_path.with_name(f"{db_path.name}.before-restore-{stamp(now)}")
        existed = db_path.exists() and db_path.stat().st_size > 0
        if not existed:
            _prepare_file(db_path)
        kept, written = _write_into_live(tmp, db_path, kept_name if existed else None, busy_timeout)
        renamed = not written
        if renamed:
            # The live file cannot be opened: nothing can be using it. Keep its bytes, and move
            # the validated copy over it; its -wal must not be replayed into the restored file.
            if kept is None:
                kept = safe_files.unique_name(kept_name)
                _keep_damaged_copy(db_path, kept)
            _remove(*_sidecars(db_path))
            safe_files.fsync_file(tmp)
            os.replace(tmp, db_path)
            safe_files.fsync_dir(db_path.parent)
    problems = check(db_path, busy_timeout=busy_timeout)
    if not problems.ok:
        raise CrmError(N_("the restored database at {db_path} fails its check ({value}); the previous one is kept at {kept}"), db_path=db_path, value=problems.summary(), kept=kept)
    return Restored(
        source=source,
        database=db_path,
        revision=checked.revision,
        counts=checked.counts,
        kept=kept,
        needs_upgrade=checked.revision != HEAD,
        replaced_by_rename=renamed,
    )


_DAMAGED_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB: the live file itself is broken


def _write_into_live(validated: Path, db_path: Path, kept_name: Path | None, busy_timeout: float) -> tuple[Path | None, bool]:
    """Replace the live database's contents with ``validated`` in one write transaction.

    The write lock is taken first; only then is the live database copied aside (to
    ``kept_name`` or a free ``-N`` name after it), so no transaction can commit between the copy
    and the replacement and be lost from both. Returns (the copy, or None when there was nothing
    to keep; False when the live file is too damaged to be written into, True when done).
    """
    def damaged(exc: sqlite3.Error) -> bool:
        return errors.code(exc) in _DAMAGED_CODES

    try:
        live = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        if damaged(exc):
            return None, False
        raise _sqlite_failure(exc, db_path, "nothing was restored") from None
    kept: Path | None = None
    try:
        try:
            live.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            live.execute("PRAGMA foreign_keys=OFF")  # tables are dropped and refilled, not cascaded
            if str(live.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                live.execute("PRAGMA journal_mode=WAL")
            live.execute("ATTACH DATABASE ? AS restored", (f"file:{validated}?mode=ro",))
            live.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for a running writer
        except sqlite3.Error as exc:
            if damaged(exc):
                return None, False
            raise _sqlite_failure(exc, db_path, "nothing was restored") from None
        try:
            if kept_name is not None:
                # Under our write lock: this copy holds every transaction committed before the restore.
                kept = _snapshot_aside(db_path, kept_name, busy_timeout)
            _replace_contents(live)
            live.execute("COMMIT")
        except BaseException as exc:
            if live.in_transaction:
                live.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and damaged(exc):
                return kept, False  # a damaged page: replaced by rename, the copy aside kept
            if kept is not None:
                _remove(kept, *_sidecars(kept))  # the live database is as it was: no copy needed
            if isinstance(exc, sqlite3.Error):
                raise _sqlite_failure(exc, db_path, "nothing was restored") from None
            raise
    finally:
        live.close()
    return kept, True


def _snapshot_aside(db_path: Path, name: Path, busy_timeout: float) -> Path:
    while True:
        candidate = safe_files.unique_name(name)
        try:
            with safe_files.writing(candidate, exclusive=True) as tmp:
                _snapshot(db_path, tmp, busy_timeout, doing=Text(N_("nothing was restored")))
            return candidate
        except FileExistsError:
            continue


def _replace_contents(live: sqlite3.Connection) -> None:
    """Inside the open transaction: make schema ``main`` a copy of the attached ``restored``."""
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    old = live.execute("SELECT type, name FROM main.sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    for kind, name in old:
        if kind == "view":
            live.execute(f"DROP VIEW IF EXISTS main.{q(name)}")
    for kind, name in old:
        if kind == "table":
            live.execute(f"DROP TABLE IF EXISTS main.{q(name)}")
    new = live.execute(
        "SELECT type, name, sql FROM restored.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ).fetchall()
    for kind, name, sql in new:
        if kind == "table":
            live.execute(sql)
            live.execute(f"INSERT INTO main.{q(name)} SELECT * FROM restored.{q(name)}")
    if live.execute("SELECT 1 FROM restored.sqlite_master WHERE name='sqlite_sequence'").fetchone():
        live.execute("DELETE FROM main.sqlite_sequence")
        live.execute("INSERT INTO main.sqlite_sequence SELECT * FROM restored.sqlite_sequence")
    for kind, _name, sql in new:
        if kind in ("index", "trigger", "view"):
            live.execute(sql)
    version = int(live.execute("PRAGMA restored.user_version").fetchone()[0])
    live.execute(f"PRAGMA main.user_version={version}")
