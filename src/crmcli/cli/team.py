"""``crm team ...`` and ``crm pool ...``: team mode on PostgreSQL (spec §16)."""

from typing import Annotated

import typer

from crmcli.cli._common import state
from crmcli.cli.app import app
from crmcli.i18n import gettext as _

team_app = typer.Typer(name="team", help="Team mode on PostgreSQL: set up, users, settings.", no_args_is_help=True, rich_markup_mode=None)
user_app = typer.Typer(name="user", help="Team users: add, list, remove.", no_args_is_help=True, rich_markup_mode=None)
pool_app = typer.Typer(name="pool", help="The customer pool (公海池): list, claim, release, assign, sweep.", no_args_is_help=True, rich_markup_mode=None)
team_app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")
app.add_typer(pool_app, name="pool")

Format = Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")]


def _emit(rows: list[dict], fmt: str, keys: tuple[str, ...]) -> None:  # type: ignore[type-arg]
    import sys

    from crmcli import render

    fmt = render.check_format(fmt, ("table", "json"))
    if fmt == "json":
        render.print_json(rows)
    elif rows:
        body = [["" if r[k] is None else str(r[k]) for k in keys] for r in rows]
        sys.stdout.write(render.plain_table(list(keys), body, [False] * len(keys)))


@team_app.command("init")
def init(ctx: typer.Context) -> None:
    """Set up the database for a team: schema, roles, row-level security, functions (admin).

    Example: crm --db postgresql+psycopg://db.example/crm team init
    """
    from crmcli.services import team

    st = state(ctx)
    with st.store.write(log=False) as conn:
        team.init(conn)
    typer.echo(_("Team mode ready at {display}; add users with crm team user add").format(display=st.store.display))


@team_app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="pool.days, pool.days.key|normal|potential, pool.reclaim_days or pool.max_customers.")],
    value: Annotated[str, typer.Argument(help="A whole number (0: no limit).")],
) -> None:
    """Change a team setting kept in the database (admin).

    Example: crm team set pool.days 30
    """
    from crmcli.services import team

    st = state(ctx)
    with st.write() as conn:
        team.set_setting(conn, key, value)
    typer.echo(f"{key} = {value}")


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The PostgreSQL login to create.")],
    name: Annotated[str, typer.Option("--name", help="Display name (张伟).", metavar="DISPLAY")],
    role: Annotated[str, typer.Option("--role", help="rep, manager or admin.", metavar="ROLE")],
    team_name: Annotated[str | None, typer.Option("--team", help="The team a manager sees.", metavar="TEAM", show_default=False)] = None,
) -> None:
    """Add a team user: a login with its role (admin).

    Example: crm team user add zhangwei --name 张伟 --role rep --team 华东
    """
    from crmcli.services import team

    st = state(ctx)
    with st.write() as conn:
        team.add_user(conn, login, name=name, role=role, team=team_name)
    typer.echo(_("Added {login} ({name}, {role}); set a password with: ALTER ROLE \"{login}\" PASSWORD '...'").format(login=login, name=name, role=role))


@user_app.command("list")
def user_list(ctx: typer.Context, fmt: Format = "table") -> None:
    """List the team's users with their roles and customers.

    Example: crm team user list --format json
    """
    from crmcli.services import team

    with state(ctx).store.read() as reader:
        rows = team.users(reader)
    _emit(rows, fmt, ("login", "name", "role", "team", "active", "customers"))


@user_app.command("remove")
def user_remove(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The departing user's login.")],
    to: Annotated[str | None, typer.Option("--to", help="Hand their customers to this login.", metavar="LOGIN", show_default=False)] = None,
    to_pool: Annotated[bool, typer.Option("--to-pool", help="Return their customers to the pool.")] = False,
) -> None:
    """Hand a departing user's customers over and disable the login (admin).

    Example: crm team user remove liuyang --to zhangwei
    """
    from crmcli.services import team

    if (to is None) == (not to_pool):
        raise typer.Exit(_usage("give --to LOGIN or --to-pool"))
    st = state(ctx)
    with st.write() as conn:
        n = team.remove_user(conn, login, to=to)
    typer.echo(_("Removed {login}: {n} customers to {value}; the login is disabled").format(login=login, n=n, value=to or 'the pool'))


def _usage(message: str) -> int:
    import sys

    sys.stderr.write(_("Error: {message}").format(message=message) + "\n")
    return 2


@pool_app.command("list")
def pool_list(ctx: typer.Context, fmt: Format = "table") -> None:
    """List the customers in the pool (no owner), oldest first.

    Example: crm pool list
    """
    from crmcli.services import team

    with state(ctx).store.read() as reader:
        rows = team.pool(reader)
    _emit(rows, fmt, ("code", "name", "level", "stage", "created_at", "last_follow_at"))


def _one(ctx: typer.Context, ref: str, action: str, login: str | None = None) -> None:
    from crmcli.services import customer_query as cq
    from crmcli.services import team
    from crmcli.store.reader import Reader

    st = state(ctx)
    with st.write() as conn:
        customer = cq.resolve(Reader.over(conn), ref)
        if action == "claim":
            code = team.claim(conn, customer["code"], st.today)
        elif action == "release":
            code = team.release(conn, customer["code"], st.today)
        else:
            code = team.assign(conn, customer["code"], login or "", st.today)
    said = {"claim": _("{code} {name}: claimed"), "release": _("{code} {name}: released")}.get(action) or _("{code} {name}: assigned to {login}")
    typer.echo(said.format(code=code, name=customer["name"], login=login))


@pool_app.command("claim")
def pool_claim(ctx: typer.Context, ref: Annotated[str, typer.Argument(metavar="REF", help="A pool customer.")]) -> None:
    """Claim a customer from the pool: it becomes yours.

    Example: crm pool claim 云帆
    """
    _one(ctx, ref, "claim")


@pool_app.command("release")
def pool_release(ctx: typer.Context, ref: Annotated[str, typer.Argument(metavar="REF", help="One of your customers.")]) -> None:
    """Return one of your customers to the pool.

    Example: crm pool release 云帆
    """
    _one(ctx, ref, "release")


@pool_app.command("assign")
def pool_assign(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="REF", help="The customer.")],
    login: Annotated[str, typer.Argument(metavar="LOGIN", help="Its new owner.")],
) -> None:
    """Give a customer to a user (manager within the team, admin anyone).

    Example: crm pool assign 云帆 zhangwei
    """
    _one(ctx, ref, "assign", login)


@pool_app.command("sweep")
def pool_sweep(
    ctx: typer.Context,
    days: Annotated[int | None, typer.Option("--days", help="Days without a follow-up (default: pool.days).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would return to the pool.")] = False,
    fmt: Format = "table",
) -> None:
    """Return neglected customers to the pool (admin; run it from cron).

    Example: crm pool sweep --dry-run
    """
    from crmcli.services import team

    st = state(ctx)
    with st.write() as conn:
        rows = team.sweep(conn, days=days, today=st.today, dry_run=dry_run)
    _emit(rows, fmt, ("code", "owner", "since"))


db_app = typer.Typer(name="db", help="Move a database file into team mode.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")


@db_app.command("copy")
def db_copy(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="The SQLite database file.", metavar="FILE")],
    to: Annotated[str, typer.Option("--to", help="The team's PostgreSQL URL.", metavar="URL")],
    owner: Annotated[list[str] | None, typer.Option("--owner", help="NAME=LOGIN for an owner that is not a login.", metavar="NAME=LOGIN")] = None,
) -> None:
    """Copy every record of a database file into a team database, verifying the counts (admin).

    Example: crm db copy --from ~/crm.db --to postgresql+psycopg://db/crm --owner 张伟=zhangwei
    """
    from pathlib import Path

    from crmcli.services import db_copy as svc
    from crmcli.store import open_store, postgres

    st = state(ctx)
    if not postgres.is_url(to):
        raise typer.Exit(_usage(_("--to {to}: give the team's postgresql+psycopg:// URL").format(to=to)))
    mapping = svc.parse_mapping(owner or [])
    counts = svc.copy(Path(source).expanduser(), open_store(to, st.settings.busy_timeout), mapping)
    shown = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
    typer.echo(_("Copied {source} into {to}: {value}; counts verified").format(source=source, to=postgres.masked(to), value=shown or 'nothing (empty file)'))
