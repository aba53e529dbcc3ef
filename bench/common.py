"""Shared pieces of the benchmarks: the result row, paired runs of two commands, the databases.

Every benchmark compares our command with a *floor* measured in the same run on the same
machine: the least work that produces the same output (see ``bench/floors.py``). Both sides
are fresh processes, run in pairs (ours, floor, ours, floor, ...); each row reports the
**median** CPU time (user + sys of the child) and the median wall time of each side, and the
peak RSS of each side (the highest over its runs). Nothing is a best-of.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# CRM_BENCH_DATA: where databases and files are generated (the smoke test points it at a tmp dir).
DATA = Path(os.environ.get("CRM_BENCH_DATA") or ROOT / "bench" / "data")
TODAY = "2026-11-26"
FOLLOW_UPS_PER_CUSTOMER = 10
# The environment of every `crm` run: a fixed today, Chinese labels, no config file.
ENV = {"CRM_TODAY": TODAY, "CRM_LANG": "zh", "CRM_USER": "bench", "CRM_CONFIG": str(DATA / "no-such-crm.toml")}

# Set by bench/run.py in a benchmark's worker process: --repeat and --quick.
REPEAT: int | None = None
QUICK = False


def each_size(name: str, bench_size: Any, sizes: list[int] | None, default_repeat: int) -> list[Any]:
    """``bench_size(n, pairs, tmp)`` for each size, smallest first, in one temporary directory,
    after compiling the sources as pip install does (the shape of most benchmarks' ``run``)."""
    import tempfile

    compile_sources()
    pairs = repeat(default_repeat)
    results: list[Any] = []
    with tempfile.TemporaryDirectory(prefix=f"crm-bench-{name}-") as tmp:
        for n in sorted(set(sizes or [100_000])):
            sys.stderr.write(f"bench: {name} {n:,} ...\n")
            results += bench_size(n, pairs, Path(tmp))
    return results


def repeat(default: int) -> int:
    """Timed pairs per row: --repeat if given, else the benchmark's default (1 in --quick)."""
    if REPEAT is not None:
        return REPEAT
    return 1 if QUICK else default


@dataclass
class Result:
    """One row of the table.

    ``ours`` and ``floor`` are the figures the target is judged on: median CPU seconds (user +
    sys) for a timed row, or whatever ``unit`` says (MB of a file or of peak memory). Rows
    from benchmarks that measure only wall time leave the ``*_wall`` fields empty.
    """

    operation: str
    size: str
    ours: float
    floor: float
    peak_mb: float | None = None  # our peak RSS, MB (the highest over the runs)
    target: float | None = None  # the ratio the issue allows (ours / floor)
    note: str = ""
    unit: str = "s"
    ours_wall: float | None = None  # median wall seconds
    floor_wall: float | None = None
    floor_peak_mb: float | None = None
    floor_desc: str = ""  # what the floor is, for the docs
    n: int | None = None  # rows / customers: the growth column compares sizes of one operation
    runs: int = 0  # timed pairs behind the medians
    # What the target is judged on: "cpu+wall" (both ratios within it), "cpu" or "wall" (that ratio
    # alone), or "at-least" (``ours`` itself must reach the target: a share such as recall).
    basis: str = "cpu+wall"

    @property
    def ratio(self) -> float:
        return self.ours / self.floor if self.floor > 0 else float("inf")

    @property
    def wall_ratio(self) -> float | None:
        if self.ours_wall is None or not self.floor_wall:
            return None
        return self.ours_wall / self.floor_wall

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        if self.basis == "at-least":
            return self.ours >= self.target
        wall = self.wall_ratio
        if self.basis == "wall":
            return wall is not None and wall <= self.target
        return self.ratio <= self.target and (self.basis == "cpu" or wall is None or wall <= self.target)


# --------------------------------------------------------------------------- running commands

# Children are started by a small helper process, not by the benchmark itself: on Linux a child's
# ru_maxrss counts the memory of the process it was forked from (the high-water mark of the old
# address space is kept across exec), so once a benchmark had loaded a workbook in-process, every
# command it ran afterwards "peaked" at least that high. The helper stays small; it starts each
# command, waits for it with wait4 and reports that child's own rusage: wall, user + sys CPU,
# ru_maxrss. stdout goes to /dev/null, or (to check that two commands wrote the same bytes) to a
# pipe the helper drains, counting and hashing what it reads.
_SPAWNER_CODE = r"""
import hashlib, json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    req = json.loads(line)
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryFile() as err:
        hashing = req["stdout"] == "hash"
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                req["argv"], env=req["env"], cwd=req["cwd"], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if hashing else subprocess.DEVNULL, stderr=err,
            )
        except OSError as exc:
            sys.stdout.write(json.dumps({"wall": 0, "cpu": 0, "rss": 0, "code": -1, "err": repr(exc)}) + "\n")
            sys.stdout.flush()
            continue
        if hashing:
            while chunk := proc.stdout.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
            proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        err.seek(0)
        tail = err.read()[-2000:].decode(errors="replace")
    reply = {
        "wall": elapsed, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024.0,
        "code": os.waitstatus_to_exitcode(status), "err": tail,
        "bytes": size if hashing else None, "sha": digest.hexdigest() if hashing else None,
    }
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"""
_spawner: subprocess.Popen[str] | None = None


@dataclass
class Run:
    wall: float
    cpu: float
    rss: float  # MB
    code: int
    err: str = ""
    bytes: int | None = None  # stdout size and hash, when hashed
    sha: str | None = None


def run_once(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None, *, hash_stdout: bool = False
) -> Run:
    """Run a command once from the spawner; stdout to /dev/null or hashed."""
    global _spawner
    if _spawner is None or _spawner.poll() is not None:
        _spawner = subprocess.Popen(
            [sys.executable, "-c", _SPAWNER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    assert _spawner.stdin is not None and _spawner.stdout is not None
    req = {"argv": list(argv), "env": {**os.environ, **ENV, **(env or {})}, "cwd": str(cwd) if cwd else None,
           "stdout": "hash" if hash_stdout else "devnull"}  # fmt: skip
    _spawner.stdin.write(json.dumps(req) + "\n")
    _spawner.stdin.flush()
    line = _spawner.stdout.readline()
    if not line:
        raise RuntimeError(f"bench: the process spawner died running {' '.join(argv)}")
    run = Run(**json.loads(line))
    if run.code != 0:
        raise RuntimeError(f"bench: {' '.join(argv)[:300]} exited {run.code}: {run.err[-800:]}")
    return run


def run_cmd(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one run; for benchmarks written against the old harness."""
    try:
        r = run_once(argv, env, cwd)
    except RuntimeError as exc:
        sys.stderr.write(f"{exc}\n")
        return float("nan"), 0.0, 1
    return r.wall, r.rss, r.code


@dataclass
class Side:
    """The runs of one command: medians of CPU and wall, the highest peak RSS, the checked output."""

    runs: list[Run] = field(default_factory=list)
    check: Run | None = None  # the run whose stdout was hashed

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.rss for r in [*self.runs, *([self.check] if self.check else [])])


def interleave(
    commands: Sequence[Sequence[str]],
    pairs: int,
    *,
    env: dict[str, str] | None = None,
    setup: Callable[[int], None] | None = None,
    check_stdout: bool = True,
) -> list[Side]:
    """Run ``commands`` in turn (A B A B ..., or A B C A B C ...) ``pairs`` times; one Side each.

    With ``check_stdout`` one untimed round comes first with stdout hashed (it also warms the
    OS file cache); with a single timed round that round is hashed and timed. ``setup(i)`` runs
    before each run of command ``i`` (e.g. a fresh copy of a database), outside the timing.
    """
    sides = [Side() for _ in commands]
    if check_stdout and pairs > 1:
        for i, argv in enumerate(commands):
            if setup:
                setup(i)
            sides[i].check = run_once(argv, env, hash_stdout=True)
    for _ in range(pairs):
        for i, argv in enumerate(commands):
            if setup:
                setup(i)
            run = run_once(argv, env, hash_stdout=check_stdout and pairs == 1)
            sides[i].runs.append(run)
            if run.sha is not None:
                sides[i].check = run
    return sides


def interleave_calls(
    functions: Sequence[Callable[[], object]], pairs: int, *, setup: Callable[[int], None] | None = None
) -> list[Side]:
    """In-process timing of ``functions`` in turn (A B A B ...) ``pairs`` times: CPU of this process
    (``time.process_time``) and wall, one Side each. For a service call without the command around
    it; such runs have no peak memory of their own (their ``rss`` is 0: the process's is shared)."""
    sides = [Side() for _ in functions]
    for _ in range(pairs):
        for i, fn in enumerate(functions):
            if setup:
                setup(i)
            cpu, wall = time.process_time(), time.perf_counter()
            fn()
            sides[i].runs.append(Run(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu, rss=0.0, code=0))
    return sides


def same_output(ours: Side, floor: Side) -> bool | None:
    if ours.check is None or floor.check is None:
        return None
    return ours.check.sha == floor.check.sha


def result(
    operation: str,
    size: str,
    ours: Side,
    floor: Side,
    *,
    target: float | None,
    floor_desc: str,
    n: int | None = None,
    note: str = "",
    same_bytes: bool | None = True,
    basis: str = "cpu+wall",
) -> Result:
    """A timed row. ``same_bytes``: True when the floor claims to write our very bytes (checked:
    a difference is flagged in the note), False when it does not claim to, None when not checked."""
    notes = [note] if note else []
    if same_bytes:
        same = same_output(ours, floor)
        if same is False:
            sys.stderr.write(f"bench: {operation} ({size}): the floor's output differs from ours\n")
            notes.append(f"OUTPUT DIFFERS (ours {ours.check.bytes:,} B, floor {floor.check.bytes:,} B)")  # type: ignore[union-attr]
        elif same:
            notes.append(f"same {ours.check.bytes:,} bytes out")  # type: ignore[union-attr]
    return Result(
        operation=operation,
        size=size,
        ours=ours.cpu,
        floor=floor.cpu,
        peak_mb=ours.rss,
        target=target,
        note="; ".join(notes),
        ours_wall=ours.wall,
        floor_wall=floor.wall,
        floor_peak_mb=floor.rss,
        floor_desc=floor_desc,
        n=n,
        runs=len(ours.runs),
        basis=basis,
    )


def sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


_scripts: Path | None = None


def python_cmd(code: str) -> list[str]:
    """A fresh Python process running ``code``: ``python -c CODE`` when short; else the code from a
    file (a floor that embeds its output or its SQL can pass Linux's 128 KiB limit on one argument)."""
    global _scripts
    if len(code.encode()) < 64_000:
        return [sys.executable, "-c", code]
    if _scripts is None:
        import atexit
        import shutil
        import tempfile

        _scripts = Path(tempfile.mkdtemp(prefix="crm-bench-floors-"))
        atexit.register(shutil.rmtree, _scripts, True)
    path = _scripts / f"floor_{hashlib.sha256(code.encode()).hexdigest()[:16]}.py"
    path.write_text(code, encoding="utf-8")
    return [sys.executable, str(path)]


def crm_cmd(*args: str) -> list[str]:
    """The installed command, as a user runs it."""
    exe = Path(sys.executable).with_name("crm")
    return [str(exe) if exe.exists() else "crm", *args]


def compile_sources() -> None:
    """Byte-compile crmcli as ``pip install`` does: with PYTHONDONTWRITEBYTECODE set, a module
    edited since its .pyc was written would be compiled on every run and counted against us."""
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "crmcli"), quiet=1)


# --------------------------------------------------------------------------- data


def label(n: int) -> str:
    """10k, 100k, 1M, 200."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def size_label(customers: int, follow_ups: int) -> str:
    return f"{label(customers)} cust / {label(follow_ups)} fu"


def _count(path: Path, table: str) -> int:
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


def _schema(path: Path) -> list[tuple[str, str, str]]:
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sorted(con.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    finally:
        con.close()


_reference: list[tuple[str, str, str]] | None = None


def current_schema(path: Path) -> bool:
    """Whether ``path`` has the very schema ``crm init`` makes now. The revision alone is not
    enough: when branches are merged, migrations are re-chained and a file stamped with the
    head revision can lack a migration that was slotted in before it."""
    global _reference
    if _reference is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="crm-bench-schema-") as tmp:
            ref = Path(tmp) / "ref.db"
            subprocess.run(crm_cmd("--db", str(ref), "init"), check=True, capture_output=True, env={**os.environ, **ENV})
            _reference = _schema(ref)
    return _schema(path) == _reference


@contextmanager
def building(path: Path) -> Iterator[None]:
    """Hold an exclusive lock while ``path`` is checked and (re)built: two benchmarks run at the
    same time (``run.py --quick`` runs them side by side) must not build one file twice."""
    import fcntl

    DATA.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def database(customers: int, follow_ups: int | None = None) -> Path:
    """``DATA/crm_<customers>_<follow_ups>.db`` at the current schema, built once by
    bench/builddb.py and reused (10 follow-ups per customer unless told)."""
    follow_ups = customers * FOLLOW_UPS_PER_CUSTOMER if follow_ups is None else follow_ups
    path = DATA / f"crm_{customers}_{follow_ups}.db"
    with building(path):
        _database(path, customers, follow_ups)
    return path


def _database(path: Path, customers: int, follow_ups: int) -> None:
    from crmcli.store import HEAD
    from crmcli.store import sqlite as db

    try:
        fresh = (
            path.exists()
            and db.stored_revision(path) == HEAD
            and current_schema(path)
            and _count(path, "customer") == customers
            and _count(path, "follow_up") == follow_ups
        )
    except Exception:
        fresh = False
    if not fresh:
        from bench.builddb import build

        # Built aside and renamed: another benchmark may be reading the old file.
        tmp = path.with_name(path.name + ".building")
        sys.stderr.write(f"bench: building {path} ({customers:,} customers, {follow_ups:,} follow-ups) ...\n")
        start = time.perf_counter()
        build(tmp, customers, follow_ups)
        os.replace(tmp, path)
        sys.stderr.write(f"bench: built {path} in {time.perf_counter() - start:.0f} s\n")


def without_log_triggers(db: Path) -> Path:
    """A copy of ``db`` without the change log's triggers (``crmcli/store/changelog.py``), for a
    floor to write into. They are part of our schema since 0008 and log nothing outside a change
    set, but any trigger on a table makes SQLite open a statement journal for every statement
    that writes it: ~3 µs more a row for a floor's ``executemany`` (and their parsing for every
    connection). A floor does the least work that gives the same data, so it goes without them."""
    import shutil
    import sqlite3

    from crmcli.store import changelog

    out = db.with_name(f"{db.stem}-plain{db.suffix}")
    if not out.exists() or out.stat().st_mtime < db.stat().st_mtime:
        tmp = out.with_name(out.name + ".building")  # built aside: another benchmark may read the old one
        shutil.copyfile(db, tmp)
        con = sqlite3.connect(tmp)
        for sql in changelog.drop_sql():
            con.execute(sql)
        con.commit()
        con.close()
        os.replace(tmp, out)
    return out


def empty_database() -> Path:
    """``DATA/empty.db``: a database at the current schema with no rows (made by ``crm init``)."""
    from crmcli.store import HEAD
    from crmcli.store import sqlite as db

    path = DATA / "empty.db"
    with building(path):
        try:
            fresh = (
                path.exists() and db.stored_revision(path) == HEAD and current_schema(path) and _count(path, "customer") == 0
            )
        except Exception:
            fresh = False
        if not fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            subprocess.run(crm_cmd("--db", str(path), "init"), check=True, capture_output=True, env={**os.environ, **ENV})
    return path
