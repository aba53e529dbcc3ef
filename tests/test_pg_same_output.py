"""Spec §16: every command gives the same output on PostgreSQL as on a SQLite file.

One history (the example workbooks, then a few edits) is built on both databases through the CLI;
then every reading command is run on both and their stdout compared byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Crm

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

BUILD = [
    ("import", str(EXAMPLES / "customers.xlsx")),
    ("import", str(EXAMPLES / "opportunities.xlsx")),
    ("add", "云帆科技有限公司", "--phone", "13857112345", "--level", "重点", "--tag", "华东", "--tag", "高预算", "--amount", "12万"),
    ("add", "杭州云帆科技", "--phone", "13857112345", "--email", "a@yunfan.example.com"),
    ("follow", "云帆科技有限公司", "--content", "电话沟通", "--date", "2026-11-20", "--next-date", "2026-11-25"),
    ("stage", "云帆科技有限公司", "won", "--amount", "80000.5", "--date", "2026-11-21"),
    ("ticket", "add", "云帆科技有限公司", "--type", "产品质量", "--content", "坏了", "--date", "2026-11-22"),
    ("ticket", "add", "云帆科技有限公司", "--type", "物流延迟", "--content", "慢", "--date", "2026-11-23"),
    ("field", "add", "budget", "--label", "年度预算", "--type", "money"),
    ("edit", "云帆科技有限公司", "--set", "budget=12.5万"),
]

READS = [
    ("list",),
    ("list", "--format", "json"),
    ("list", "--format", "csv"),
    ("list", "--due"),
    ("list", "--search", "科技", "--format", "tsv"),
    ("list", "--where", "budget=125000", "--format", "json"),
    ("show", "云帆科技有限公司", "--format", "json"),
    ("dupes", "--format", "json"),
    ("export", "-", "--format", "json"),
    ("export", "-", "--format", "csv"),
    *(
        ("report", kind, "--format", "json")
        for kind in ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts", "pipeline",
                     "products", "service")
    ),  # fmt: skip
    *(("report", kind) for kind in ("funnel", "abc", "alerts", "pipeline")),  # the tables: the same shaping of those rows
    ("report", "abc", "--since", "2026-01-01", "--format", "csv"),
    ("report", "service", "--by", "month", "--format", "json"),
]


def _outputs(crm: Crm) -> dict[tuple[str, ...], tuple[int, str]]:
    for args in BUILD:
        result = crm(*args)
        assert result.exit_code == 0, (args, result.stderr)
    out = {}
    for args in READS:
        result = crm(*args)
        out[args] = (result.exit_code, result.stdout)
    return out


def test_every_read_is_the_same_on_both_databases(crm: Crm, request: pytest.FixtureRequest, crm_env: Path) -> None:
    sqlite = _outputs(crm)
    assert os.environ["CRM_DB"] == str(crm_env)
    url: Any = request.getfixturevalue("pg_url")
    assert os.environ["CRM_DB"] == url
    pg = _outputs(crm)
    for args in READS:
        assert sqlite[args][0] == 0, args
        assert pg[args] == sqlite[args], f"crm {' '.join(args)} differs on PostgreSQL"
