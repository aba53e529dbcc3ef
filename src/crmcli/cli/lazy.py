"""Commands built when they run: ``crm show`` imports and builds ``show`` alone.

Typer builds the click command of every registered command on every run (inspecting each
function's signature, ~50 of them), and registering them means importing every command module:
~35 ms of a ~150 ms ``crm show``, and most of what ``crm --help`` costs beyond ``import typer``.
So the group's commands are a ``LazyCommands`` mapping: its keys are every command's name, in
the order of the index (``cli/index.py``); looking one up imports its module and builds that one
command. ``crm --help`` lists the commands from the index's help texts (``listed``), which are
the commands' own, copied by ``python -m crmcli.cli.lazy`` (a test fails when they drift), so
the help page is the same text as when every command was built.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

from crmcli.cli.index import COMMANDS


class LazyCommands(MutableMapping[str, Any]):
    """name -> click command, built on first use; iterating gives every name without building."""

    def __init__(self, built: dict[str, Any] | None = None) -> None:
        self._built: dict[str, Any] = dict(built or {})
        self._stubs: dict[str, Any] = {}
        self._extra: list[str] = [n for n in self._built if n not in COMMANDS]  # add_command()

    def __getitem__(self, name: str) -> Any:
        command = self._built.get(name)
        if command is None:
            if name not in COMMANDS:
                raise KeyError(name)
            command = self._built[name] = build(name)
        return command

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in COMMANDS and name not in self._built:
            self._extra.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("crm's commands cannot be removed")

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from self._extra

    def __len__(self) -> int:
        return len(COMMANDS) + len(self._extra)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._built

    def listed(self, name: str) -> Any:
        """What ``crm --help`` lists for ``name``: the command if it is built, else a stand-in
        carrying its help text (a command without parameters or callback)."""
        command = self._built.get(name)
        if command is not None:
            return command
        stub = self._stubs.get(name)
        if stub is None:
            from typer.core import TyperCommand

            stub = self._stubs[name] = TyperCommand(name, help=COMMANDS[name][1], rich_markup_mode=None)
        return stub


def build(name: str) -> Any:
    """The click command ``name``: its module imported (which registers it on the app), then
    built by typer as it builds every command, and nothing else."""
    import typer.main

    from crmcli.cli.app import app

    importlib.import_module(f"crmcli.cli.{COMMANDS[name][0]}")
    for info in app.registered_commands:
        if (info.name or typer.main.get_command_name(info.callback.__name__)) == name:  # type: ignore[union-attr]
            return typer.main.get_command_from_info(
                info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode
            )
    for group in app.registered_groups:
        if group.name == name:
            return typer.main.get_group_from_info(
                group,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
                suggest_commands=app.suggest_commands,
            )
    raise LookupError(f"crmcli.cli.{COMMANDS[name][0]} registers no command {name!r} (python -m crmcli.cli.lazy)")


def index_source() -> str:
    """The text of ``cli/index.py``, from the commands themselves (every command module imported)."""
    import typer.main

    from crmcli.cli import COMMAND_MODULES
    from crmcli.cli.app import app

    for module in COMMAND_MODULES:
        importlib.import_module(f"crmcli.cli.{module}")
    group = typer.main.get_group_from_info(
        typer.models.TyperInfo(app),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )
    # typer's order: the commands, then the groups, each in the order their modules are listed
    # (a test process may have imported them in another order)
    def rank(callback: Any) -> int:
        return COMMAND_MODULES.index(callback.__module__.rsplit(".", 1)[-1])

    commands = [(i.name or typer.main.get_command_name(i.callback.__name__), i.callback) for i in app.registered_commands]  # type: ignore[union-attr]
    groups = [(g.name, g.typer_instance.registered_commands[0].callback) for g in app.registered_groups]  # type: ignore[union-attr]
    infos: list[tuple[Any, Any]] = sorted(commands, key=lambda c: rank(c[1])) + sorted(groups, key=lambda g: rank(g[1]))
    lines = [
        '"""Every command: its module and its help, so ``crm --help`` lists them without importing them.',
        "",
        "Generated from the commands themselves by ``python -m crmcli.cli.lazy`` (cli/lazy.py); do not edit.",
        "tests/test_startup.py fails when it differs from what the commands say.",
        '"""',
        "",
        "# name -> (module under crmcli.cli, help), in the order typer registers them",
        "COMMANDS: dict[str, tuple[str, str]] = {",
    ]
    for name, callback in infos:
        module = callback.__module__.rsplit(".", 1)[-1]
        lines.append(f"    {name!r}: ({module!r}, {group.commands[name].help!r}),")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("index.py")
    target.write_text(index_source(), encoding="utf-8")
    print(f"wrote {target}")
