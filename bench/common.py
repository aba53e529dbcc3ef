"""Shared pieces of the benchmarks: timing commands and functions, peak memory, the result row.

Every benchmark compares our time with a *floor* measured in the same run on the
same machine, and reports the ratio; absolute seconds vary between machines,
ratios much less.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def run_cmd(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float, int]:
    """Run a command once; return (wall seconds, peak RSS MB of the child, exit code).

    stdout/stderr are discarded. Peak RSS comes from wait4's rusage for this child alone.
    """
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=full_env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3) and proc.stderr is not None:
        sys.stderr.write(f"bench: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.read().decode(errors='replace')[-500:]}\n")
    return elapsed, usage.ru_maxrss / 1024.0, proc.returncode


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
