"""Import commands: import (and import --undo), imports."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli._common import ROW_ID, goes_with, state
from crmcli.cli.app import app
from crmcli.errors import CrmError, PartialImport, UsageError
from crmcli.i18n import N_, ngettext
from crmcli.i18n import gettext as _

BATCH_KEYS = ("batch", "file", "started_at", "created", "updated", "skipped", "rejected", "follow_ups", "undone_at")
# The options that say how to read a FILE: meaningless with --undo BATCH.
FILE_ONLY = (
    "sheet", "on_duplicate", "dry_run", "strict", "rejects", "map_", "owner", "source", "reject_sensitive",
    "keep_unknown", "table", "map_value", "date_order",
)  # fmt: skip
LINE_KEYS = ("batch", "created", "updated", "skipped", "rejected", "follow_ups", "blank_rows")


@app.command(name="import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="Workbook (.xlsx .xlsm .xls .ods), text (.csv .tsv), crm's JSON export, or a directory of CSV files.", show_default=False)] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="Sheet to read (default: the first visible one).", show_default=False, metavar="NAME")] = None,
    on_duplicate: Annotated[str, typer.Option("--on-duplicate", help="skip|update|fail: what a row for an existing customer does.", metavar="MODE")] = "skip",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write only the rejects file.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Write nothing to the database if any row is rejected.")] = False,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Rejects file (default <FILE>.rejects.csv).", show_default=False, metavar="FILE")] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="'HEADER=field': read column HEADER as field (repeatable).", show_default=False, metavar="HEADER=FIELD")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner of new customers whose row names none.", show_default=False, metavar="OWNER")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Source (客户来源) of new customers whose row names none.", show_default=False, metavar="SOURCE")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json.", metavar="FORMAT")] = "table",
    undo: Annotated[int | None, typer.Option("--undo", metavar="BATCH", help="Undo import batch BATCH (see crm imports).", parser=ROW_ID, show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="With --undo: also when created customers have later records.")] = False,
    reject_sensitive: Annotated[bool, typer.Option("--reject-sensitive", help="Reject rows holding what looks like an ID or bank card number (flagged otherwise).")] = False,
    keep_unknown: Annotated[bool, typer.Option("--keep-unknown", help="Make each unknown column a text custom field (key from its header) and import it.")] = False,
    table: Annotated[str | None, typer.Option("--table", help="customers|deals|followups|tickets: what the rows are (default: each sheet's header row says).", show_default=False, metavar="TABLE")] = None,
    map_value: Annotated[list[str] | None, typer.Option("--map-value", help="FIELD:VALUE=KEY, e.g. stage:Engaging=intent, level:VIP=key (repeatable).", show_default=False, metavar="FIELD:VALUE=KEY")] = None,
    date_order: Annotated[str | None, typer.Option("--date-order", help="ymd|dmy|mdy: how numeric dates are written (3/11/2017).", show_default=False, metavar="ORDER")] = None,
    no_header: Annotated[bool, typer.Option("--no-header", help="The sheet has no header row: name columns by letter (--map A=name --map B=phone).")] = False,
    match: Annotated[str | None, typer.Option("--match", help="email: an e-mail equal after case-folding also identifies a customer.", show_default=False, metavar="KEY")] = None,
    save_profile: Annotated[str | None, typer.Option("--save-profile", help="Save this run's --map, --map-value, --date-order and --no-header as NAME.", show_default=False, metavar="NAME")] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="Apply the mapping profile NAME (see --profiles).", show_default=False, metavar="NAME")] = None,
    profiles: Annotated[bool, typer.Option("--profiles", help="List the saved mapping profiles.")] = False,
) -> None:
    """Import customers and follow-ups, or opportunities, from Excel or CSV (one batch, undoable).

    An export of crm (a workbook, its JSON document or a directory of CSV files) imports every
    table it holds: customers, follow-ups, stage changes, opportunities, tickets, custom fields.
    A file whose header has opportunity columns (机会编号, Opportunity_ID, Opportunity_Name,
    deal_stage, ...) is imported as opportunities; --table deals says so for any file.

    Examples: crm import 客户信息总表.xlsx;  crm import leads.csv --on-duplicate update --dry-run;
    crm import pipeline.csv --map-value stage:Engaging=intent --date-order mdy;  crm import --undo 3
    """
    from crmcli import render

    st = state(ctx)
    fmt = render.check_format(fmt, ("table", "json"))
    if undo is not None:
        if file is not None:
            raise UsageError(N_("--undo BATCH takes no FILE"))
        goes_with(ctx, FILE_ONLY, _("importing a FILE, not with --undo"))
        _undo(st, undo, force, fmt)
        return
    if profiles:
        if file is not None:
            raise UsageError(N_("--profiles takes no FILE"))
        _list_profiles(fmt)
        return
    if file is None:
        raise UsageError(N_("missing FILE (or --undo BATCH)"))
    st.interrupted = _("nothing imported")  # one transaction: Ctrl-C rolls it all back
    if force:
        raise UsageError(N_("--force goes with --undo"))
    from crmcli import normalize
    from crmcli.io import columns
    from crmcli.services import importer
    from crmcli.services.importer.options import TABLES, parse_value_maps

    if table is not None:
        table = table.strip().lower()
        if table not in TABLES:
            raise UsageError(N_("--table {table}: choose one of {tables}"), table=table, tables=', '.join(TABLES))
    if date_order is not None:
        date_order = date_order.strip().lower()
        if date_order not in normalize.DATE_ORDERS:
            raise UsageError(N_("--date-order {date_order}: choose one of {date_orders}"), date_order=date_order, date_orders=', '.join(normalize.DATE_ORDERS))
    value_maps = parse_value_maps(map_value or [])
    if match is not None and match.strip().lower() != "email":
        raise UsageError(N_("--match {match}: only email"), match=match)
    from crmcli import settings
    from crmcli.services.importer import profiles as saved

    profiles_file = saved.path_beside(settings.config_path())
    stored = saved.load(profiles_file)
    if profile is not None and profile not in stored:
        if stored:
            raise CrmError(N_("--profile {profile}: no such mapping profile; saved: {saved}"), profile=profile, saved=", ".join(sorted(stored)))
        raise CrmError(N_("--profile {profile}: no such mapping profile (none saved yet)"), profile=profile)
    custom: list[Any] = []
    if st.store.exists() and (not dry_run or _current(st)):  # its custom fields are read by their key or label
        from crmcli.services import custom_fields

        with st.store.read() as reader:
            custom = custom_fields.definitions(reader)
    opts = importer.ImportOptions(
        user=st.settings.user,
        today=st.today,
        on_duplicate=on_duplicate.lower(),
        dry_run=dry_run,
        strict=strict,
        rejects=rejects,
        mapping={} if table == "deals" else columns.parse_map(map_ or [], extra=importer.custom_headers(custom)),
        owner=owner,
        source=source,
        sheet=sheet,
        lang=st.settings.lang,
        reject_sensitive=reject_sensitive,
        custom=tuple(custom),
        keep_unknown=keep_unknown,
        command=st.command,
        ticket_aliases=st.settings.ticket_aliases,
        table=table,
        map_specs=tuple(map_ or ()),
        value_maps=value_maps,
        date_order=date_order,
        probability=st.settings.probability,
        no_header=no_header,
        match_email=match is not None,
        profiles=stored,
    )
    if profile is not None:
        opts = saved.apply(opts, profile, stored[profile], custom_headers=importer.custom_headers(custom))
    from crmcli.cli.progress import import_steps

    with import_steps(file.name) as progress, _engine(st, dry_run) as engine:
        # the database is opened while the file is read (in a thread)
        result = importer.import_file(engine, file, opts, progress)
    if save_profile is not None and result.status != 1:
        saved.save(profiles_file, save_profile, {
            "map": list(map_ or ()), "map_value": list(map_value or ()), "date_order": date_order, "no_header": no_header,
            "header": result.header_cells, "table": table,
        })  # fmt: skip
        result.notes.append(_("mapping profile '{name}' saved in {file}").format(name=save_profile, file=profiles_file))
    if result.profile is not None:
        how = _("the file's header row matches it") if result.profile_auto else "--profile"
        result.notes.insert(0, _("mapping profile '{name}' applied ({how})").format(name=result.profile, how=how))
    _print_result(result, fmt, st.settings.lang)
    if result.rejects_error:
        sys.stderr.write(_("warning: the import landed (batch {batch}) but its rejects file did not: {rejects_error}\n").format(batch=result.batch, rejects_error=result.rejects_error))
    status = result.status
    if status == 1:
        if result.strict_failed:
            why = N_("--strict: {rejected} row(s) rejected, nothing imported; see {rejects_file}") if result.rejects_file else N_("--strict: {rejected} row(s) rejected, nothing imported")
        else:
            why = N_("nothing imported: all {rejected} row(s) were rejected; see {rejects_file}") if result.rejects_file else N_("nothing imported: all {rejected} row(s) were rejected")
        raise CrmError(why, rejected=result.rejected, rejects_file=result.rejects_file)
    if status:
        raise PartialImport(N_("{rejected} row(s) rejected"), rejected=result.rejected)


def _list_profiles(fmt: str) -> None:
    """``import --profiles``: the saved mapping profiles."""
    from crmcli import render, settings
    from crmcli.services.importer import profiles as saved

    stored = saved.load(saved.path_beside(settings.config_path()))
    rows: list[dict[str, Any]] = [
        {"profile": name, "map": list(p.get("map") or ()), "map_value": list(p.get("map_value") or ()),
         "date_order": p.get("date_order"), "no_header": bool(p.get("no_header")), "table": p.get("table"), "header": list(p.get("header") or ())}
        for name, p in sorted(stored.items())
    ]  # fmt: skip
    if fmt == "json":
        render.print_json(rows)
        return
    if not rows:
        sys.stderr.write(_("no mapping profiles saved (crm import FILE --map ... --save-profile NAME)") + "\n")
        return
    import shlex

    for r in rows:
        words = [*(f"--map {shlex.quote(m)}" for m in r["map"]), *(f"--map-value {shlex.quote(m)}" for m in r["map_value"])]
        words += [f"--date-order {r['date_order']}"] * bool(r["date_order"]) + ["--no-header"] * r["no_header"]
        words += [f"--table {r['table']}"] * bool(r["table"])
        typer.echo(f"{r['profile']}: {' '.join(words) or _('(no options)')}")
        if r["header"]:
            typer.echo("  " + _("header: {columns}").format(columns=", ".join(r["header"])))


def _current(st: Any) -> bool:
    """Is the database at the current schema (reading it migrates nothing)?"""
    if getattr(st.store, "kind", None) != "sqlite":
        return True
    from crmcli.store import HEAD
    from crmcli.store import sqlite as db

    return bool(db.stored_revision(st.store.path) == HEAD)


class _engine:  # noqa: N801 - used as a function
    """The engine an import writes to. A dry run never creates or migrates a database file
    (spec §12): it runs on a temporary copy (a new one when there is none), deleted after."""

    def __init__(self, st: Any, dry_run: bool) -> None:
        self.st, self.dry_run = st, dry_run
        self.tmp: Any = None

    def __enter__(self) -> Any:
        st = self.st
        if not self.dry_run or getattr(st.store, "kind", None) != "sqlite":
            return lambda: st.store.engine
        from crmcli.store import sqlite as db

        path = st.store.path
        if path.exists() and _current(st):
            return lambda: st.store.engine
        import shutil
        import tempfile

        self.tmp = tempfile.TemporaryDirectory(prefix="crm-dry-run-")
        copy = Path(self.tmp.name) / "crm.db"
        if path.exists():
            shutil.copyfile(path, copy)
        return lambda: db.get_engine(copy, st.settings.busy_timeout)

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            from crmcli.store import dispose_all

            dispose_all()
            self.tmp.cleanup()


@app.command(name="imports")
def imports(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json|csv|tsv.", metavar="FORMAT")] = "table",
) -> None:
    """List import batches: file, time, counts, and whether each was undone."""
    from crmcli import render
    from crmcli.services import importer

    st = state(ctx)
    fmt = render.check_format(fmt)
    with st.store.read() as conn:
        rows = importer.list_batches(conn)
    if fmt == "table":
        for r in rows:
            r["file"] = Path(r["file"]).name
    render.print_records(rows, fmt=fmt, lang=st.settings.lang, table_keys=BATCH_KEYS, all_keys=BATCH_KEYS)


def _print_result(result: Any, fmt: str, lang: str) -> None:
    from crmcli import render

    summary = result.summary()
    if fmt == "json":
        render.print_json(summary)
    elif not sys.stdout.isatty():
        parts = [f"{k}={'none' if summary[k] is None else summary[k]}" for k in LINE_KEYS]
        parts.append(f"unknown_columns={len(result.unknown_columns)}")
        parts.append(f"rejects_file={result.rejects_file or 'none'}")
        if result.table == "deals":
            parts += [f"table=deals stage_changes={result.stage_changes} products={result.products}"]
        elif result.table != "customers":
            parts.append(f"table={result.table}")
        if result.sheets:
            parts.append("sheets=" + ",".join(f"{s['sheet']}:{s['table']}" for s in result.sheets))

        if result.sensitive:
            parts.append(f"sensitive={result.sensitive}")
        if result.tickets:
            parts.append(f"tickets={result.tickets}")
        if result.example_rows:
            parts.append(f"example_rows={result.example_rows}")
        if result.summary_rows:
            parts.append(f"summary_rows={result.summary_rows}")
        if result.dry_run:
            parts.append("dry_run=1")
        sys.stdout.write(" ".join(parts) + "\n")
    else:
        _print_panel(result, lang)
    def note(text: str) -> None:
        sys.stderr.write(_("note: {note}").format(note=text) + "\n")

    for line in result.notes:
        note(line)
    if result.unknown_columns:
        note(_("unknown columns not imported: {columns}").format(columns=", ".join(result.unknown_columns)))
    if result.unused_columns:
        note(_("columns not used: {columns}").format(columns=", ".join(result.unused_columns)))
    for line in result.likely_duplicates[:5]:
        note(line)
    if len(result.likely_duplicates) > 5:
        note(_("{n} more new customer(s) look like existing ones; crm dupes lists them").format(n=len(result.likely_duplicates) - 5))
    for line in unknown_value_lines(result.unknown_values):
        note(line)
    if result.new_fields and result.batch is not None:
        note(_("new custom fields from unknown columns: {fields}").format(fields=", ".join(result.new_fields)))
    if result.sensitive:
        # Where, never the number itself (seeds 003/004: 不得出现客户证件号码、银行卡号).
        sys.stderr.write(
            _("warning: {sensitive} row(s) hold what looks like an ID or bank card number, which must not be stored: {value}; remove them, or import with --reject-sensitive\n").format(sensitive=result.sensitive, value='; '.join(result.sensitive_rows[:5]))
        )


def unknown_value_lines(unknown: list[dict[str, Any]]) -> list[str]:
    """One line per field: its unknown values with their counts, and the --map-value that takes
    the most frequent (spec §12): ``level: 高级 ×12, 低级 ×3 — rows rejected; --map-value 'level:高级=KEY' (KEY: ...)``."""
    by_field: dict[str, list[dict[str, Any]]] = {}
    for u in unknown:
        by_field.setdefault(u["field"], []).append(u)
    lines = []
    for fld, values in by_field.items():
        shown = ", ".join(f"{u['value']} ×{u['rows']}" for u in values[:10])
        if len(values) > 10:
            shown += _(", ... ({n} more)").format(n=len(values) - 10)
        lines.append(_("unknown {field}: {values} — rows rejected; {map_value}").format(field=fld, values=shown, map_value=values[0]["map_value"]))
    return lines


def _print_panel(result: Any, lang: str) -> None:
    from rich.table import Table

    from crmcli import render

    out = render.console()
    head = _("Dry run (nothing written): ") if result.dry_run else ""
    batch = _("batch {id}").format(id=result.batch) if result.batch is not None else _("no batch")
    out.print(f"{head}{result.file} → {batch}")
    t = Table(show_header=False, box=None, padding=(0, 2))
    labels = {
        "created": _("created"),
        "updated": _("updated"),
        "skipped": _("skipped (duplicates)"),
        "rejected": _("rejected"),
        "follow_ups": _("follow-ups"),
        "blank_rows": _("blank rows"),
    }
    if result.example_rows:
        labels["example_rows"] = _("example rows (skipped)")
    if result.summary_rows:
        labels["summary_rows"] = _("totals and footer rows (skipped)")
    for key, label in labels.items():
        t.add_row(label, str(getattr(result, key)))
    out.print(t)
    for s in result.sheets:
        counts = ", ".join(f"{k} {s[k]}" for k in ("created", "updated", "skipped", "rejected", "follow_ups", "deals", "tickets") if s[k])
        out.print(f"  {_('sheet')} {s['sheet']} ({s['table']}): {counts or '-'}", markup=False)
    for rows, title in (
        (result.updated_rows, _("Updated (first few):")),
        (result.skipped_rows, _("Duplicates skipped (first few):")),
    ):
        if rows:
            out.print(title)
            for line in rows[:10]:
                out.print(f"  {line}", markup=False)
    if result.rejected:
        out.print(_("Why rows were rejected (first few):"))
        for reason in result.reasons[:10]:
            out.print(f"  {reason}", markup=False)
        if result.rejects_file:
            out.print(_("Rejected rows written to {file} (fix them and import that file)").format(file=result.rejects_file), markup=False)


def _undo(st: Any, batch: int, force: bool, fmt: str) -> None:
    """``import --undo BATCH``: the change log's undo of that import's change set."""
    from crmcli import render
    from crmcli.errors import NotFound
    from crmcli.services import history as hist
    from crmcli.store.reader import Reader

    with st.write(kind="undo") as conn:
        reader = Reader.over(conn)
        change = reader.scalar("SELECT id FROM change_set WHERE batch_id = :b", {"b": batch})
        if change is None:
            raise NotFound(N_("no import batch {batch} (see: crm imports)"), batch=batch)
        try:
            p = hist.plan(reader, int(change), current=conn.info.get("change_set"))
        except CrmError as exc:
            if "already undone" in str(exc):
                at = reader.scalar("SELECT undone_at FROM import_batch WHERE id = :b", {"b": batch})
                raise CrmError(N_("import batch {batch} was already undone at {at}"), batch=batch, at=at) from None
            raise
        out = hist.apply(conn, p, force=force)
        out.pop("undo", None)
        out.pop("change", None)
        out.pop("undone_rows", None)
    if fmt == "json":
        render.print_json(out)
        return
    n_deals = out.get("deleted_deals") or 0
    deals = ngettext(", {n} opportunity", ", {n} opportunities", n_deals).format(n=n_deals) if n_deals else ""
    msg = (
        _("Undid import batch {batch}: deleted {deleted_customers} customer(s){deals} and {deleted_follow_ups} follow-up(s), restored {restored_customers} customer(s)").format(batch=batch, deleted_customers=out['deleted_customers'], deals=deals, deleted_follow_ups=out['deleted_follow_ups'], restored_customers=out['restored_customers'])
    )
    typer.echo(msg)
    if out["kept_later_edits"]:
        sys.stderr.write(_("note: fields edited after the import were kept: {fields}").format(fields=", ".join(out["kept_later_edits"][:20])) + "\n")
