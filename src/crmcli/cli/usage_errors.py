"""Usage errors in the display language: the command-line parser's own messages ("No such option",
"Missing argument", ...) are English f-strings inside typer's bundled click, with no gettext. They
are matched here, when a usage error is shown, against the few shapes click writes, and rewritten
through the catalog; a message of another shape is shown as click wrote it.
"""

from __future__ import annotations

import re
from typing import IO, Any

from crmcli.i18n import N_, gettext

# (click's message, its message id in the catalog): each pattern's groups fill the id's fields.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"No such option: (?P<option>\S+) \(Possible options: (?P<options>.+)\)"),
     N_("No such option: {option} (possible options: {options})")),
    (re.compile(r"No such option: (?P<option>\S+)"), N_("No such option: {option}")),
    (re.compile(r"Missing argument (?P<name>.+)\."), N_("Missing argument {name}.")),
    (re.compile(r"Missing option (?P<name>.+)\."), N_("Missing option {name}.")),
    (re.compile(r"Missing parameter (?P<name>.+)\."), N_("Missing parameter {name}.")),
    (re.compile(r"Option (?P<name>'[^']+') requires an argument\."), N_("Option {name} requires an argument.")),
    (re.compile(r"Option (?P<name>'[^']+') does not take a value\."), N_("Option {name} does not take a value.")),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)", re.S), N_("Got unexpected extra arguments ({args})")),
    (re.compile(r"No such command (?P<name>.+)\."), N_("No such command {name}.")),
    (re.compile(r"Invalid value for (?P<name>'[^']+'|[^:]+): (?P<message>.*)", re.S), N_("Invalid value for {name}: {message}")),
)  # fmt: skip
_TRY = N_("Try '{command} {option}' for help.")


def translate(message: str) -> str:
    """click's message in the display language (as it is when no shape matches)."""
    for pattern, template in _SHAPES:
        m = pattern.fullmatch(message)
        if m:
            return gettext(template).format(**m.groupdict())
    return message


def install() -> None:
    """Show click's usage errors through ``translate`` (the usage line and hint included)."""
    from typer._click import exceptions
    from typer._click.utils import echo

    def show(self: Any, file: IO[Any] | None = None) -> None:
        if file is None:
            file = exceptions.get_text_stderr()
        color = None
        if self.ctx is not None:
            hint = ""
            if self.ctx.command.get_help_option(self.ctx) is not None:
                hint = gettext(_TRY).format(command=self.ctx.command_path, option=self.ctx.help_option_names[0]) + "\n"
            color = self.ctx.color
            echo(f"{self.ctx.get_usage()}\n{hint}", file=file, color=color)
        echo(gettext("Error: {message}").format(message=translate(self.format_message())), file=file, color=color)

    exceptions.UsageError.show = show  # type: ignore[method-assign]
