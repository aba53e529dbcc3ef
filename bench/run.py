"""Run every benchmark against its floor, in one run, and print one table.

Each ``bench/bench_*.py`` module exposes ``run(sizes: list[int]) -> list[Result]`` (see
``bench/common.py``); this script finds them, runs them in turn and prints operation, size, our
time, the floor's time, the ratio, the target ratio, whether it is met and our peak memory.
``--write-docs`` puts the table, the machine and the command into docs/benchmarks.md.

    python bench/run.py                          # every benchmark at 100k rows (~10 minutes)
    python bench/run.py --only startup,scale     # some of them
    python bench/run.py --sizes 10k,100k         # other sizes; --full is 10k,100k,1m
    python bench/run.py --write-docs             # also update docs/benchmarks.md

Sizes are numbers of customers (rows of the seed-000 workbook); each benchmark says how it uses
them (startup ignores them; scale takes the largest, capped at the issue's 100k customers and 1M
follow-ups). The exit status is 1 when a target is missed or a benchmark fails. Data is generated
on first use into bench/data/ (ignored by git) and reused. Each benchmark runs in a fresh
subprocess, so that none inherits another's memory or state.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import Result  # noqa: E402

BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_SIZES = [100_000]  # the size the issues state their targets at
FULL_SIZES = [10_000, 100_000, 1_000_000]
# Benchmarks run (and are listed in the docs) in this order; any other bench_*.py after them.
ORDER = ("startup", "scale", "import", "export", "queries")
COLUMNS = ("operation", "size", "ours", "floor", "ratio", "target", "ok", "peak MB", "notes")
BEGIN, END = "<!-- bench:results -->", "<!-- /bench:results -->"


# --------------------------------------------------------------------------- discovery


def available() -> list[str]:
    names = [p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 10000, 10k or 1m)") from None


def parse_sizes(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


# --------------------------------------------------------------------------- formatting


def fmt_value(value: float, unit: str) -> str:
    if unit == "s":
        if value < 1:
            return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "MB":
        return f"{value:,.1f} MB"
    return f"{value:g} {unit}"


def cells(r: Any, markdown: bool = False) -> list[str]:
    """One result as table cells (duck-typed: a Result from any copy of bench.common)."""
    unit = getattr(r, "unit", "s")
    ratio = r.ours / r.floor if r.floor > 0 else float("inf")
    ok = r.ok
    return [
        str(r.operation),
        str(r.size),
        fmt_value(r.ours, unit),
        fmt_value(r.floor, unit),
        f"{ratio:.2f}",
        "" if r.target is None else f"≤ {r.target:g}",
        "" if ok is None else (("✓" if ok else "✗") if markdown else ("yes" if ok else "NO")),
        "" if r.peak_mb is None else f"{r.peak_mb:,.0f}",
        str(r.note or ""),
    ]


def format_table(results: Sequence[Any]) -> str:
    """A plain-text table for the terminal."""
    rows = [list(COLUMNS), *(cells(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    right = {2, 3, 4, 7}
    lines = []
    for k, row in enumerate(rows):
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[Any]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|---:|---:|---:|---|---|---:|---|"]
    for r in results:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(r, markdown=True)) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def machine() -> str:
    """nproc, CPU model, RAM, OS and Python: what the figures depend on."""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    ram = f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB RAM" if mem else "RAM unknown"
    load = f"load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    parts = [
        f"{nproc} CPUs (`nproc`)",
        model.group(1).strip() if model else platform.processor() or platform.machine(),
        ram,
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        load,
    ]
    return ", ".join(p for p in parts if p)


# --------------------------------------------------------------------------- docs


def _blocks(region: str) -> dict[str, str]:
    """The per-benchmark blocks (``#### name`` ... up to the next one) of an existing results region."""
    out: dict[str, str] = {}
    for chunk in re.split(r"(?m)^(?=#### )", region):
        m = re.match(r"#### (\S+)", chunk)
        if m:
            out[m.group(1)] = chunk.rstrip("\n") + "\n"
    return out


def results_region(old_region: str, by_bench: dict[str, list[Any]], command: str, when: str) -> str:
    """The generated part of docs/benchmarks.md: machine, then one table per benchmark.

    Benchmarks this run did not measure keep their previous block (with their own command line).
    """
    blocks = _blocks(old_region)
    short = f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} CPUs, Python {platform.python_version()}"
    for name, results in by_bench.items():
        blocks[name] = f"#### {name}\n\n`{command}` · {when} · {short}\n\n{markdown_table(results)}\n"
    names = sorted(blocks, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    head = (
        f"{BEGIN}\n"
        "<!-- written by `python bench/run.py --write-docs`: edit outside these markers -->\n\n"
        f"**Machine:** {machine()}.\n\n"
        f"**Last command:** `{command}` ({when}).\n\n"
    )
    return head + "\n".join(blocks[n] for n in names) + f"\n{END}"


def write_docs(by_bench: dict[str, list[Any]], command: str, doc: Path = DOC) -> Path:
    """Replace the generated region of docs/benchmarks.md; every other line of the file is kept."""
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    start, stop = text.find(BEGIN), text.find(END)
    if start >= 0 and stop > start:
        region = results_region(text[start:stop], by_bench, command, when)
        text = text[:start] + region + text[stop + len(END) :]
    else:
        region = results_region("", by_bench, command, when)
        m = re.search(r"(?m)^## ", text)  # before the first section, after the title and intro
        at = m.start() if m else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + region + "\n\n" + text[at:].lstrip("\n")
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return doc


# --------------------------------------------------------------------------- running


def _worker(name: str, sizes: list[int], out: Path) -> int:
    """Run one benchmark module in this (fresh) process and write its results to ``out`` as JSON."""
    module = importlib.import_module(f"bench.bench_{name}")
    results = list(module.run(list(sizes)))
    rows = [{f.name: getattr(r, f.name) for f in dataclasses.fields(Result) if hasattr(r, f.name)} for r in results]
    out.write_text(json.dumps(rows), encoding="utf-8")
    return 0


def run_one(name: str, sizes: list[int]) -> list[Result]:
    """Run ``bench/bench_<name>.py`` in a subprocess of its own.

    Each benchmark starts from a small, clean process: what one loads in memory (a workbook,
    a query's rows) neither slows the next one down nor shows up in its peak-memory figures,
    and a crash is that benchmark's alone.
    """
    with tempfile.TemporaryDirectory(prefix="crm-bench-run-") as tmp:
        out = Path(tmp) / "results.json"
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--sizes", ",".join(map(str, sizes))]
        proc = subprocess.run([*argv, "--worker-out", str(out)], stdout=sys.stderr, check=False)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"bench_{name} exited {proc.returncode}")
        return [Result(**row) for row in json.loads(out.read_text(encoding="utf-8"))]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    names = available()
    ap = argparse.ArgumentParser(
        description="Run the benchmarks against their floors and print one table.",
        epilog=f"benchmarks: {', '.join(names)}",
    )
    ap.add_argument("--only", help="comma-separated benchmarks to run (default: all)")
    ap.add_argument("--sizes", type=parse_sizes, help="comma-separated sizes, e.g. 10k,100k (default 100k)")
    ap.add_argument("--full", action="store_true", help="sizes 10k,100k,1m (the 1M-row runs take a while)")
    ap.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.sizes or DEFAULT_SIZES, args.worker_out)
    if args.list:
        print("\n".join(names))
        return 0
    chosen = names
    if args.only:
        chosen = [n.strip().removeprefix("bench_") for n in args.only.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    sizes = args.sizes or (FULL_SIZES if args.full else DEFAULT_SIZES)
    command = " ".join(["python bench/run.py", *(sys.argv[1:] if argv is None else argv)])

    by_bench: dict[str, list[Any]] = {}
    failed: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        sys.stderr.write(f"bench: {name} (sizes {','.join(map(str, sizes))}) ...\n")
        sys.stderr.flush()
        try:
            by_bench[name] = run_one(name, sizes)
        except Exception as exc:
            failed.append(name)
            sys.stderr.write(f"bench: {name} FAILED: {exc}\n")
            continue
        sys.stderr.write(f"bench: {name} done in {time.perf_counter() - t0:.0f} s\n")
    results = [r for rs in by_bench.values() for r in rs]
    print(format_table(results))
    missed = [r for r in results if r.ok is False]
    sys.stderr.write(
        f"bench: {len(results)} results in {time.perf_counter() - started:.0f} s; "
        f"{len(missed)} missed their target" + (f"; failed: {', '.join(failed)}" if failed else "") + "\n"
    )
    if args.write_docs and by_bench:
        sys.stderr.write(f"bench: wrote {write_docs(by_bench, command)}\n")
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
