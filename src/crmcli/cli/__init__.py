"""The ``crm`` command: global options, then one module per command group.

Command modules import only typer at module level; services, sqlmodel and the
spreadsheet libraries are imported inside the commands that use them.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Annotated

import typer

from crmcli import __version__
from crmcli.cli._common import State

app = typer.Typer(
    name="crm",
    help="A customer-relationship manager for the terminal: customers, follow-ups and pipeline in one SQLite file.",
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMAND_MODULES = ("customers", "activity", "imports", "exporting", "reports", "safety")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crm {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="SQLite database file [env CRM_DB].", show_default=False, metavar="FILE")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Acting user: owner of new records, --mine [env CRM_USER].", metavar="NAME")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Display language zh|en [env CRM_LANG].", metavar="LANG")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """crm: customers, follow-ups and pipeline in one local SQLite file.

    Examples:

      crm add "ABC科技有限公司" --phone 13812345678 --contact 张伟 --level key

      crm follow ABC --content "电话沟通, 客户要报价" --next-date +3d

      crm list --due

      crm import 客户信息总表.xlsx
    """
    ctx.obj = State(db=db, user=user, lang=lang)


for _name in COMMAND_MODULES:
    importlib.import_module(f"crmcli.cli.{_name}").register(app)


def main() -> None:
    """Run ``crm`` (the console script and ``python -m crmcli``)."""
    # A short-lived process whose imports (sqlalchemy, pydantic, rich) create a few hundred
    # thousand objects that all stay alive: with the default thresholds the collector walks
    # them again and again for nothing. Collect every 200k net new objects instead (mypy's
    # setting); a long import still collects regularly.
    gc.set_threshold(200_000, 30, 30)
    try:
        app()
    except BrokenPipeError:
        # `crm list | head`: the reader left; that is not an error. Point stdout at devnull so
        # the interpreter's final flush does not complain again (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    finally:
        _release()


def _release() -> None:
    """Close the databases, then keep the interpreter's exit from collecting every module.

    At exit CPython clears each module and runs the cyclic collector over everything that was
    imported: ~80 ms of a ~450 ms ``crm list``, to free memory the OS takes back anyway.
    ``gc.freeze()`` puts every live object out of the collector's reach. The databases are
    closed first (SQLite checkpoints its WAL on the last close); atexit handlers, stream
    flushing and reference-count cleanup still run as usual.
    """
    db = sys.modules.get("crmcli.db")
    if db is not None:
        try:
            db.dispose_all()
        except Exception:  # noqa: S110 - the command is over and committed; keep its exit status
            pass
    gc.freeze()
