"""The benchmark harness still runs: `python bench/run.py --quick` (200 customers, one pair per row).

No timing is asserted (the figures of a smoke run mean nothing); only that every benchmark ran
and printed its rows: a harness that breaks silently (as bench_queries once did, calling a
function that had been removed) is caught here, not on the day someone needs the figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

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
        for kind in ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts", "pipeline")
    ),
    "crm list --where sales_zone=华东 --format json",
    "crm import FILE.xlsx",
    "crm import FILE.csv",
    "crm import FILE.csv vs pandas",
    "crm export FILE.xlsx",
    "crm export FILE.csv",
    "crm export + import (xlsx)",
    "database file size",
    "dupes recall",
    "dupes precision",
    "merge (1,000 follow-ups)",
    "report service",
    "crm add (change log on/off)",
    "crm follow (change log on/off)",
    "crm stage (change log on/off)",
    "import xlsx (change log on/off)",
    "crm history --format json",
    "crm history CODE --format json",
)
# bench_team (spec §16) runs on a throwaway PostgreSQL of its own: where the binaries are missing it
# says why and gives no rows, and its rows are not expected.
TEAM_OPERATIONS = (
    "crm db copy",
    "crm list --due (rep vs admin)",
    "crm list --due (admin: PostgreSQL vs SQLite)",
    "crm report funnel (rep vs admin)",
    "crm report funnel (admin: PostgreSQL vs SQLite)",
    "crm import FILE.csv (PostgreSQL)",
)
SHARES = ("dupes recall", "dupes precision")  # a share of planted pairs, not a ratio to a floor
IN_PROCESS = ("merge (1,000 follow-ups)", "report service")  # a service call timed in-process: no peak of its own
COLUMNS = (
    "operation", "size", "ours cpu", "floor cpu", "ratio", "ours wall", "floor wall", "wall ratio",
    "target", "ok", "growth", "peak MB ours/floor", "notes",
)  # fmt: skip


def _cut(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """Split a table line at the display columns of the dashes under the header (a wide
    character -- the 华东 of one operation -- takes two columns, as the harness counts them)."""
    cols: list[str] = []  # the character at each display column (wide ones fill two)
    for ch in line:
        cols.extend([ch, ""] if unicodedata.east_asian_width(ch) in "WF" else [ch])
    return ["".join(cols[a:b]).strip() for a, b in spans]


def table(stdout: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = stdout.splitlines()
    spans, at = [], 0
    for dashes in lines[1].split("  "):
        spans.append((at, at + len(dashes)))
        at += len(dashes) + 2
    spans[-1] = (spans[-1][0], 10_000)  # the notes run to the end of the line
    header = _cut(lines[0], spans)
    return header, [dict(zip(header, _cut(line, spans), strict=True)) for line in lines[2:] if line.strip()]


def test_quick_run_prints_every_operation_with_its_ratios(tmp_path: Path) -> None:
    env = {**os.environ, "CRM_BENCH_DATA": str(tmp_path / "data"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CRM_DB", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FAILED" not in proc.stderr and "OUTPUT DIFFERS" not in proc.stdout, proc.stderr[-2000:]
    header, rows = table(proc.stdout)
    assert tuple(header) == COLUMNS, header
    by_op: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_op.setdefault(row["operation"], []).append(row)
    from bench import pg_server

    expected = OPERATIONS + (TEAM_OPERATIONS if pg_server.why_not() is None else ())
    missing = [op for op in expected if op not in by_op]
    assert not missing, f"not in the table: {missing}\n{proc.stdout}\n{proc.stderr[-2000:]}"
    for op in expected:
        for row in by_op[op]:
            assert row["ok"] in ("yes", "NO", "NO (cpu)", "NO (wall)", "n/a"), row
            if "pandas not installed" in row["notes"]:
                continue  # pandas is not a dependency: the row says so and has no floor
            if op in SHARES:
                assert 0 <= float(row["ours cpu"]) <= 1 and row["target"] == "≥ 0.95", row
                continue
            # Every comparison has a positive ratio; every timed one a wall ratio and both peaks.
            assert float(row["ratio"]) > 0, row
            if op in IN_PROCESS:
                assert float(row["wall ratio"]) > 0, row
            elif op != "database file size":
                assert float(row["wall ratio"]) > 0, row
                ours, floor = (float(x.replace(",", "")) for x in row["peak MB ours/floor"].split("/"))
                assert ours > 0 and floor > 0, row
    # The floors that claim our bytes wrote them (checked by the harness on each such row).
    same = [op for op in OPERATIONS if op.startswith(("crm list --format", "crm report", "crm show"))]
    same += [op for op in expected if op.endswith("(admin: PostgreSQL vs SQLite)")]  # the same bytes on both databases
    for op in same:
        assert all("same " in row["notes"] and "bytes out" in row["notes"] for row in by_op[op]), by_op[op]


def test_team_benchmark_without_postgresql_says_why_and_gives_no_rows(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from bench import bench_team, pg_server

    monkeypatch.setattr(pg_server, "why_not", lambda: "PostgreSQL binaries (initdb, pg_ctl) not found")
    assert bench_team.run([200]) == []
    assert "bench_team: skipped: PostgreSQL binaries" in capsys.readouterr().err
