"""``crm dupes``, ``crm merge`` and ``crm merges``: near-duplicate customers and merging them (spec §14)."""

from typing import Annotated

import typer

from crmcli.cli._common import ROW_ID, Bounded, goes_with, state, stdout_is_terminal
from crmcli.cli.app import app
from crmcli.errors import UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _

SCORE = Bounded(float, 0.0, 1.0)


@app.command()
def dupes(
    ctx: typer.Context,
    min_score: Annotated[float, typer.Option("--min-score", help="List pairs scoring at least this (0-1).", parser=SCORE, metavar="SCORE")] = 0.85,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json|csv.", metavar="FORMAT")] = "table",
) -> None:
    """List pairs of customers that are probably the same, best first, with a score and reasons.

    Examples: crm dupes;  crm dupes --min-score 0.95 --format json
    """
    from crmcli import render
    from crmcli.services import dupes as svc

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json", "csv"))
    with st.store.read() as reader:
        pairs = svc.find(reader, min_score=min_score)
    if fmt == "json":
        render.print_json([{k: p[k] for k in ("a", "b", "score", "reasons")} for p in pairs])
        return
    if fmt == "csv":
        render.write_delimited(({**p, "reasons": ";".join(p["reasons"])} for p in pairs), ("a", "a_name", "b", "b_name", "score", "reasons"), "csv")
        return
    if not pairs:
        return
    lang = st.settings.lang
    head = (_("A"), _("Name A"), _("B"), _("Name B"), _("Score"), _("Reasons"))
    body = [[p["a"], p["a_name"], p["b"], p["b_name"], f"{p['score']:.2f}", ", ".join(svc.reason_text(r, lang) for r in p["reasons"])] for p in pairs]
    from crmcli.fit import Column

    render.print_grid([Column(head[0], priority=100), Column(head[1], folds=True, priority=95), Column(head[2], priority=100),
                       Column(head[3], folds=True, priority=94), Column(head[4], right=True, priority=80),
                       Column(head[5], folds=True, priority=40)], body, lang)  # fmt: skip


@app.command()
def merge(
    ctx: typer.Context,
    keep: Annotated[str | None, typer.Argument(metavar="KEEP", help="The customer that stays (REF).", show_default=False)] = None,
    other: Annotated[str | None, typer.Argument(metavar="OTHER", help="The duplicate merged into KEEP (REF).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would move and be filled in; change nothing.")] = False,
    undo: Annotated[int | None, typer.Option("--undo", help="Take merge MERGE_ID back: both customers as they were.", parser=ROW_ID, show_default=False, metavar="MERGE_ID")] = None,
    force: Annotated[bool, typer.Option("--force", help="With --undo: undo even when the records were changed since.")] = False,
) -> None:
    """Merge customer OTHER into KEEP (prints the merge id); --undo MERGE_ID takes a merge back.

    Every follow-up, stage change, deal, ticket and tag of OTHER moves to KEEP, KEEP's empty
    fields are filled from OTHER, and OTHER's code and phone then find KEEP.

    Examples: crm merge C202405001 C202405007;  crm merge --undo 3
    """
    from crmcli.services import customer_query as cq
    from crmcli.services import merge as svc
    from crmcli.store.changelog import now_iso
    from crmcli.store.reader import Reader

    st = state(ctx)
    if undo is not None:
        if keep is not None or other is not None:
            raise UsageError(N_("--undo MERGE_ID takes no KEEP or OTHER"))
        goes_with(ctx, ["dry_run"], _("a merge, not with --undo (crm undo --dry-run shows what an undo would change)"))
        with st.write() as conn:
            out = svc.undo(conn, undo, force=force)
        text = _("Undid merge {id}: {other} and {keep} are two customers again ({rows} row(s) put back, as change {change})")
        typer.echo(text.format(id=undo, other=out["other"], keep=out["keep"], rows=out["undone_rows"], change=out.get("undo")))
        return
    if force:
        raise UsageError(N_("--force goes with --undo"))
    if keep is None or other is None:
        raise UsageError(N_("give KEEP and OTHER (or --undo MERGE_ID)"))
    with st.write() as conn:
        reader = Reader.over(conn)
        k = cq.resolve(reader, keep, follow_merged=False)
        o = cq.resolve(reader, other, follow_merged=False)
        if dry_run:
            p = svc.plan(conn, k["id"], o["id"])
        else:
            p = svc.merge(conn, k["id"], o["id"], user=st.settings.user, at=now_iso())
    moved = ", ".join(f"{n} {t}" for t, n in p["moved"].items() if n) or "no records"
    filled = ", ".join(p["filled"] + [f"field:{c}" for c in p["custom"]]) or "nothing"
    what = _("{other} {other_name} into {keep} {keep_name}: moves {moved}; tags {tags}; fills {filled}").format(other=p['other'], other_name=p['other_name'], keep=p['keep'], keep_name=p['keep_name'], moved=moved, tags=len(p['tags']), filled=filled)
    if dry_run:
        typer.echo(_("Would merge {what} (dry run: nothing written)").format(what=what))
    elif stdout_is_terminal():
        typer.echo(_("Merge {id}: merged {what}").format(id=p["merge"], what=what))
    else:
        typer.echo(str(p["merge"]))


@app.command()
def merges(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
) -> None:
    """List merges, newest first (id, kept, merged, when, by whom, undone)."""
    from crmcli import render
    from crmcli.services import merge as svc

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    with st.store.read() as reader:
        rows = svc.listing(reader)
    if fmt == "json":
        render.print_json([{k: m[k] for k in ("id", "keep", "other", "at", "by", "undone")} for m in rows])
        return
    if not rows:
        return
    head = (_("Merge"), _("Kept"), _("Name"), _("Merged"), _("Name"), _("At"), _("By"), _("Undone"))
    body = [[str(m["id"]), m["keep"] or "", m["keep_name"] or "", m["other"] or "", m["other_name"] or "", render.local_time(m["at"]), m["by"] or "", "✓" if m["undone"] else ""] for m in rows]
    from crmcli.fit import Column

    ranks = (100, 92, 60, 92, 58, 80, 50, 70)
    render.print_grid([Column(h, right=i == 0, folds=i in (2, 4), priority=p) for i, (h, p) in enumerate(zip(head, ranks, strict=True))],
                      body, st.settings.lang)  # fmt: skip
