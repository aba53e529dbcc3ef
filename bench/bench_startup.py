"""Startup benchmark: how much the `crm` command adds to the bare import of its own stack.

Each row runs the installed command as a user does and its floor alternately, many times,
and keeps the best of each (these take 50-400 ms, so one run says little on a busy machine):

* ``crm --help`` and ``crm --version`` against ``python -c "import typer"``: at most 1.5x, and
  none of sqlmodel / sqlalchemy / openpyxl / python_calamine / phonenumbers / alembic /
  dateutil.parser imported (checked with ``python -X importtime``; the note says what loaded);
* ``crm list`` on an empty database against ``python -c "import typer, rich, sqlmodel"``:
  at most 1.2x;
* ``crm add --help`` against ``import typer``, for information (no target; see the note).

crmcli's own modules are byte-compiled first, as ``pip install`` does for a regular install
(an editable install in an environment with PYTHONDONTWRITEBYTECODE would otherwise compile
them from source on every run).

    python bench/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import compileall
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, Result, best_pair, crm_cmd, python_cmd  # noqa: E402

REPEAT = 15
HEAVY = ("sqlmodel", "sqlalchemy", "openpyxl", "python_calamine", "phonenumbers", "alembic", "dateutil.parser")
FLOOR_TYPER = "import typer"
FLOOR_STACK = "import typer, rich, sqlmodel"


def compile_sources() -> None:
    compileall.compile_dir(str(ROOT / "src" / "crmcli"), quiet=1)


def heavy_imports(*args: str) -> list[str]:
    """The HEAVY modules that ``crm ARGS`` imports (from ``python -X importtime``)."""
    code = "import sys\nfrom crmcli.cli import main\nsys.argv = ['crm', *sys.argv[1:]]\nmain()\n"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True, check=False
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return [m for m in HEAVY if m in loaded]


def _import_note(args: list[str]) -> str:
    heavy = heavy_imports(*args)
    return "imports none of the heavy libraries" if not heavy else "HEAVY IMPORTS: " + ", ".join(heavy)


def run(sizes: list[int] | None = None, repeat: int = REPEAT) -> list[Result]:
    """Sizes do not apply: startup is measured on an empty database."""
    compile_sources()
    results: list[Result] = []
    typer_floor = python_cmd(FLOOR_TYPER)
    for args in (["--help"], ["--version"]):
        ours, floor, peak = best_pair(crm_cmd(*args), typer_floor, repeat)
        results.append(
            Result(
                operation=f"crm {' '.join(args)}",
                size="-",
                ours=ours,
                floor=floor,
                peak_mb=peak,
                target=1.5,
                note=f"floor: python -c {FLOOR_TYPER!r}; {_import_note(args)}",
            )
        )
    with tempfile.TemporaryDirectory(prefix="crm-bench-startup-") as tmp:
        db = Path(tmp) / "empty.db"
        subprocess.run(crm_cmd("--db", str(db), "init"), capture_output=True, check=True)  # create + migrate once
        ours, floor, peak = best_pair(crm_cmd("--db", str(db), "list"), python_cmd(FLOOR_STACK), repeat)
        results.append(
            Result(
                operation="crm list",
                size="empty db",
                ours=ours,
                floor=floor,
                peak_mb=peak,
                target=1.2,
                note=f"floor: python -c {FLOOR_STACK!r}",
            )
        )
        # The same command without main()'s garbage-collector settings, for information: how
        # much of the margin they make (see docs/benchmarks.md, "Startup").
        plain_gc = python_cmd("import sys\nfrom crmcli.cli import app\napp(sys.argv[1:], prog_name='crm')")
        ours, floor, peak = best_pair([*plain_gc, "--db", str(db), "list"], python_cmd(FLOOR_STACK), repeat)
        results.append(
            Result(
                operation="crm list, default gc",
                size="empty db",
                ours=ours,
                floor=floor,
                peak_mb=peak,
                note="no target; app() called directly, without main()'s gc threshold and exit-time gc.freeze()",
            )
        )
    ours, floor, peak = best_pair(crm_cmd("add", "--help"), typer_floor, repeat)
    results.append(
        Result(
            operation="crm add --help",
            size="-",
            ours=ours,
            floor=floor,
            peak_mb=peak,
            note="no target; typer 0.29 converts the global options' values with pydantic, which it imports",
        )
    )
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, default=REPEAT, help=f"runs of each command, best kept (default {REPEAT})")
    args = ap.parse_args(argv)
    from bench.run import format_table

    results = run(None, args.repeat)
    print(format_table(results))
    return 0 if all(r.ok is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
