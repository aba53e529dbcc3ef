"""Startup stays light: `crm --help`, `crm --version` and every `crm CMD --help` load no heavy library.

A command module is imported when one of its commands runs (``cli/lazy.py``), so anything it
imports at module level is paid by each of its commands and by their help. These tests run in
subprocesses (a clean ``sys.modules``) and name the module or command that loaded what.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Libraries no help text needs (the list): each costs tens of milliseconds to import.
HEAVY = ("sqlmodel", "sqlalchemy", "openpyxl", "python_calamine", "phonenumbers", "alembic", "dateutil.parser")
# Also kept off the help path: typer formats help without rich when rich_markup_mode=None.
HELP_EXTRA = ("rich.console", "sqlite3")
# `crm --help` / `--version` do not even convert an option value, so typer never loads pydantic
# (it does for `crm CMD --help`: the global options' values go through pydantic TypeAdapters).
TOP_EXTRA = ("pydantic",)

_PROBE = r"""
import importlib, json, sys
watch = {watch!r}
def loaded():
    return sorted(m for m in watch if m in sys.modules)
report = {{}}
import crmcli.cli
from crmcli.cli import COMMAND_MODULES, app
report["import crmcli.cli"] = loaded()
for args in {argv!r}:
    try:
        app(args)
    except SystemExit:
        pass
    report["crm " + " ".join(args)] = loaded()
print(json.dumps(report))
"""


def _probe(argv: list[list[str]], watch: tuple[str, ...]) -> dict[str, list[str]]:
    """Import the app, run each argv in turn; what of ``watch`` was loaded after each step."""
    code = _PROBE.format(watch=watch, argv=argv)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _command_names() -> list[str]:
    import typer.main

    from crmcli.cli import app

    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_command_modules_import_nothing_heavy() -> None:
    """Each command module, imported on its own, loads none of the heavy libraries at module level."""
    import crmcli.cli
    from crmcli.cli import COMMAND_MODULES

    # A bare package object stands in for crmcli.cli, so that importing one command module does
    # not run crmcli/cli/__init__.py (which imports them all) and each module is charged alone.
    code = (
        "import importlib, json, sys, types\n"
        "pkg = types.ModuleType('crmcli.cli')\n"
        f"pkg.__path__ = {list(crmcli.cli.__path__)!r}\n"
        "sys.modules['crmcli.cli'] = pkg\n"
        "found = {}\n"
        "seen = set()\n"
        f"for name in ['_common', *{list(COMMAND_MODULES)!r}]:\n"
        "    importlib.import_module('crmcli.cli.' + name)\n"
        f"    new = [m for m in {HEAVY + HELP_EXTRA!r} if m in sys.modules and m not in seen]\n"
        "    seen.update(new)\n"
        "    found[name] = new\n"
        "print(json.dumps(found))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(found) >= {"_common", *COMMAND_MODULES}
    offenders = {f"crmcli/cli/{name}.py": mods for name, mods in found.items() if mods}
    assert not offenders, f"imported at module level (move the import into the command function): {offenders}"


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["-h"]])
def test_top_level_help_and_version_stay_light(args: list[str]) -> None:
    report = _probe([args], HEAVY + HELP_EXTRA + TOP_EXTRA)
    assert report == {"import crmcli.cli": [], f"crm {' '.join(args)}": []}


def test_every_command_help_imports_nothing_heavy() -> None:
    names = _command_names()
    assert {"add", "list", "show", "follow", "stage"} <= set(names)
    report = _probe([[name, "--help"] for name in names], HEAVY + HELP_EXTRA)
    offenders = {step: mods for step, mods in report.items() if mods}
    # the first step that loaded something is the culprit; later steps only inherit it
    assert not offenders, f"heavy imports on the help path: {offenders}"


def test_list_on_existing_database_loads_only_the_database_stack(tmp_path: Path) -> None:
    """`crm list` reads through the driver: no SQLAlchemy, no models, no alembic (the schema is
    current), no spreadsheet or phone libraries."""
    db = tmp_path / "crm.db"
    env = {**os.environ, "CRM_DB": str(db)}
    subprocess.run([sys.executable, "-m", "crmcli", "init"], env=env, capture_output=True, check=True)
    code = (
        "import json, sys\n"
        "from crmcli.cli import app\n"
        "try:\n"
        "    app(['list'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == []


def test_every_command_has_help_and_is_in_readme() -> None:
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


def test_main_keeps_exit_status_and_closes_the_database(tmp_path: Path) -> None:
    """main() releases the database before exit (no -wal file left) and keeps each exit code."""
    db = tmp_path / "crm.db"
    env = {**os.environ, "CRM_DB": str(db), "CRM_USER": "alice"}
    crm = [sys.executable, "-m", "crmcli"]
    added = subprocess.run([*crm, "add", "甲公司", "--phone", "13800000001"], env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    assert not Path(f"{db}-wal").exists()
    missing = subprocess.run([*crm, "show", "nobody-like-this"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: no customer matches")
    usage = subprocess.run([*crm, "list", "--format", "yaml"], env=env, capture_output=True, text=True)
    assert usage.returncode == 2
    shown = subprocess.run([*crm, "list", "--format", "json"], env=env, capture_output=True, text=True, check=True)
    assert [c["name"] for c in json.loads(shown.stdout)] == ["甲公司"]


def test_reading_commands_never_import_pydantic_or_sqlalchemy(tmp_path: Path) -> None:
    """Option values are coerced without pydantic (cli/plain_params.py) and reads go through the
    driver (store/reader.py): `crm show`, `crm list --due`, `crm deal list|show` and `crm report
    pipeline` load neither."""
    db = tmp_path / "crm.db"
    env = {**os.environ, "CRM_DB": str(db), "CRM_TODAY": "2026-11-26"}
    subprocess.run([sys.executable, "-m", "crmcli", "add", "甲公司", "--phone", "13800000001"], env=env, capture_output=True, check=True)
    deal = [sys.executable, "-m", "crmcli", "deal", "add", "甲公司", "--name", "x"]
    code = subprocess.run(deal, env=env, capture_output=True, text=True, check=True).stdout.strip()
    for args in (
        ["show", "甲公司", "--format", "json"], ["list", "--due", "--limit", "5"], ["list", "--format", "csv", "--tag", "x"],
        ["deal", "list", "--open"], ["deal", "show", code], ["report", "pipeline", "--format", "json"],
    ):  # fmt: skip
        code = (
            "import json, sys\n"
            "from crmcli.cli import app\n"
            "try:\n"
            f"    app({args!r})\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "print(json.dumps([m for m in ('pydantic', 'sqlalchemy', 'sqlmodel') if m in sys.modules]))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert json.loads(out.stdout.strip().splitlines()[-1]) == [], args


def test_the_command_index_is_what_the_commands_say() -> None:
    """cli/index.py (what `crm --help` lists without importing the commands) is written from the
    commands; after changing a command's name or help: python -m crmcli.cli.lazy"""
    from crmcli.cli import index
    from crmcli.cli.lazy import index_source

    assert Path(index.__file__).read_text(encoding="utf-8") == index_source(), "run: python -m crmcli.cli.lazy"


def test_help_from_the_index_is_the_help_of_the_built_commands() -> None:
    """`crm --help` lists the commands from the index; with every command built, the page is the
    same text, in both languages and at any width."""
    code = (
        "import json, os, sys\n"
        "import typer.main\n"
        "from typer.testing import CliRunner\n"
        "from crmcli.cli import COMMAND_MODULES, app\n"
        "out = {}\n"
        "def page(lang, width):\n"
        "    env = {'CRM_LANG': lang, 'COLUMNS': str(width)}\n"
        "    return CliRunner().invoke(app, ['--help'], env=env, terminal_width=width).output\n"
        "for lang in ('en', 'zh'):\n"
        "    for width in (80, 120):\n"
        "        out[f'{lang} {width} lazy'] = page(lang, width)\n"
        "out['loaded'] = sorted(m for m in COMMAND_MODULES if 'crmcli.cli.' + m in sys.modules)\n"
        "out['renderers'] = sorted(m for m in ('crmcli.render', 'rich.console') if m in sys.modules)\n"
        "group = typer.main.get_command(app)\n"
        "built = dict(group.commands.items())\n"
        "for lang in ('en', 'zh'):\n"
        "    for width in (80, 120):\n"
        "        out[f'{lang} {width} built'] = page(lang, width)\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CRM_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    pages = json.loads(out.stdout.strip().splitlines()[-1])
    assert pages.pop("loaded") == [], "crm --help imported a command module"
    assert pages.pop("renderers") == [], "crm --help (in Chinese too) imported the renderers"
    for lang in ("en", "zh"):
        for width in (80, 120):
            lazy, built = pages[f"{lang} {width} lazy"], pages[f"{lang} {width} built"]
            assert "  show " in lazy and "  deal " in lazy and "  db " in lazy
            assert lazy == built, (lang, width)
    assert "  show       显示客户卡片" in pages["zh 80 lazy"]  # the Chinese lines come from the catalog too


def test_a_command_imports_its_own_module_only(tmp_path: Path) -> None:
    """`crm show` builds `show` alone: no other command module is imported."""
    db = tmp_path / "crm.db"
    env = {**os.environ, "CRM_DB": str(db)}
    subprocess.run([sys.executable, "-m", "crmcli", "add", "甲公司", "--phone", "13800000001"], env=env, capture_output=True, check=True)
    code = (
        "import json, sys\n"
        "from crmcli.cli import COMMAND_MODULES, app\n"
        "try:\n"
        "    app(['show', '甲公司'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps([m for m in COMMAND_MODULES if 'crmcli.cli.' + m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["customer_views"]
