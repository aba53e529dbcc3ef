"""``crm history`` and ``crm undo``: the change log (spec §18)."""

from typing import Annotated, Any

import typer

from crmcli.cli import complete
from crmcli.cli._common import COUNT, ROW_ID, state
from crmcli.cli.app import app
from crmcli.i18n import N_
from crmcli.i18n import gettext as _


@app.command()
def history(
    ctx: typer.Context,
    ref: Annotated[
        str | None,
        typer.Argument(
            metavar="REF",
            help="Only the changes of this customer.",
            show_default=False,
            autocompletion=complete.customers,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most N change sets (newest first).", parser=COUNT, metavar="N")
    ] = 20,
    by: Annotated[
        str | None, typer.Option("--by", help="Only the changes of this user.", show_default=False, metavar="USER")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only changes on or after DATE.", show_default=False, metavar="DATE")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
) -> None:
    """Show what was changed, by whom and with which command, newest first.

    Every command that writes is one change set; crm undo CHANGE takes one back.

    Examples: crm history;  crm history ABC --format json;  crm history --by wang --since 2026-11-01
    """
    from crmcli import normalize, render
    from crmcli.services import customer_query as cq
    from crmcli.services import history as hist

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    start = normalize.parse_date(since, st.today).isoformat() if since else None
    with st.store.read() as reader:
        cid = cq.resolve(reader, ref)["id"] if ref else None
        sets = hist.history(
            reader, customer_id=cid, user=normalize.clean_text(by) if by else None, since=start, limit=limit
        )
    if fmt == "json":
        render.print_json(sets)
        return
    for s in sets:
        _print_set(s, st.settings.lang)


def _echo(line: str) -> None:
    """One line of history; on a terminal, wrapped between words (a code or date is never split)."""
    from crmcli import fit, render

    width = render.terminal_width()
    for part in fit.words(line, width - 1, indent="      ") if width else [line]:
        typer.echo(part)


# what the log's tables and keys are called where no field registry names them
_TABLES = {
    "customer": N_("customer"), "follow_up": N_("follow-up"), "stage_change": N_("stage change"),
    "deal": N_("opportunity"), "deal_line": N_("opportunity line"), "product": N_("product"),
    "ticket": N_("ticket"), "tag": N_("tag"), "custom_value": N_("custom field"),
}  # fmt: skip
_KEYS = {"customer_id": N_("Customer"), "merged_into": N_("Merged into"), "deal_id": N_("Opportunity")}


def _fields_of(table: str) -> dict[str, Any]:
    from crmcli import fields

    registry = {
        "customer": fields.CUSTOMER, "follow_up": fields.FOLLOW_UP, "stage_change": fields.STAGE_CHANGE,
        "deal": fields.OPPORTUNITY, "deal_line": fields.DEAL_LINE, "product": fields.PRODUCT, "ticket": fields.TICKET,
    }.get(table, ())  # fmt: skip
    return {f.key: f for f in registry}


def _print_set(s: dict[str, Any], lang: str) -> None:
    """A change set as lines: tables, fields and values by the words the tables show, in ``lang``."""
    from crmcli import fields
    from crmcli.render import local_time

    at = local_time(s["at"])
    flags = " " + _("(undone)") if s["undone"] else ""
    _echo(f"#{s['id']}  {at}  {s['user'] or '-'}  {s['command'] or ''}{flags}")
    for c in s["changes"][:12]:
        who = f"{c['customer']} " if c["customer"] else ""
        table = _(_TABLES[c["table"]]) if c["table"] in _TABLES else c["table"]
        if c["op"] == "update":
            own = _fields_of(c["table"])
            parts = []
            for k, (old, new) in c["fields"].items():
                f = own.get(k) or fields.get(k)
                name = f.label(lang) if f else _(_KEYS[k]) if k in _KEYS else k
                parts.append(f"{name}: {_shown(f, old, lang)} → {_shown(f, new, lang)}")
            _echo(f"    {who}{table} {c['row']}: {', '.join(parts)}")
        elif c["op"] == "move":  # a merge's rows of one table
            old, new = c["fields"].get("customer_id", [None, None])
            _echo("    " + who + _("{table}: {n} row(s) moved from customer {old} to {new}").format(table=table, n=c.get("rows", 0), old=old, new=new))
        else:
            done = _("added") if c["op"] == "insert" else _("deleted")
            _echo(f"    {who}{table} {c['row']} {done}")
    if len(s["changes"]) > 12:
        _echo("    " + _("… {n} more").format(n=len(s["changes"]) - 12))


def _shown(f: Any, value: Any, lang: str) -> str:
    """A logged value as the tables show it: a stage or level by its label, a yes/no as such."""
    from crmcli import vocab

    if value is None:
        return "-"
    if f is not None and f.enum and isinstance(value, str):
        value = vocab.label(f.enum, value, lang)
    elif f is not None and f.kind == "bool" and value in (0, 1):
        value = _("yes") if value else _("no")
    return _short(value)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:29] + "…"


@app.command()
def undo(
    ctx: typer.Context,
    change: Annotated[
        int | None,
        typer.Argument(
            metavar="CHANGE",
            help="The change set to take back (default: your latest).",
            parser=ROW_ID,
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be put back; change nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Also when a later change touched the same fields.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
) -> None:
    """Take back a change set (as a new change set, which can be undone in turn).

    Refuses, naming the later change, when a later change touched the same fields (--force to
    undo anyway). An import is undone as crm import --undo BATCH does.

    Examples: crm undo;  crm undo 42 --dry-run;  crm undo 42 --force
    """
    from crmcli import render
    from crmcli.services import history as hist
    from crmcli.store.reader import Reader

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    with st.write(kind="undo") as conn:
        reader = Reader.over(conn)
        current = conn.info.get("change_set")
        target = change if change is not None else hist.latest_of(reader, st.settings.user, current=current)
        p = hist.plan(reader, target, current=current)
        if dry_run:
            lines = hist.describe(p.steps) if p.kind != "import" else [_("undo import batch {batch_id}").format(batch_id=p.batch_id)]
            if fmt == "json":
                render.print_json({"change": target, "command": p.command, "steps": lines, "conflicts": p.conflicts})
            else:
                typer.echo(_("Would undo change {target} ({command}):").format(target=target, command=p.command))
                for line in lines:
                    typer.echo(f"  {line}")
                for c in p.conflicts:
                    typer.echo("  " + _("conflict: {what}").format(what=c))
            return
        out = hist.apply(conn, p, force=force)
    if fmt == "json":
        render.print_json(out)
    else:
        typer.echo(_("Undid change {target} ({command}) as change {value}").format(target=target, command=p.command, value=out.get('undo')))
