"""`crm --help` and `crm --version` stay light: no database or spreadsheet stack is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlmodel", "sqlalchemy", "openpyxl", "python_calamine", "phonenumbers", "alembic", "dateutil.parser")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["add", "--help"], ["list", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    code = (
        "import sys, json\n"
        "from crmcli.cli import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == []


def test_every_command_has_help_and_is_in_readme() -> None:
    from pathlib import Path

    import typer.main

    from crmcli.cli import app

    group = typer.main.get_command(app)
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        assert cmd.help, f"crm {name} has no help"
        assert f"crm {name}" in readme, f"README does not mention crm {name}"


def test_python_dash_m_works() -> None:
    out = subprocess.run([sys.executable, "-m", "crmcli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("crm ")
