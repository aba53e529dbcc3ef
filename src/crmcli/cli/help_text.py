"""Help in the display language: typer builds its help from the English texts in the source
(docstrings, ``help=``); they are the catalog's message ids, translated here when help is shown.

The language must be known before the arguments are parsed (``crm --help`` prints during
parsing), so ``early_language`` reads ``--lang`` from the command line itself, then CRM_LANG,
crm.toml and the locale, as the settings do.
"""

from __future__ import annotations

from typing import Any

from crmcli.i18n import N_, gettext, language

# typer's and click's own words on every help page: message ids of the catalog too
CLICK_WORDS = (
    N_("Usage: "), N_("Options"), N_("Arguments"), N_("Commands"), N_("Show this message and exit."),
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
    N_("required"), N_("default: {default}"), N_("env var: {var}"),
)  # fmt: skip


def early_language(args: list[str]) -> str:
    flag = None
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            flag = args[i + 1]
        elif arg.startswith("--lang="):
            flag = arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            break  # the command: global options come before it
    from crmcli import settings

    return settings.display_language(flag)


def _tr(text: str | None) -> str | None:
    return gettext(text) if text else text


def _translate(cmd: Any, lang: str) -> None:
    if getattr(cmd, "_crm_lang", "en") == lang:
        return
    original = cmd.__dict__.setdefault("_crm_en", (cmd.help, cmd.short_help, [p.help for p in cmd.params if hasattr(p, "help")]))
    help_, short, params = original
    cmd.help, cmd.short_help = (_tr(help_), _tr(short)) if lang != "en" else (help_, short)
    if lang != "en" and cmd.help and not short:  # click cuts a command's line by characters, not columns
        cmd.short_help = _first_line(cmd.help, 45)
    for p, text in zip([p for p in cmd.params if hasattr(p, "help")], params, strict=True):
        p.help = _tr(text) if lang != "en" else text
    cmd._crm_lang = lang
    commands = getattr(cmd, "commands", {})
    listed = getattr(commands, "listed", None)  # crm's own group: what it lists, nothing built (cli/lazy.py)
    for sub in [listed(name) for name in commands] if listed else commands.values():
        _translate(sub, lang)  # a group lists its commands' one-line help


def _first_line(text: str, columns: int) -> str:
    """The first sentence of a help text, cut to ``columns`` display columns (CJK counts double)."""
    from crmcli.widths import text_width

    first = text.split("\n\n")[0].replace("\n", " ")
    for stop in ("; ", ". ", "。"):
        first = first.split(stop)[0]
    first = first.rstrip(".")
    if text_width(first) <= columns:
        return first
    out = ""
    for ch in first:
        if text_width(out + ch) > columns - 3:
            break
        out += ch
    return out + "..."


def install() -> None:
    from typer import core
    from typer._click import formatting

    heading, usage = formatting.HelpFormatter.write_heading, formatting.HelpFormatter.write_usage

    def write_heading(self: Any, text: str) -> None:
        heading(self, gettext(text))

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        usage(self, prog, args, gettext(prefix or "Usage: "))

    core._ = gettext  # typer's own words in a parameter's help ("[required]", "default: ...")
    formatting.HelpFormatter.write_heading = write_heading  # type: ignore[method-assign,assignment]
    formatting.HelpFormatter.write_usage = write_usage  # type: ignore[method-assign]
    for cls in (core.TyperCommand, core.TyperGroup):
        original = cls.format_help

        def format_help(self: Any, ctx: Any, formatter: Any, _original: Any = original) -> None:
            _translate(self, language())
            option = self.get_help_option(ctx)
            if option is not None:
                option.help = gettext("Show this message and exit.")
            _original(self, ctx, formatter)

        cls.format_help = format_help  # type: ignore[method-assign]
