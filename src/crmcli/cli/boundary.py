"""The run's state (settings, store, acting user) and the one error boundary (spec §10): what the
app needs on every run, ``crm --help`` included; the options commands share are in ``_common``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer
from typer._click import exceptions as click_exceptions

from crmcli.errors import CrmError, DiskFull
from crmcli.i18n import N_, Text

if TYPE_CHECKING:
    import datetime as dt

    from crmcli.settings import Settings
    from crmcli.store import SqliteStore
    from crmcli.store.pg_store import PostgresStore


@dataclass
class State:
    db: str | None = None
    user: str | None = None
    lang: str | None = None
    mask: bool = False  # the command was given --mask: its error messages are masked too
    argv: list[str] = field(default_factory=list)  # the command line after "crm", for the change log
    # What Ctrl-C leaves undone, said in one line: "nothing imported", "out.xlsx not written".
    interrupted: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from crmcli import settings

            self._settings = settings.load(db=self.db, user=self.user, lang=self.lang)
            from crmcli import i18n

            i18n.set_language(self._settings.lang)
        return self._settings

    @property
    def command(self) -> str:
        """The command as typed (spec §18), for the change log."""
        import shlex

        return "crm " + shlex.join(self.argv) if self.argv else "crm"

    def write(self, **options: Any) -> Any:
        """One write transaction, logged as one change set of the acting user's command."""
        return self.store.write(user=self.settings.user, command=self.command, **options)

    @property
    def store(self) -> SqliteStore | PostgresStore:
        from crmcli.store import open_store

        return open_store(self.settings.where, self.settings.busy_timeout)

    @property
    def today(self) -> dt.date:
        from crmcli.settings import today

        return today()


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def fail(message: str, code: int) -> typer.Exit:
    first, *rest = message.splitlines() or [""]
    from crmcli.i18n import gettext as _

    sys.stderr.write(_("Error: {message}").format(message=first) + "\n")
    for line in rest:
        sys.stderr.write(line + "\n")
    return typer.Exit(code)


@contextmanager
def error_boundary(ctx: Any) -> Iterator[None]:
    """The one boundary that turns errors into ``Error: ...`` on stderr and an exit code (spec §10)."""
    try:
        yield
    except (typer.Exit, typer.Abort, click_exceptions.ClickException):
        raise
    except KeyboardInterrupt:
        # Ctrl-C: every write was one transaction (rolled back) and every file a temporary
        # one (removed on the way out), so nothing is half-written. A temporary file the
        # interrupt caught between its creation and its cleanup block is removed here.
        if "crmcli.safe_files" in sys.modules:
            sys.modules["crmcli.safe_files"].remove_leftovers()
        if os.environ.get("CRM_DEBUG") == "1":
            raise
        note = ctx.obj.interrupted if isinstance(ctx.obj, State) else None
        start = "\n" if sys.stderr.isatty() else ""  # off the line the terminal's ^C is on
        from crmcli.i18n import gettext as _

        sys.stderr.write(start + _("interrupted; {what}").format(what=note or _("nothing was written")) + "\n")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # `crm ... | head`: the reader has what it wanted. Not an error; silence the final
        # flush by pointing stdout at devnull (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    except CrmError as exc:
        if os.environ.get("CRM_DEBUG") == "1":
            raise
        # A command's --mask covers its error messages too (an ambiguous REF lists phones).
        if exc.quiet:
            raise typer.Exit(exc.exit_code) from None
        masked = isinstance(ctx.obj, State) and ctx.obj.mask
        raise fail(exc.on_command_line(masked=bool(masked)), exc.exit_code) from None
    except Exception as exc:
        if os.environ.get("CRM_DEBUG") == "1":
            raise
        from crmcli import safe_files
        from crmcli.store import errors as store_errors

        known = store_errors.translate(exc, None, doing=Text(N_("nothing was written")))
        if known is None and "crmcli.store.postgres" in sys.modules:
            from crmcli.store import postgres

            known = postgres.translate(exc, doing=Text(N_("nothing was written")))
        if known is None and safe_files.is_disk_full(exc):
            known = DiskFull(N_("the disk is full; nothing was written (free some space and try again)"))
        if known is not None:
            raise fail(str(known), known.exit_code) from None
        if type(exc).__name__ in ("DatabaseError", "OperationalError") or isinstance(exc, OSError):
            said = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"  # the system's own words
            raise fail(said, 1) from None
        from crmcli.i18n import gettext

        raise fail(gettext("unexpected {kind}: {exc} (run with CRM_DEBUG=1 for details)").format(kind=type(exc).__name__, exc=exc), 1) from None
