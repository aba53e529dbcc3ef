"""Shared pieces of the benchmarks: timing commands and functions, peak memory, the result row.

Every benchmark compares our time with a *floor* measured in the same run on the
same machine, and reports the ratio; absolute seconds vary between machines,
ratios much less.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"


@dataclass
class Result:
    operation: str
    size: str
    ours: float  # seconds, best of the repeats
    floor: float  # seconds, best of the repeats
    peak_mb: float | None = None  # peak RSS of our run, MB
    target: float | None = None  # the ratio the issue allows (ours / floor)
    note: str = ""
    unit: str = "s"  # what ours and floor count: "s" (seconds) or "MB" (a file size, say)

    @property
    def ratio(self) -> float:
        return self.ours / self.floor if self.floor > 0 else float("inf")

    @property
    def ok(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


# Children are started by a small helper process, not by the benchmark itself: on Linux a child's
# ru_maxrss counts the memory of the process it was forked from (the high-water mark of the old
# address space is kept across exec), so once a benchmark had loaded a workbook in-process, every
# command it ran afterwards "peaked" at least that high. The helper stays small; it times each
# command (Popen to wait4, as before) and reports its rusage.
_SPAWNER_CODE = r"""
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    req = json.loads(line)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            req["argv"], env=req["env"], cwd=req["cwd"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        err.seek(0)
        tail = err.read()[-2000:].decode(errors="replace")
    reply = {"elapsed": elapsed, "rss": usage.ru_maxrss / 1024.0, "code": os.waitstatus_to_exitcode(status), "err": tail}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"""
_spawner: subprocess.Popen[str] | None = None


def _spawn(argv: Sequence[str], env: dict[str, str], cwd: Path | None) -> dict[str, Any]:
    global _spawner
    if _spawner is None or _spawner.poll() is not None:
        _spawner = subprocess.Popen(
            [sys.executable, "-c", _SPAWNER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    assert _spawner.stdin is not None and _spawner.stdout is not None
    _spawner.stdin.write(json.dumps({"argv": list(argv), "env": env, "cwd": str(cwd) if cwd else None}) + "\n")
    _spawner.stdin.flush()
    line = _spawner.stdout.readline()
    if not line:
        raise RuntimeError(f"bench: the process spawner died running {' '.join(argv)}")
    return json.loads(line)  # type: ignore[no-any-return]


def run_cmd(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float, int]:
    """Run a command once; return (wall seconds, peak RSS MB of the child, exit code).

    stdout is discarded, stderr shown (its end) when the command fails. Peak RSS comes from
    wait4's rusage for this child alone, started from a small helper process (see above).
    """
    reply = _spawn(argv, {**os.environ, **(env or {})}, cwd)
    if reply["code"] not in (0, 3):
        sys.stderr.write(f"bench: {' '.join(argv)} exited {reply['code']}: {reply['err'][-500:]}\n")
    return float(reply["elapsed"]), float(reply["rss"]), int(reply["code"])


def best_cmd(argv: Sequence[str], repeat: int = 5, env: dict[str, str] | None = None, setup: Callable[[], None] | None = None) -> tuple[float, float]:
    """Best wall time and the peak RSS over ``repeat`` runs of a command (``setup`` runs before each)."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        if setup:
            setup()
        elapsed, rss, _ = run_cmd(argv, env)
        best, peak = min(best, elapsed), max(peak, rss)
    return best, peak


def best_func(fn: Callable[[], object], repeat: int = 3, setup: Callable[[], None] | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def python_cmd(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def crm_cmd(*args: str) -> list[str]:
    """The installed command, as a user runs it."""
    exe = Path(sys.executable).with_name("crm")
    return [str(exe) if exe.exists() else "crm", *args]


def best_pair(
    ours: Sequence[str], floor: Sequence[str], repeat: int = 15, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """Best wall time of ``ours`` and of ``floor``, run alternately; and the peak RSS MB of ``ours``.

    Alternating spreads any load on the machine over both sides alike; the best of many runs
    is the figure least disturbed by it (startup commands take tens of milliseconds).
    """
    best_ours = best_floor = float("inf")
    peak = 0.0
    for _ in range(repeat):
        elapsed, rss, _ = run_cmd(ours, env)
        best_ours, peak = min(best_ours, elapsed), max(peak, rss)
        elapsed, _, _ = run_cmd(floor, env)
        best_floor = min(best_floor, elapsed)
    return best_ours, best_floor, peak
