"""The one Typer app every command module adds its commands to, its global options, and the
one error boundary (``CrmGroup.invoke``) that turns errors into ``Error: ...`` and an exit code.
"""

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from crmcli import __version__
from crmcli.cli import help_text, plain_params, usage_errors
from crmcli.cli.boundary import State, error_boundary

plain_params.install()  # plain option values without pydantic (see there)
help_text.install()  # help in the display language (see there)
usage_errors.install()  # click's own usage errors too


class CrmGroup(TyperGroup):
    """Runs every command inside ``error_boundary``: in a real run and under CliRunner alike.

    Its commands are built when they are used (``cli/lazy.py``): ``crm show`` imports and builds
    ``show`` alone; ``crm --help`` lists every command from the index without building any.
    """

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(**attrs)
        from crmcli.cli.lazy import LazyCommands

        self.commands = LazyCommands(commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names; typer's own walks the items, building them all

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        listed = self.commands.listed  # type: ignore[attr-defined]
        rows = [(name, listed(name)) for name in self.list_commands(ctx)]
        rows = [(name, cmd) for name, cmd in rows if not cmd.hidden]
        if rows:  # what TyperGroup.format_commands writes, from the listed commands
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from crmcli.cli.argv import decode_lenient

        ctx.meta["crm_argv"] = [decode_lenient(a) for a in args]  # the command as typed, for the change log
        from crmcli import i18n

        i18n.set_language(help_text.early_language(args))  # before parsing: --help prints during it
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        with error_boundary(ctx):
            return super().invoke(ctx)


app = typer.Typer(
    name="crm",
    cls=CrmGroup,
    help="A customer-relationship manager for the terminal: customers, follow-ups and pipeline in one SQLite file.",
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish); cli/complete.py
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    ctx.obj = State(db=db, user=user, lang=lang, argv=list(ctx.meta.get("crm_argv", [])))
