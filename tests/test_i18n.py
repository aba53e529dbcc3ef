"""Every word in the user's language: the help of every command and option, and every message
marked for translation, has a Chinese translation in the package's compiled catalog; `--help` is
Chinese with `--lang zh` / CRM_LANG=zh; each command's help speaks of that command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Crm

SRC = Path(__file__).parents[1] / "src" / "crmcli"
CJK = re.compile(r"[\u4e00-\u9fff]")


def catalog() -> dict[str, str]:
    from crmcli.i18n import translator

    t = translator("zh")
    assert t.__class__.__name__ == "GNUTranslations", "no compiled catalog: pybabel compile (README, Translations)"
    return dict(t._catalog)  # type: ignore[attr-defined]


def commands() -> list[tuple[str, Any]]:
    import typer.main

    from crmcli.cli import app

    found = []

    def walk(cmd: Any, path: str) -> None:
        found.append((path, cmd))
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "crm")
    return found


def help_texts() -> set[str]:
    texts = set()
    for _path, cmd in commands():
        texts |= {t for t in (cmd.help, *(getattr(p, "help", None) for p in cmd.params)) if t}
    return texts


def source_messages() -> set[str | tuple[str, ...]]:
    """What Babel extracts (babel.cfg's extractor) from every module of the package."""
    from crmcli.i18n_extract import extract

    found: set[str | tuple[str, ...]] = set()
    for path in [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]:
        with path.open("rb") as fh:
            for _line, _func, message, _comments in extract(fh, None, None, None):
                found.add(message)  # a plural message: (singular, plural)
    return found


def test_every_help_text_has_a_chinese_translation() -> None:
    zh = catalog()
    missing = sorted(t for t in help_texts() if not zh.get(t))
    assert not missing, f"{len(missing)} help texts have no zh translation (pybabel extract/update, README): {missing[:5]}"


def test_every_marked_message_has_a_chinese_translation() -> None:
    zh = catalog()
    messages = source_messages()
    assert "writing" in messages and "Usage: " in messages  # the extractor sees _() and N_()
    missing = sorted(str(m) for m in messages if not (zh.get((m[0], 0)) if isinstance(m, tuple) else zh.get(m)))
    assert not missing, f"{len(missing)} messages have no zh translation: {missing[:5]}"


def test_translations_keep_their_placeholders() -> None:
    for msgid, msgstr in catalog().items():
        if isinstance(msgid, str) and msgid:
            assert set(re.findall(r"\{\w*\}", msgid)) == set(re.findall(r"\{\w*\}", msgstr)), msgid


@pytest.mark.parametrize("how", ["flag", "env"])
def test_help_is_chinese(crm: Crm, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    zh = catalog()
    for path, cmd in commands():
        args = path.split()[1:] + ["--help"]
        if how == "flag":
            args = ["--lang", "zh", *args]
        else:
            monkeypatch.setenv("CRM_LANG", "zh")
        out = crm.ok(*args)
        assert out.startswith("用法: crm"), (path, out[:80])
        first = zh[cmd.help].split("\n")[0] if cmd.help else ""
        assert first and first[:20] in out.replace("\n  ", " "), (path, first, out[:300])
        assert "Show this message and exit" not in out and "显示此帮助并退出" in out
        assert "[required]" not in out and "default: " not in out, (path, out)  # typer's own words too
    monkeypatch.setenv("CRM_LANG", "en")
    assert "Show this message and exit" in crm.ok("list", "--help")
    assert "[required]" in crm.ok("deal", "stage", "--help").replace("\n", " ").replace("  ", " ")


def test_each_command_help_speaks_of_that_command(crm: Crm) -> None:
    edit = crm.ok("edit", "--help")
    assert "for add" not in edit and "required" not in edit.replace("[required]", "")
    assert "Replace all tags" in edit and "New phone number" in edit
    add = crm.ok("add", "--help")
    assert "on edit" not in add and "KEY= clears" not in add
