"""What a SQLite error means for the user: busy, disk full, not a database, or a failure to open.

Decided by the driver's error code (``sqlite3.Error.sqlite_errorcode``, also reached through
SQLAlchemy's ``DBAPIError.orig``), never by matching message text alone; messages are only a
fallback for errors raised without a code.
"""

from __future__ import annotations

import os
from pathlib import Path

from crmcli.errors import CrmError, DatabaseBusy, DiskFull, SchemaError
from crmcli.i18n import N_, Text

SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 5, 6, 10, 13, 14, 26
_FREE_BYTES_MIN = 64 * 1024  # less than this free on the file system: it is full for SQLite's purposes


def _driver_error(exc: BaseException) -> BaseException:
    orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError wraps the driver's exception
    return orig if isinstance(orig, BaseException) else exc


def code(exc: BaseException) -> int | None:
    """The primary SQLite result code of ``exc`` (extended codes folded), or None."""
    raw = getattr(_driver_error(exc), "sqlite_errorcode", None)
    return None if raw is None else int(raw) & 0xFF


def is_sqlite_error(exc: BaseException) -> bool:
    import sqlite3

    return isinstance(_driver_error(exc), sqlite3.Error)


def is_busy(exc: BaseException) -> bool:
    c = code(exc)
    if c is not None:
        return c in (SQLITE_BUSY, SQLITE_LOCKED)
    msg = str(_driver_error(exc)).lower()
    return is_sqlite_error(exc) and ("database is locked" in msg or "database is busy" in msg)


def disk_is_full(path: Path) -> bool:
    """Is the file system holding ``path`` out of space (for this user)?"""
    probe = path if path.is_dir() else path.parent
    try:
        st = os.statvfs(probe)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _FREE_BYTES_MIN


def translate(exc: BaseException, path: Path | None, *, doing: object = "") -> CrmError | None:
    """The CrmError a SQLite error stands for, or None when it is not one we can name.

    ``doing``: what was not done, appended to the message ("nothing was written").
    """
    if not is_sqlite_error(exc):
        return None
    c = code(exc)
    tail = f"; {doing}" if doing else ""
    where = f" {path}" if path is not None else ""
    if is_busy(exc):
        return DatabaseBusy(N_("the database{where} is busy: another crm process held the write lock past the timeout{tail}"), where=where, tail=tail)
    if c == SQLITE_FULL or (path is not None and c in (SQLITE_IOERR, SQLITE_CANTOPEN) and disk_is_full(path)):
        return DiskFull(N_("the disk holding{value} is full{tail} (free some space and try again)"), value=where or Text(N_(' the database')), tail=tail)
    if c == SQLITE_NOTADB:
        return SchemaError(N_("{value} is not a SQLite database (a crm database file was expected)"), value=path or Text(N_('the file')))
    if c == SQLITE_CANTOPEN:
        return CrmError(N_("cannot open the database{where}: {exc}{tail}"), where=where, exc=_driver_error(exc), tail=tail)
    if c == SQLITE_IOERR:
        return CrmError(N_("disk I/O error on the database{where}: {exc}{tail}"), where=where, exc=_driver_error(exc), tail=tail)
    return None
