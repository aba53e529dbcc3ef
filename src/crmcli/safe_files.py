"""The one way crm writes a file: exports, report workbooks, rejects, backups, safety copies.

Every file goes through ``writing(target)``:

* the target is checked first: never the database or its ``-wal``/``-shm``/``-journal``, never
  a SQLite database at all unless the caller replaces an older backup, never through a symbolic
  link, never over a directory, device or FIFO, and never over a file the caller's own check
  refuses (a report must not replace a document that is not a workbook);
* the data goes to a temporary file in the target's directory, named ``.NAME.PID.RANDOM.crm-tmp``
  (so a later run knows it is ours), created with ``O_EXCL | O_NOFOLLOW``, mode 0600 whatever
  the umask;
* on success it is fsynced and renamed over the target (``os.replace``), or linked to a name
  that must not exist yet (``exclusive=True``: safety copies never replace anything), and the
  directory is fsynced;
* on any failure, Ctrl-C included, the temporary file (and the SQLite sidecars a backup may
  have left next to it) is removed and the target is as it was. A full disk is reported as such.

Every temporary file is recorded (``_live``) from the moment before it is created until it is
renamed or removed, so one that an interrupt caught between two statements is still removed:
by the error boundary on Ctrl-C (``remove_leftovers``) and as the process exits (atexit).
A process killed with SIGKILL cannot clean up: ``sweep`` removes our temporary files older than
a day from a directory, and every ``writing`` sweeps the directory it writes to.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from crmcli.errors import CrmError, DiskFull
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

TEMP_SUFFIX = ".crm-tmp"
SWEEP_AGE = 24 * 3600  # seconds: a temporary file this old belongs to a process that is gone
SQLITE_HEADER = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))

# Our temporary files, by name: this module's, and those of earlier releases (export temp files,
# backup and restore copies, rejects files), each possibly with SQLite's sidecars.
_OURS_RE = re.compile(
    r"^\.(?:.+\.\d+\.[0-9a-f]{8}\.crm-tmp"
    r"|.+\.\d+\.[0-9a-f]{8}\.tmp"
    r"|.+\.partial-\d+"
    r"|.+\.restore-\d+"
    r"|rejects-.+\.csv)(?:-wal|-shm|-journal)?$"
)

# Paths that must never be written over: the database of this run and its sidecars.
_protected: set[Path] = set()

# This process's temporary files not yet renamed into place or removed.
_live: set[Path] = set()


def remove_leftovers() -> None:
    """Remove every temporary file of this process still pending (after Ctrl-C, at exit)."""
    for path in list(_live):
        _remove(path)


atexit.register(remove_leftovers)


def protect(database: Path) -> None:
    """Never write over ``database`` or its sidecars (called once the database is known)."""
    _protected.add(_real(database))


def _real(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):
        return path.expanduser().absolute()


def _is_protected(path: Path) -> bool:
    real = _real(path)
    for db in _protected:
        if real == db or real in {db.with_name(db.name + s) for s in SIDECARS}:
            return True
    return False


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def refusal(target: Path, *, allow_sqlite: bool = False) -> str | None:
    """Why ``target`` must not be written, or None when it may be."""
    if _is_protected(target):
        return _("{target} is the live database file itself; give another file").format(target=target)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _("cannot use {target}: {strerror}").format(target=target, strerror=exc.strerror)
    if stat.S_ISLNK(st.st_mode):
        return _("{target} is a symbolic link; give the real path of the file to write").format(target=target)
    if stat.S_ISDIR(st.st_mode):
        return _("{target} is a directory").format(target=target)
    if not stat.S_ISREG(st.st_mode):
        return _("{target} is not a regular file (a device, pipe or socket); give a file to write").format(target=target)
    name = target.name
    if any(name.endswith(s) for s in SIDECARS) and is_sqlite(target.with_name(name.rsplit("-", 1)[0])):
        return _("{target} belongs to a SQLite database; give another file").format(target=target)
    if not allow_sqlite and st.st_size and is_sqlite(target):
        return _("{target} is a SQLite database; refusing to overwrite it").format(target=target)
    return None


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return True
    # sqlite3: SQLITE_FULL ("database or disk is full")
    return getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)


def disk_full_error(target: Path) -> DiskFull:
    return DiskFull(N_("the disk is full: cannot write {target}; nothing was written (free some space and try again)"), target=target)


def _temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}")


def _remove(path: Path) -> None:
    _live.discard(path)
    for p in (path, *(path.with_name(path.name + s) for s in SIDECARS)):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass  # best effort on an error path; sweep() gets it later


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system lets a directory be synced
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep(directory: Path, *, now: float | None = None, age: float = SWEEP_AGE) -> list[Path]:
    """Remove our temporary files older than ``age`` seconds from ``directory``; return them."""
    now = time.time() if now is None else now
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not _OURS_RE.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid) or now - st.st_mtime < age:
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _check_target(target: Path, allow_sqlite: bool, check: Callable[[Path], str | None] | None) -> None:
    reason = refusal(target, allow_sqlite=allow_sqlite)
    if reason is None and check is not None and os.path.lexists(target):
        reason = check(target)
    if reason is not None:
        raise CrmError(N_("{reason}"), reason=reason)
    if not target.parent.is_dir():
        raise CrmError(N_("cannot write {target}: directory {parent} does not exist"), target=target, parent=target.parent)


class PendingFile:
    """A private temporary file that becomes ``target`` on ``commit()``, or vanishes on ``abort()``.

    ``exclusive``: ``target`` must not exist; it is never replaced (FileExistsError otherwise).
    ``allow_sqlite``: an existing SQLite database may be replaced (an older backup), never the
    protected database. ``check(target)``: the caller's reason to refuse an existing file.
    The temporary file exists, empty and 0600, from the start.
    """

    def __init__(
        self,
        target: Path,
        *,
        exclusive: bool = False,
        allow_sqlite: bool = False,
        check: Callable[[Path], str | None] | None = None,
    ) -> None:
        self.target = Path(target).expanduser()
        self.exclusive, self.allow_sqlite, self.check = exclusive, allow_sqlite, check
        _check_target(self.target, allow_sqlite, check)
        sweep(self.target.parent)
        self.path = _temp_path(self.target)
        self.done = False
        _live.add(self.path)  # before it exists: an interrupt at any point after leaves no file
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _CLOEXEC | _NOFOLLOW, 0o600)
        except OSError as exc:
            _live.discard(self.path)
            raise self._error(exc) from None
        except BaseException:
            _remove(self.path)
            raise
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
        except BaseException:
            os.close(fd)
            _remove(self.path)
            raise
        os.close(fd)

    def _error(self, exc: OSError) -> CrmError:
        if is_disk_full(exc):
            return disk_full_error(self.target)
        return CrmError(N_("cannot write {target}: {value}"), target=self.target, value=exc.strerror or exc)

    def sync(self) -> None:
        """Make the temporary file's bytes durable (the step a full disk can fail)."""
        try:
            os.chmod(self.path, 0o600)
            fsync_file(self.path)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None

    def commit(self) -> None:
        """Put the (synced) file in place: rename over ``target``, or link to the new name."""
        try:
            self.sync()
        except BaseException:  # Ctrl-C during the fsync of a large file
            self.abort()
            raise
        try:
            if self.exclusive:
                os.link(self.path, self.target, follow_symlinks=False)  # fails if anything appeared there
                os.unlink(self.path)
            else:
                _check_target(self.target, self.allow_sqlite, self.check)  # nothing was planted meanwhile
                os.replace(self.path, self.target)
        except FileExistsError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None
        except BaseException:
            self.abort()
            raise
        self.done = True
        _live.discard(self.path)
        fsync_dir(self.target.parent)

    def abort(self) -> None:
        if not self.done:
            _remove(self.path)
            self.done = True


@contextmanager
def writing(target: Path, **options: Any) -> Iterator[Path]:
    """A ``PendingFile``'s path for the block; committed when it completes, aborted on any error."""
    pending = PendingFile(target, **options)
    try:
        yield pending.path
    except BaseException as exc:
        pending.abort()
        if is_disk_full(exc):
            raise disk_full_error(pending.target) from None
        raise
    pending.commit()  # removes the temporary file itself on any failure, Ctrl-C included


@contextmanager
def temporary(near: Path) -> Iterator[Path]:
    """A private, empty temporary file next to ``near`` (ours by name), removed when the block ends."""
    sweep(near.parent)
    tmp = _temp_path(near)
    _live.add(tmp)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _CLOEXEC | _NOFOLLOW, 0o600)
    except OSError as exc:
        _live.discard(tmp)
        if is_disk_full(exc):
            raise disk_full_error(tmp) from None
        raise CrmError(N_("cannot write in {parent}: {strerror}"), parent=near.parent, strerror=exc.strerror) from None
    try:
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        yield tmp
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull(N_("the disk is full: cannot write in {parent}; nothing was changed"), parent=near.parent) from None
        raise
    finally:
        _remove(tmp)


@contextmanager
def open_for_writing(target: Path, **options: Any) -> Iterator[IO[bytes]]:
    """A binary file handle on a ``writing`` temporary file (see there)."""
    with writing(target, **options) as tmp:
        fd = os.open(tmp, os.O_WRONLY | _NOFOLLOW)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()


class ForZip:
    """A file handle for ``zipfile`` (openpyxl's save) that falls silent once it failed or closed.

    When a save fails halfway (a full disk, Ctrl-C), the ``ZipFile`` is left unclosed; when it
    is collected it tries to finish the archive on a handle we have closed meanwhile and prints
    "Exception ignored ... Traceback". The temporary file is discarded anyway, so after a failure
    or close every call is a no-op.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh: IO[bytes] | None = fh
        self._pos = fh.tell()  # a position kept after falling silent, so zipfile's arithmetic holds

    def _live(self) -> IO[bytes] | None:
        return None if self._fh is None or self._fh.closed else self._fh

    def write(self, data: bytes) -> int:
        fh = self._live()
        self._pos += len(data)
        if fh is None:
            return len(data)
        try:
            return fh.write(data)
        except BaseException:
            self._fh = None
            raise

    def tell(self) -> int:
        fh = self._live()
        if fh is not None:
            self._pos = fh.tell()
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        fh = self._live()
        if fh is not None:
            self._pos = fh.seek(offset, whence)
        elif whence == 0:
            self._pos = offset
        return self._pos

    def flush(self) -> None:
        fh = self._live()
        if fh is not None:
            try:
                fh.flush()
            except BaseException:
                self._fh = None
                raise

    def close(self) -> None:
        self._fh = None


def unique_name(path: Path) -> Path:
    """``path``, or ``path`` with -1, -2, ... before the suffix when something is there already."""
    suffix = path.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", path.suffix) else ""  # .db, not .bak-0001-2026...
    stem = path.name[: len(path.name) - len(suffix)]
    candidate, n = path, 0
    while os.path.lexists(candidate):  # a dangling symlink counts: it is never written through
        n += 1
        candidate = path.with_name(f"{stem}-{n}{suffix}")
    return candidate



def _head(path: Path, n: int = 8192) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def replaceable_workbook(target: Path) -> str | None:
    """A check for ``writing``: an existing file is replaced only if it is a workbook (a zip) or empty."""
    head = _head(target, 4)
    if head and not head.startswith(b"PK"):
        return _("{target} exists and is not an Excel workbook; refusing to overwrite it").format(target=target)
    return None


def replaceable_text(target: Path) -> str | None:
    """A check for ``writing``: an existing file is replaced only if it is text (no NUL bytes) or empty."""
    if b"\x00" in _head(target):
        return _("{target} exists and is not a text file; refusing to overwrite it").format(target=target)
    return None
