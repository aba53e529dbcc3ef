"""Startup benchmark: what the `crm` command costs where the data is small.

* ``crm --help`` against ``python -c "import typer"`` writing the same text: at most 1.1x (the
  issue's target), and none of sqlmodel / sqlalchemy / openpyxl / python_calamine / phonenumbers /
  alembic / dateutil.parser imported (``python -X importtime``; the note says what loaded);
* ``crm show CODE`` and ``crm list --due`` on a small database (1,000 customers, 10,000
  follow-ups) against ``python -c "import typer"`` plus the SQL they run, the issue's
  "within 2x of import typer plus their SQL". show's floor writes our card verbatim; the due
  list's default table is written by its floor as a plain join of the columns shown;
* ``crm --version`` and ``crm add --help`` against ``import typer`` writing the same text, for
  information (no target).

    python bench/bench_startup.py [--repeat 10]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import floors  # noqa: E402
from bench.bench_queries import DUE_TABLE_KEYS, busiest  # noqa: E402
from bench.common import (  # noqa: E402
    ENV,
    Result,
    compile_sources,
    crm_cmd,
    database,
    interleave,
    python_cmd,
    repeat,
    result,
    size_label,
)

REPEAT = 10
SMALL = 1_000  # customers in the small database (10 follow-ups each)
HELP_TARGET = 1.1  # issue 15: `--help` within 1.1x of `import typer`
SMALL_TARGET = 2.0
HEAVY = ("sqlmodel", "sqlalchemy", "openpyxl", "python_calamine", "phonenumbers", "alembic", "dateutil.parser")


def heavy_imports(*args: str) -> list[str]:
    """The HEAVY modules that ``crm ARGS`` imports (from ``python -X importtime``)."""
    code = "import sys\nfrom crmcli.cli import main\nsys.argv = ['crm', *sys.argv[1:]]\nmain()\n"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True, check=False
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return [m for m in HEAVY if m in loaded]


def _text_of(args: list[str]) -> bytes:
    return subprocess.run(crm_cmd(*args), capture_output=True, check=True, env={**os.environ, **ENV}).stdout


def help_rows(pairs: int) -> list[Result]:
    results = []
    for args, target in ((["--help"], HELP_TARGET), (["--version"], None), (["add", "--help"], None)):
        text = _text_of(args)
        ours, floor = interleave([crm_cmd(*args), python_cmd(floors.help_text(text))], pairs)
        heavy = heavy_imports(*args) if args == ["--help"] else None
        note = "" if heavy is None else ("imports none of the heavy libraries" if not heavy else "HEAVY IMPORTS: " + ", ".join(heavy))
        if args == ["--version"]:
            note = "for information (the issue's 1.1x is for --help)"
        elif target is None:
            note = "for information: a subcommand's help"
        results.append(
            result(
                f"crm {' '.join(args)}", "-", ours, floor, target=target, note=note,
                floor_desc=f"import typer; our {len(text):,} B of text written",
            )
        )  # fmt: skip
    return results


def small_rows(n: int, pairs: int) -> list[Result]:
    db = database(n)
    code, _, follow_ups = busiest(db)
    size = size_label(n, n * 10)
    results = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-startup-") as tmp:
        out = Path(tmp) / "show.txt"
        show_args = ["--db", str(db), "show", code]
        due_args = ["--db", str(db), "list", "--due"]
        show_calls, due_calls = floors.capture([(show_args, out), (due_args, None)])
        data = out.read_bytes()
        ours, floor = interleave([crm_cmd(*show_args), python_cmd(floors.const(db, show_calls, data, typer=True))], pairs)
        results.append(
            result(
                "crm show CODE", size + " (small)", ours, floor, target=SMALL_TARGET,
                note=f"the customer with the most follow-ups ({follow_ups})",
                floor_desc=f"import typer, sqlite3; the same {len(show_calls)} SQL statements, rows fetched; "
                f"our card and timeline ({len(data):,} B) written",
            )
        )  # fmt: skip
        code_ = floors.plain_join(db, due_calls, DUE_TABLE_KEYS, typer=True)
        ours, floor = interleave([crm_cmd(*due_args), python_cmd(code_)], pairs)
        results.append(
            result(
                "crm list --due", size + " (small)", ours, floor, target=SMALL_TARGET, same_bytes=False,
                floor_desc=f"import typer, sqlite3; the same {len(due_calls)} SQL statements; the "
                f"{len(DUE_TABLE_KEYS)} shown columns joined with spaces (a plain join: not our bytes)",
            )
        )  # fmt: skip
    return results


def run(sizes: list[int] | None = None) -> list[Result]:
    """Sizes do not apply, except under --quick (the small database is then the smallest size)."""
    from bench import common

    compile_sources()
    pairs = repeat(REPEAT)
    n = min(sizes or [SMALL]) if common.QUICK else SMALL
    return help_rows(pairs) + small_rows(n, pairs)


def main(argv: list[str] | None = None) -> int:
    from bench.run import standalone

    return standalone(run, __doc__, argv, repeat=REPEAT)


if __name__ == "__main__":
    sys.exit(main())
