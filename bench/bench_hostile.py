"""Hostile input benchmark: every file the pre-flight refuses, full size, through the installed ``crm import``.

For each file (built into a temporary directory: one cell at XFD1048576, 2,000 rows reaching
XFD, a 14 MB workbook whose shared strings inflate 62:1 to 920 MB, a 300 MB zip bomb, .ods
repeats, .xls and .xlsb far cells, a CSV of one 2 GB line written 1 MiB at a time, a
million-column CSV, a UTF-8 CSV with a GBK row, /dev/zero, a FIFO) it prints the exit code,
seconds, peak RSS (wait4 on crm's own process, through a small launcher), the first line of
stderr and whether the target is met: exit 1 with exactly one ``Error:`` line, under 300 MB
and under 10 s. A script people run, not a timed test (tests/test_preflight.py has the tests).

    python bench/bench_hostile.py [--keep DIR] [--only WORD]

``run(sizes)`` is what ``bench/run.py`` calls (sizes are ignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Result, crm_cmd
from tests import hostile_files as H

RSS_MB, SECONDS = 300.0, 10.0
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
code = os.waitstatus_to_exitcode(status)
open(sys.argv[1], "w").write(f"{usage.ru_maxrss} {code}")
sys.exit(1 if code < 0 else code)
"""


@dataclass
class Outcome:
    name: str
    file: str
    size: int
    code: int
    seconds: float
    rss_mb: float
    stderr: str

    @property
    def errors(self) -> list[str]:
        return self.stderr.strip().splitlines()

    @property
    def met(self) -> bool:
        lines = self.errors
        return (
            self.code == 1 and len(lines) == 1 and lines[0].startswith("Error: ")
            and self.rss_mb < RSS_MB and self.seconds < SECONDS
        )  # fmt: skip


def files() -> dict[str, tuple[Callable[[Path], Path], str]]:
    """The tests' hostile files, the bench-sized ones in place of their small versions."""
    out = dict(H.HOSTILE)
    out["xlsx: shared strings at 70:1"] = (lambda d: H.shared_strings_bomb(d, 880), "shared strings")
    out["csv: one 24 MB line"] = (lambda d: H.long_line(d, 2048), "longer than 8 MiB")
    out = {("csv: one 2 GB line" if k == "csv: one 24 MB line" else k): v for k, v in out.items()}
    out["xlsx: zip bomb 300 MB (1000:1)"] = (H.zip_bomb, "zip bomb")
    out["/dev/zero"] = (lambda d: Path("/dev/zero"), "character device")
    out["FIFO"] = (H.fifo, "FIFO")
    return out


def measure(name: str, path: Path, env: dict[str, str], timeout: float = 60.0) -> Outcome:
    """``crm import path`` in a process group of its own (killed whole on timeout)."""
    fd, rss_file = tempfile.mkstemp(prefix="crm-rss-")
    os.close(fd)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, rss_file, *crm_cmd("import", str(path))],
            stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read(1 << 20).decode("utf-8", "replace")
    report = Path(rss_file).read_text().split()
    os.unlink(rss_file)
    rss = float(report[0]) / 1024 if report else 0.0
    if report:
        code = int(report[1])  # negative: killed by that signal (-6: calamine's abort)
    size = path.stat().st_size if path.is_file() else 0
    return Outcome(name, path.name, size, code, seconds, rss, stderr)


def bench(only: str | None = None, keep: Path | None = None) -> list[Outcome]:
    tmp = keep or Path(tempfile.mkdtemp(prefix="crm-bench-hostile-"))
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CRM_DB=str(tmp / "db" / "crm.db"), CRM_CONFIG=str(tmp / "none.toml"), CRM_USER="bench")
    outcomes = []
    try:
        for name, (build, _) in files().items():
            if only and only.lower() not in name.lower():
                continue
            sub = tmp / f"f{len(outcomes):02d}"
            sub.mkdir(exist_ok=True)
            sys.stderr.write(f"bench: {name} ...\n")
            path = build(sub)
            outcomes.append(measure(name, path, env))
            if keep is None and path.is_file() and path.stat().st_size > 100 << 20:
                path.unlink()  # the 2 GB line: not kept longer than needed
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    rows = [("file", "size", "exit", "seconds", "peak MB", "met", "first line of stderr")]
    for o in outcomes:
        first = o.errors[0] if o.errors else ""
        rows.append((
            o.name, _size(o.size), _code(o.code), f"{o.seconds:.2f}", f"{o.rss_mb:.0f}", "yes" if o.met else "NO",
            first if len(first) <= 110 else first[:109] + "…",
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append(
            "  ".join(
                c.rjust(w) if i in (1, 2, 3, 4) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _code(code: int) -> str:
    if code >= 0:
        return str(code)
    try:
        return signal.Signals(-code).name
    except ValueError:
        return str(code)


def _size(n: int) -> str:
    if n == 0:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def run(sizes: list[int] | None = None) -> list[Result]:
    """For bench/run.py: one row per file; ours is the seconds against the 10 s budget (the
    floor column), and a file missing any target (exit, one line, memory) gets target 0."""
    return [
        Result(
            operation=f"hostile: {o.name}",
            size=_size(o.size),
            ours=o.seconds,
            floor=SECONDS,
            peak_mb=o.rss_mb,
            target=1.0 if o.met or o.seconds >= SECONDS else 0.0,
            note=f"exit {_code(o.code)}; " + (o.errors[0][:70] if o.errors else "no stderr"),
        )
        for o in bench()
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--only", help="only the files whose name contains this")
    ap.add_argument("--keep", type=Path, help="build the files here and keep them")
    args = ap.parse_args(argv)
    outcomes = bench(args.only, args.keep)
    print(table(outcomes))
    missed = [o.name for o in outcomes if not o.met]
    sys.stderr.write(
        f"bench: {len(outcomes) - len(missed)} of {len(outcomes)} met the target"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + "\n"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
