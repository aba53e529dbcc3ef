"""Run every benchmark against its floor, in one run, and print one table.

Each ``bench/bench_*.py`` module exposes ``run(sizes: list[int]) -> list[Result]`` (see
``bench/common.py``); this script finds them, runs each in a fresh subprocess and prints one
table: operation, size, the median CPU time (user + sys) of ours and of the floor and their
ratio, the same for wall time, the target ratio and whether it is met, the growth against the
smallest size, and the peak RSS of both sides. ``--write-docs`` puts the tables, what each
floor is, the machine, the date and the command into docs/benchmarks.md.

    python bench/run.py                          # every benchmark at 100k customers
    python bench/run.py --sizes 10k,100k         # other sizes; --full is 10k,100k,1m
    python bench/run.py --only queries,import    # some of them (--only hostile: the opt-in one)
    python bench/run.py --sizes 10k,100k --write-docs
    python bench/run.py --quick                  # smoke run: 200 customers, 1 pair, no targets

Sizes are numbers of customers (10 follow-ups each in the databases, rows in the import
files); each benchmark says how it uses them. The exit status is 1 when a target is missed or
a benchmark fails (``--quick`` checks no target: only that everything ran). Data is generated
on first use into bench/data/ (ignored by git; ``CRM_BENCH_DATA`` points elsewhere) and reused.
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
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import Result  # noqa: E402

BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
DEFAULT_SIZES = [100_000]  # the size the issue states most targets at
FULL_SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [200]
# Benchmarks run (and are listed in the docs) in this order; any other bench_*.py after them.
ORDER = ("startup", "queries", "import", "export", "roundtrip", "scale", "dupes", "history", "team")
# Run only when named in --only: bench_hostile builds files of up to 2 GB and times refusals
# against a 10 s budget (no floor); tests/test_preflight.py is its test.
OPT_IN = ("hostile",)
COLUMNS = (
    "operation", "size", "ours cpu", "floor cpu", "ratio", "ours wall", "floor wall", "wall ratio",
    "target", "ok", "growth", "peak MB ours/floor", "notes",
)  # fmt: skip
RIGHT = {2, 3, 4, 5, 6, 7, 10, 11}
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


def standalone(
    run: Any, doc: str | None, argv: list[str] | None, *, sizes: list[int] | None = None, repeat: int | None = None,
    what: str = "customers",
) -> int:  # fmt: skip
    """A benchmark module run on its own (``python bench/bench_X.py``): its --sizes (when it has
    ``sizes``) and --repeat (when it has a default ``repeat``), its table, exit 1 on a missed target."""
    from bench import common

    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    if sizes is not None:
        ap.add_argument("--sizes", type=parse_sizes, default=sizes, help=f"{what}, e.g. 10k,100k")
    if repeat is not None:
        ap.add_argument("--repeat", type=int, help=f"timed pairs per row (default {repeat})")
    args = ap.parse_args(argv)
    if repeat is not None:
        common.REPEAT = args.repeat
    results = run(args.sizes if sizes is not None else None)
    print(format_table(results))
    return 0 if all(r.ok is not False for r in results) else 1


# --------------------------------------------------------------------------- formatting


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "s":
        if value < 1:
            return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "MB":
        return f"{value:,.1f} MB"
    if unit == "share":
        return f"{value:.3f}"
    return f"{value:g} {unit}"


def growth(results: Sequence[Any]) -> dict[int, float]:
    """For each row (by index) with a size ``n``: ours / ours at the smallest size of that operation."""
    base: dict[str, Any] = {}
    for r in results:
        n = getattr(r, "n", None)
        if n and (r.operation not in base or n < base[r.operation].n):
            base[r.operation] = r
    out = {}
    for i, r in enumerate(results):
        b = base.get(r.operation)
        if b is not None and b is not r and getattr(r, "n", None) and b.ours > 0:
            out[i] = r.ours / b.ours
    return out


def _ok(r: Any, markdown: bool) -> str:
    ok = r.ok
    if ok is None:
        return "n/a"
    if ok:
        return "✓" if markdown else "yes"
    if getattr(r, "basis", "cpu+wall") != "cpu+wall":
        return "✗" if markdown else "NO"
    wall = getattr(r, "wall_ratio", None)
    cpu_met = r.ours / r.floor <= r.target if r.floor > 0 else False
    why = " (wall)" if cpu_met else " (cpu)" if wall is not None and wall <= r.target else ""
    return ("✗" if markdown else "NO") + why


def cells(r: Any, grown: float | None = None, markdown: bool = False) -> list[str]:
    """One result as table cells (duck-typed: a Result from any copy of bench.common)."""
    unit = getattr(r, "unit", "s")
    ratio = f"{r.ours / r.floor:.2f}" if r.floor > 0 else ""
    ours_wall, floor_wall = getattr(r, "ours_wall", None), getattr(r, "floor_wall", None)
    wall_ratio = ours_wall / floor_wall if ours_wall is not None and floor_wall else None
    peak, floor_peak = r.peak_mb, getattr(r, "floor_peak_mb", None)
    peaks = "" if peak is None else f"{peak:,.0f}" + ("" if floor_peak is None else f" / {floor_peak:,.0f}")
    return [
        str(r.operation),
        str(r.size),
        fmt_value(r.ours, unit) if r.ours or r.floor else "",
        fmt_value(r.floor, unit) if r.floor else "",
        ratio,
        fmt_value(ours_wall, "s"),
        fmt_value(floor_wall, "s"),
        "" if wall_ratio is None else f"{wall_ratio:.2f}",
        "none" if r.target is None else f"{'≥' if getattr(r, 'basis', '') == 'at-least' else '≤'} {r.target:g}",
        _ok(r, markdown),
        "" if grown is None else f"×{grown:.1f}",
        peaks,
        str(r.note or ""),
    ]


def _width(text: str) -> int:
    """Terminal columns: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(results: Sequence[Any]) -> str:
    """A plain-text table for the terminal."""
    grown = growth(results)
    rows = [list(COLUMNS), *(cells(r, grown.get(i)) for i, r in enumerate(results))]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for k, row in enumerate(rows):
        parts = []
        for i, (c, w) in enumerate(zip(row, widths, strict=True)):
            pad = " " * (w - _width(c))
            parts.append(pad + c if i in RIGHT else c + pad)
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[Any]) -> str:
    grown = growth(results)
    align = "|" + "|".join("---:" if i in RIGHT else "---" for i in range(len(COLUMNS))) + "|"
    lines = ["| " + " | ".join(COLUMNS) + " |", align]
    for i, r in enumerate(results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(r, grown.get(i), markdown=True)) + " |")
    return "\n".join(lines)


def floors_list(results: Sequence[Any]) -> str:
    """What each operation's floor is, once per operation."""
    seen: dict[str, str] = {}
    for r in results:
        desc = getattr(r, "floor_desc", "")
        if desc and r.operation not in seen:
            seen[r.operation] = desc
    return "\n".join(f"- `{op}`: {desc}" for op, desc in seen.items())


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
    blocks = {k: v for k, v in _blocks(old_region).items() if k in available()}  # a removed benchmark goes
    short = f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} CPUs, Python {platform.python_version()}"
    for name, results in by_bench.items():
        blocks[name] = (
            f"#### {name}\n\n`{command}` · {when} · {short}\n\n{markdown_table(results)}\n"
            + (f"\nFloors:\n\n{floors_list(results)}\n" if floors_list(results) else "")
        )
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


def _worker(name: str, sizes: list[int], out: Path, repeat: int | None, quick: bool) -> int:
    """Run one benchmark module in this (fresh) process and write its results to ``out`` as JSON."""
    from bench import common

    common.REPEAT, common.QUICK = repeat, quick
    module = importlib.import_module(f"bench.bench_{name}")
    results = list(module.run(list(sizes)))
    rows = [{f.name: getattr(r, f.name) for f in dataclasses.fields(Result) if hasattr(r, f.name)} for r in results]
    out.write_text(json.dumps(rows), encoding="utf-8")
    return 0


def run_one(name: str, sizes: list[int], repeat: int | None = None, quick: bool = False) -> list[Result]:
    """Run ``bench/bench_<name>.py`` in a subprocess of its own.

    Each benchmark starts from a small, clean process: what one loads in memory (a workbook,
    a query's rows) neither slows the next one down nor shows up in its peak-memory figures,
    and a crash is that benchmark's alone.
    """
    with tempfile.TemporaryDirectory(prefix="crm-bench-run-") as tmp:
        out = Path(tmp) / "results.json"
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--sizes", ",".join(map(str, sizes))]
        argv += (["--repeat", str(repeat)] if repeat is not None else []) + (["--quick"] if quick else [])
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
    ap.add_argument("--only", help=f"comma-separated benchmarks to run (default: all but {', '.join(OPT_IN)})")
    ap.add_argument("--sizes", type=parse_sizes, help="comma-separated sizes, e.g. 10k,100k (default 100k)")
    ap.add_argument("--full", action="store_true", help="sizes 10k,100k,1m (the 1M-customer runs take a while)")
    ap.add_argument("--repeat", type=int, help="timed pairs per row (default: each benchmark's own, 3 to 5)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 customers, 1 pair, no target checked")
    ap.add_argument("--write-docs", action="store_true", help="write the results into docs/benchmarks.md")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.sizes or DEFAULT_SIZES, args.worker_out, args.repeat, args.quick)
    if args.list:
        print("\n".join(f"{n} (only with --only {n})" if n in OPT_IN else n for n in names))
        return 0
    if args.quick and args.write_docs:
        ap.error("--quick figures are not benchmarks: no --write-docs with --quick")
    chosen = [n for n in names if n not in OPT_IN]
    if args.only:
        chosen = [n.strip().removeprefix("bench_") for n in args.only.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES if args.full else DEFAULT_SIZES)
    command = " ".join(["python bench/run.py", *(sys.argv[1:] if argv is None else argv)])

    by_bench: dict[str, list[Any]] = {}
    failed: list[str] = []
    started = time.perf_counter()

    def one(name: str) -> list[Result] | None:
        t0 = time.perf_counter()
        sys.stderr.write(f"bench: {name} (sizes {','.join(map(str, sizes))}) ...\n")
        sys.stderr.flush()
        try:
            done = run_one(name, sizes, args.repeat, args.quick)
        except Exception as exc:
            sys.stderr.write(f"bench: {name} FAILED: {exc}\n")
            return None
        sys.stderr.write(f"bench: {name} done in {time.perf_counter() - t0:.0f} s\n")
        return done

    # A real run measures one benchmark at a time; a smoke run (no figure is kept) two side by side.
    with ThreadPoolExecutor(max_workers=2 if args.quick else 1) as pool:
        for name, done in zip(chosen, pool.map(one, chosen), strict=True):
            if done is None:
                failed.append(name)
            else:
                by_bench[name] = done
    results = [r for rs in by_bench.values() for r in rs]
    print(format_table(results))
    missed = [r for r in results if r.ok is False]
    sys.stderr.write(
        f"bench: {len(results)} results in {time.perf_counter() - started:.0f} s; "
        + ("targets not checked (--quick)" if args.quick else f"{len(missed)} missed their target")
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + "\n"
    )
    if args.write_docs and by_bench:
        sys.stderr.write(f"bench: wrote {write_docs(by_bench, command)}\n")
    if failed:
        return 1
    return 0 if args.quick or not missed else 1


if __name__ == "__main__":
    sys.exit(main())
