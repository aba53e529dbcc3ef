"""What every command shares: the resolved settings, the engine, and the error boundary.

Nothing heavy is imported here: ``crm --help`` must not load sqlmodel & co.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from crmcli.errors import CrmError, DatabaseBusy

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.engine import Engine

    from crmcli.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    db: str | None = None
    user: str | None = None
    lang: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from crmcli import settings

            self._settings = settings.load(db=self.db, user=self.user, lang=self.lang)
        return self._settings

    @property
    def engine(self) -> Engine:
        from crmcli import db

        return db.get_engine(self.settings.db, self.settings.busy_timeout)

    @property
    def today(self) -> dt.date:
        from crmcli.settings import today

        return today()


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def _is_busy(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return type(exc).__name__ == "OperationalError" and ("locked" in msg or "busy" in msg)


def fail(message: str, code: int) -> typer.Exit:
    first, *rest = message.splitlines() or [""]
    sys.stderr.write(f"Error: {first}\n")
    for line in rest:
        sys.stderr.write(line + "\n")
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """The one boundary that turns errors into ``Error: ...`` on stderr and an exit code (spec §10)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
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
            raise fail(exc.masked() if kwargs.get("mask") is True else str(exc), exc.exit_code) from None
        except Exception as exc:
            if os.environ.get("CRM_DEBUG") == "1":
                raise
            if _is_busy(exc):
                err = DatabaseBusy("the database is busy: another crm process held the write lock past the timeout; nothing was written")
                raise fail(str(err), err.exit_code) from None
            if type(exc).__name__ in ("DatabaseError", "OperationalError") or isinstance(exc, OSError):
                raise fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", 1) from None
            raise fail(f"unexpected {type(exc).__name__}: {exc} (run with CRM_DEBUG=1 for details)", 1) from None

    return wrapper  # type: ignore[return-value]


def interactive() -> bool:
    """True when we may prompt: stdin and stdout are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


# Filters shared by list, export and report (spec §5), as reusable annotated types.
from typing import Annotated  # noqa: E402

StageF = Annotated[list[str] | None, typer.Option("--stage", help="Only this stage (repeatable).", show_default=False, metavar="STAGE")]
LevelF = Annotated[list[str] | None, typer.Option("--level", help="Only this level (repeatable).", show_default=False, metavar="LEVEL")]
SourceF = Annotated[list[str] | None, typer.Option("--source", help="Only this source (repeatable).", show_default=False, metavar="SOURCE")]
IndustryF = Annotated[list[str] | None, typer.Option("--industry", help="Only this industry (repeatable).", show_default=False, metavar="INDUSTRY")]
OwnerF = Annotated[list[str] | None, typer.Option("--owner", help="Only customers of this owner (repeatable).", show_default=False, metavar="OWNER")]
MineF = Annotated[bool, typer.Option("--mine", help="Only the acting user's customers.")]
TagF = Annotated[list[str] | None, typer.Option("--tag", help="Only customers with this tag (repeatable).", show_default=False, metavar="TAG")]
SearchF = Annotated[str | None, typer.Option("--search", help="Text in name, contact, phone, need or notes.", show_default=False, metavar="TEXT")]
SinceF = Annotated[str | None, typer.Option("--since", help="Created on or after DATE.", show_default=False, metavar="DATE")]
UntilF = Annotated[str | None, typer.Option("--until", help="Created on or before DATE.", show_default=False, metavar="DATE")]
ArchivedF = Annotated[bool, typer.Option("--archived", help="Only archived customers.")]
MaskF = Annotated[bool, typer.Option("--mask", help="Mask phones (138****5678) and e-mails.")]


def filters_from(
    st: State,
    *,
    stage: list[str] | None,
    level: list[str] | None,
    source: list[str] | None,
    industry: list[str] | None,
    owner: list[str] | None,
    mine: bool,
    tag: list[str] | None,
    search: str | None,
    since: str | None,
    until: str | None,
    archived: bool,
) -> Any:
    """Build ``services.customers.Filters`` from the shared options."""
    from crmcli.services.customers import build_filters

    owners = list(owner or [])
    if mine:
        owners.append(st.settings.user)
    return build_filters(
        stage=stage or (),
        level=level or (),
        source=source or (),
        industry=industry or (),
        owner=owners,
        tag=tag or (),
        search=search,
        since=since,
        until=until,
        archived=archived,
        today=st.today,
    )
