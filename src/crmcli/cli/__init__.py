"""The ``crm`` command: the app (``cli.app``), then one module per command group.

A command module is imported when one of its commands runs (``cli/lazy.py``), and imports only
typer at module level; services, sqlmodel and the spreadsheet libraries are imported inside the
commands that use them.
"""

from __future__ import annotations

import gc
import os
import sys

from crmcli.cli.app import app

# The modules that add commands to the app, in the order they register them: cli/index.py is
# written from them (python -m crmcli.cli.lazy).
COMMAND_MODULES = ("customers", "customer_views", "activity", "deals", "imports", "exporting", "reports", "safety", "fields", "history", "tickets", "dupes", "calendar", "team")


def main() -> None:
    """Run ``crm`` (the console script and ``python -m crmcli``)."""
    # A short-lived process whose imports (sqlalchemy, pydantic, rich) create a few hundred
    # thousand objects that all stay alive: with the default thresholds the collector walks
    # them again and again for nothing. Collect every 200k net new objects instead (mypy's
    # setting); a long import still collects regularly.
    gc.set_threshold(200_000, 30, 30)
    try:
        app()
    except BrokenPipeError:  # at the final flush, after the command's own boundary
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
    store = sys.modules.get("crmcli.store")
    if store is not None:
        try:
            store.dispose_all()
        except Exception:  # noqa: S110 - the command is over and committed; keep its exit status
            pass
    gc.freeze()
