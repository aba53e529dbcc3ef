"""What commands share: the options of the filters, numeric ranges, usage checks; and the run's
state and error boundary (``cli/boundary.py``).

Nothing heavy is imported here: ``crm --help`` must not load sqlmodel & co.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from crmcli.cli import complete
from crmcli.cli.boundary import State, error_boundary, fail, state  # noqa: F401 - what commands import from here
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _


def given(ctx: typer.Context) -> dict[str, str]:
    """The options given on the command line (not defaults): parameter name -> its flag."""
    from typer._click.core import ParameterSource

    return {
        p.name: (p.opts[0] if p.opts else p.name)
        for p in ctx.command.params
        if p.name and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE
    }


def goes_with(ctx: typer.Context, names: tuple[str, ...] | list[str], what: str) -> None:
    """A usage error (exit 2) when one of ``names`` was given where it means nothing: "--within
    goes with --due". Silently ignoring it let a user believe it had been applied."""
    typed = given(ctx)
    for name in names:
        if name in typed:

            raise UsageError(N_("{option} goes with {what}"), option=typed[name], what=what)


def field_words(keys: Any, of: Any, lang: str) -> str:
    """The fields a confirmation says it changed, by their column headers in the display language
    (``of``: the table's fields, e.g. ``fields.TICKET``; a key of none of them, such as a custom
    field, as the customer registry names it, else itself)."""
    from crmcli import fields

    by_key = {f.key: f for f in of}
    return ", ".join(by_key[k].label(lang) if k in by_key else fields.label(k, lang) for k in keys)


def value_word(field: str, key: str | None, lang: str) -> str:
    """A vocabulary value (a stage, a level) as tables show it: its label in the display language."""
    from crmcli import vocab

    return vocab.label(field, key, lang)


def interactive() -> bool:
    """True when we may prompt: stdin and stdout are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


class Bounded:
    """The parser of every numeric option: a number from ``low`` to ``high``, else a usage error
    (exit 2) naming the option, the value and the range.

    Unbounded, a huge value reached SQLite ("Python int too large to convert to SQLite
    INTEGER") or date arithmetic (``--within 99999999``) and failed there as an unexpected
    OverflowError. NaN and infinities are out of every range.
    """

    def __init__(self, kind: type[int] | type[float], low: float, high: float) -> None:
        self.kind, self.low, self.high = kind, low, high

    def _show(self, number: float) -> str:
        return f"{number:,}" if self.kind is int else f"{number:g}"

    def __call__(self, value: object) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):  # a default
            number: Any = value
            text = str(value)
        else:
            text = str(value).strip()
            try:
                number = self.kind(text)
            except (ValueError, OverflowError):
                shown = text if len(text) <= 40 else text[:40] + "..."
                raise typer.BadParameter(_("'{shown}' is not {value}").format(shown=shown, value='a whole number' if self.kind is int else 'a number')) from None
        if not self.low <= number <= self.high:  # False for NaN too
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise typer.BadParameter(_("{shown} is out of range; allowed: {low} to {high}").format(shown=shown, low=self._show(self.low), high=self._show(self.high)))
        return number

    def __repr__(self) -> str:
        return f"Bounded({self.kind.__name__}, {self.low}, {self.high})"


# The ranges of the numeric options, one per kind of number.
COUNT = Bounded(int, 0, 1_000_000_000)  # --limit
DAYS = Bounded(int, 0, 36_500)  # --within: a hundred years ahead
ROW_ID = Bounded(int, 1, 2**63 - 1)  # --undo BATCH: SQLite's INTEGER
SHARE = Bounded(float, 0.0, 1.0)  # report abc --a/--b


def not_blank(value: Any) -> Any:
    """Callback of the filter options: a value that is blank, or that normalises to empty (``-``,
    ``N/A``, invisible characters), is a usage error naming the option. Dropping it instead made
    ``--owner "$EMPTY"`` list and export every customer."""
    if value is None:
        return value
    from crmcli.normalize import drop_invisible, is_empty

    for item in value if isinstance(value, list | tuple) else (value,):
        if isinstance(item, str) and is_empty(drop_invisible(item)):
            raise typer.BadParameter(_("{item!r} is blank; give a value, or leave the option out").format(item=item))
    return value


# Filters shared by list, export and report (spec §5), as reusable annotated types.
from typing import Annotated  # noqa: E402

StageF = Annotated[list[str] | None, typer.Option("--stage", help="Only this stage (repeatable).", show_default=False, metavar="STAGE", callback=not_blank, autocompletion=complete.stages)]
LevelF = Annotated[list[str] | None, typer.Option("--level", help="Only this level (repeatable).", show_default=False, metavar="LEVEL", callback=not_blank, autocompletion=complete.levels)]
SourceF = Annotated[list[str] | None, typer.Option("--source", help="Only this source (repeatable).", show_default=False, metavar="SOURCE", callback=not_blank, autocompletion=complete.sources)]
IndustryF = Annotated[list[str] | None, typer.Option("--industry", help="Only this industry (repeatable).", show_default=False, metavar="INDUSTRY", callback=not_blank, autocompletion=complete.industries)]
OwnerF = Annotated[list[str] | None, typer.Option("--owner", help="Only customers of this owner (repeatable).", show_default=False, metavar="OWNER", callback=not_blank, autocompletion=complete.owners)]
MineF = Annotated[bool, typer.Option("--mine", help="Only the acting user's customers.")]
TagF = Annotated[list[str] | None, typer.Option("--tag", help="Only customers with this tag (repeatable).", show_default=False, metavar="TAG", callback=not_blank, autocompletion=complete.tags)]
SearchF = Annotated[str | None, typer.Option("--search", help="Text in name, contact, phone, need or notes.", show_default=False, metavar="TEXT", callback=not_blank)]
SinceF = Annotated[str | None, typer.Option("--since", help="Created on or after DATE.", show_default=False, metavar="DATE", callback=not_blank)]
UntilF = Annotated[str | None, typer.Option("--until", help="Created on or before DATE.", show_default=False, metavar="DATE", callback=not_blank)]
ArchivedF = Annotated[bool, typer.Option("--archived", help="Only archived customers.")]


def _masking(ctx: typer.Context, value: bool) -> bool:
    state(ctx).mask = value  # the error boundary masks this command's messages too
    return value


MaskF = Annotated[bool, typer.Option("--mask", help="Mask phones (138****5678) and e-mails.", callback=_masking)]


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
    """Build ``services.customer_query.Filters`` from the shared options."""
    from crmcli.services.customer_query import build_filters

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


def warn_of_the_sweep(reader: Any, today: Any) -> None:
    """Team mode (spec §16): one line on stderr naming the rep's customers the next pool sweep takes."""
    from crmcli.i18n import gettext as _
    from crmcli.services import team

    risk = team.at_risk(reader, today)
    if risk:
        codes = ", ".join(r["code"] for r in risk[:10]) + (" ..." if len(risk) > 10 else "")
        sys.stderr.write(_("warning: the next pool sweep returns {n} of your customers to the pool unless followed up: {codes}")
                         .format(n=len(risk), codes=codes) + "\n")  # fmt: skip
