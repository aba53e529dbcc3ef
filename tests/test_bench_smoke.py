"""The benchmark harness still runs: `python bench/run.py --quick` (200 customers, one pair per row).

No timing is asserted (the figures of a smoke run mean nothing); only that every benchmark ran
and printed its rows: a harness that breaks silently (as bench_queries once did, calling a
function that had been removed) is caught here, not on the day someone needs the figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OPERATIONS = (
    "crm --help",
    "crm --version",
    "crm add --help",
    "crm show CODE",
    "crm show PART-OF-NAME",
    "crm list --due",
    "crm list --due --format json",
    "crm list --format json",
    "crm list --format csv",
    *(
        f"crm report {kind}"
        for kind in ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts")
    ),
    "crm list --where region=华东 --format json",
    "crm import FILE.xlsx",
    "crm import FILE.csv",
    "crm import FILE.csv vs pandas",
    "crm export FILE.xlsx",
    "crm export FILE.csv",
    "database file size",
)
COLUMNS = ("operation", "size", "ours cpu", "floor cpu", "ratio", "ours wall", "floor wall", "target", "ok", "peak MB")


def test_quick_run_prints_every_operation(tmp_path: Path) -> None:
    env = {**os.environ, "CRM_BENCH_DATA": str(tmp_path / "data"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CRM_DB", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert all(c in lines[0] for c in COLUMNS), lines[:1]
    names = {line.split("  ")[0].strip() for line in lines[2:]}
    missing = [op for op in OPERATIONS if op not in names]
    assert not missing, f"not in the table: {missing}\n{proc.stdout}\n{proc.stderr[-2000:]}"
    assert "FAILED" not in proc.stderr and "OUTPUT DIFFERS" not in proc.stdout, proc.stderr[-2000:]
