"""Helpers shared by the reliability tests: real ``crm`` processes, lock holders, file probes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_CRM_SCRIPT = Path(sys.executable).with_name("crm")
CRM: list[str] = [str(_CRM_SCRIPT)] if _CRM_SCRIPT.exists() else [sys.executable, "-m", "crmcli"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float = 0.0


def crm_run(*args: str, timeout: float = 120, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run the installed ``crm`` in its own process (CRM_* settings come from os.environ)."""
    start = time.monotonic()
    proc = subprocess.run(
        [*CRM, *args], capture_output=True, text=True, timeout=timeout, env=env or dict(os.environ), cwd=cwd
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def crm_run_measured(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    """Run ``crm`` and measure its peak resident memory with os.wait4 (ru_maxrss, KiB on Linux)."""
    start = time.monotonic()
    # On Linux a child's ru_maxrss starts at its parent's high-water mark (fork/vfork copy the
    # counters and exec keeps the maximum), so a child of a big pytest process would report
    # pytest's memory. A small launcher process starts crm and reports crm's own rusage.
    import tempfile

    fd, rss_file = tempfile.mkstemp(prefix="crm-rss-")
    os.close(fd)
    with open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, rss_file, *CRM, *args],
            stdin=devnull,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env or dict(os.environ),
        )
    # Drain both pipes until they close, then reap this very child with wait4 for its rusage.
    deadline = start + timeout
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    import selectors

    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, out_chunks)
    sel.register(proc.stderr, selectors.EVENT_READ, err_chunks)
    open_streams = 2
    while open_streams:
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"crm {' '.join(args)} ran past {timeout} s")
        for key, _ in sel.select(timeout=0.5):
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fileobj)
                open_streams -= 1
            else:
                key.data.append(data)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    rss_kb = float(Path(rss_file).read_text() or 0)
    os.unlink(rss_file)
    return Run(
        proc.returncode,
        b"".join(out_chunks).decode("utf-8", "replace"),
        b"".join(err_chunks).decode("utf-8", "replace"),
        time.monotonic() - start,
        rss_kb / 1024,
    )


_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


@contextmanager
def write_lock(db: Path, *, insert_customer: bool = False) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's write lock (BEGIN IMMEDIATE) until the block ends.

    With ``insert_customer`` it also writes a row it never commits.
    """
    code = textwrap.dedent(
        f"""
        import sqlite3, sys
        con = sqlite3.connect({str(db)!r}, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        if {insert_customer!r}:
            con.execute(
                "INSERT INTO customer (code, name, name_key, phone, phone_key, created_at) "
                "VALUES ('C209901999', 'Uncommitted', 'uncommitted', '13900000000', '13900000000', '2099-01-01')"
            )
        print("locked", flush=True)
        sys.stdin.readline()
        con.execute("ROLLBACK")
        con.close()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            proc.wait(timeout=30)


def integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return "\n".join(str(r[0]) for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def count(path: Path, table: str, where: str = "") -> int:
    con = sqlite3.connect(path, timeout=30)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0])
    finally:
        con.close()


def counts(path: Path, tables: Sequence[str] = ("customer", "follow_up", "stage_change", "deal", "tag")) -> dict[str, int]:
    return {t: count(path, t) for t in tables}


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Every row of ``sql`` on the file, through a connection of its own."""
    con = sqlite3.connect(path)
    try:
        return list(con.execute(sql))
    finally:
        con.close()


def release_file(release: Path, db: Path, rev: str) -> Path:
    """``release`` (a file an earlier release wrote, ``tests/data/make_release_db.py``) copied to
    ``db`` as a user's database is kept (a private folder, mode 0600), checked to be at ``rev``."""
    import shutil

    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(release, db)
    db.chmod(0o600)
    assert revision(db) == rev
    return db


def revision(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("SELECT version_num FROM alembic_version").fetchone()[0])
    finally:
        con.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def write_config(path: Path, **values: object) -> None:
    lines = []
    for key, value in values.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
