"""Import commands: import (and import --undo), imports."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crmcli.cli._common import ROW_ID, state
from crmcli.cli.app import app
from crmcli.errors import CrmError, PartialImport, UsageError

BATCH_KEYS = ("batch", "file", "started_at", "created", "updated", "skipped", "rejected", "follow_ups", "undone_at")
LINE_KEYS = ("batch", "created", "updated", "skipped", "rejected", "follow_ups", "blank_rows")


@app.command(name="import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="Workbook (.xlsx .xlsm .xls .ods) or text (.csv .tsv).", show_default=False)] = None,
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
    table: Annotated[str | None, typer.Option("--table", help="customers|deals: what the rows are (default: the header row says).", show_default=False, metavar="TABLE")] = None,
    map_value: Annotated[list[str] | None, typer.Option("--map-value", help="FIELD:VALUE=KEY, e.g. stage:Engaging=intent (repeatable; opportunity tables).", show_default=False, metavar="FIELD:VALUE=KEY")] = None,
    date_order: Annotated[str | None, typer.Option("--date-order", help="ymd|dmy|mdy: how numeric dates are written (opportunity tables).", show_default=False, metavar="ORDER")] = None,
) -> None:
    """Import customers and follow-ups, or opportunities, from Excel or CSV (one batch, undoable).

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
            raise UsageError("--undo BATCH takes no FILE")
        _undo(st, undo, force, fmt)
        return
    if file is None:
        raise UsageError("missing FILE (or --undo BATCH)")
    if force:
        raise UsageError("--force goes with --undo")
    from crmcli import normalize
    from crmcli.io import columns
    from crmcli.services import importer
    from crmcli.services.importer.options import TABLES, parse_value_maps

    if table is not None:
        table = table.strip().lower()
        if table not in TABLES:
            raise UsageError(f"--table {table}: choose one of {', '.join(TABLES)} (followups, products and tickets: not yet)")
    if date_order is not None:
        date_order = date_order.strip().lower()
        if date_order not in normalize.DATE_ORDERS:
            raise UsageError(f"--date-order {date_order}: choose one of {', '.join(normalize.DATE_ORDERS)}")
    value_maps = parse_value_maps(map_value or [])
    custom: list[Any] = []
    if st.store.exists():  # its custom fields are read by their key or label (a new database has none)
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
    )
    with _Progress() as progress:
        # the database is opened while the file is read (in a thread)
        result = importer.import_file(lambda: st.store.engine, file, opts, progress)
    _print_result(result, fmt, st.settings.lang)
    if result.rejects_error:
        sys.stderr.write(f"warning: the import landed (batch {result.batch}) but its rejects file did not: {result.rejects_error}\n")
    status = result.status
    if status == 1:
        if result.strict_failed:
            msg = f"--strict: {result.rejected} row(s) rejected, nothing imported"
        else:
            msg = f"nothing imported: all {result.rejected} row(s) were rejected"
        if result.rejects_file:
            msg += f"; see {result.rejects_file}"
        raise CrmError(msg)
    if status:
        raise PartialImport(f"{result.rejected} row(s) rejected")


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


class _Progress:
    """A Rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from crmcli import render

        self.bar = Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=render.console(stderr=True), transient=True,
        )  # fmt: skip
        self.bar.__enter__()
        self.task = self.bar.add_task("import", total=None)
        return self.update

    def update(self, done: int, total: int | None) -> None:
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


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
        if result.sensitive:
            parts.append(f"sensitive={result.sensitive}")
        if result.tickets:
            parts.append(f"tickets={result.tickets}")
        if result.example_rows:
            parts.append(f"example_rows={result.example_rows}")
        if result.dry_run:
            parts.append("dry_run=1")
        sys.stdout.write(" ".join(parts) + "\n")
    else:
        _print_panel(result, lang)
    if result.unknown_columns:
        sys.stderr.write("note: unknown columns not imported: " + ", ".join(result.unknown_columns) + "\n")
    if result.unused_columns:
        sys.stderr.write("note: columns not used: " + ", ".join(result.unused_columns) + "\n")
    for line in result.likely_duplicates[:5]:
        sys.stderr.write(f"note: {line}\n")
    if len(result.likely_duplicates) > 5:
        sys.stderr.write(f"note: {len(result.likely_duplicates) - 5} more new customer(s) look like existing ones; crm dupes lists them\n")
    for u in result.unknown_values:
        sys.stderr.write(f"note: {u['rows']} row(s) with unknown {u['field']} '{u['value']}': {u['map_value']}\n")
    if result.new_fields and result.batch is not None:
        sys.stderr.write("note: new custom fields from unknown columns: " + ", ".join(result.new_fields) + "\n")
    if result.sensitive:
        # Where, never the number itself (seeds 003/004: 不得出现客户证件号码、银行卡号).
        sys.stderr.write(
            f"warning: {result.sensitive} row(s) hold what looks like an ID or bank card number, which "
            f"must not be stored: {'; '.join(result.sensitive_rows[:5])}; remove them, or import with --reject-sensitive\n"
        )


def _print_panel(result: Any, lang: str) -> None:
    from rich.table import Table

    from crmcli import render

    zh = lang == "zh"
    out = render.console()
    head = ("试运行 (未写入): " if zh else "Dry run (nothing written): ") if result.dry_run else ""
    batch = f"batch {result.batch}" if result.batch is not None else ("no batch" if not zh else "无批次")
    out.print(f"{head}{result.file} → {batch}")
    t = Table(show_header=False, box=None, padding=(0, 2))
    labels = {
        "created": "新建" if zh else "created",
        "updated": "更新" if zh else "updated",
        "skipped": "跳过 (重复)" if zh else "skipped (duplicates)",
        "rejected": "拒绝" if zh else "rejected",
        "follow_ups": "跟进记录" if zh else "follow-ups",
        "blank_rows": "空行" if zh else "blank rows",
    }
    if result.example_rows:
        labels["example_rows"] = "示例行 (已跳过)" if zh else "example rows (skipped)"
    for key, label in labels.items():
        t.add_row(label, str(getattr(result, key)))
    out.print(t)
    for rows, title in (
        (result.updated_rows, "更新 (前几条):" if zh else "Updated (first few):"),
        (result.skipped_rows, "跳过的重复行 (前几条):" if zh else "Duplicates skipped (first few):"),
    ):
        if rows:
            out.print(title)
            for line in rows[:10]:
                out.print(f"  {line}", markup=False)
    if result.rejected:
        out.print("拒绝原因 (前几条):" if zh else "Why rows were rejected (first few):")
        for reason in result.reasons[:10]:
            out.print(f"  {reason}", markup=False)
        if result.rejects_file:
            out.print(("已写入 " if zh else "Rejected rows written to ") + result.rejects_file + (" ; 修正后可再次导入" if zh else " (fix them and import that file)"), markup=False)


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
            raise NotFound(f"no import batch {batch} (see: crm imports)")
        try:
            p = hist.plan(reader, int(change), current=conn.info.get("change_set"))
        except CrmError as exc:
            if "already undone" in str(exc):
                at = reader.scalar("SELECT undone_at FROM import_batch WHERE id = :b", {"b": batch})
                raise CrmError(f"import batch {batch} was already undone at {at}") from None
            raise
        out = hist.apply(conn, p, force=force)
        out.pop("undo", None)
        out.pop("change", None)
        out.pop("undone_rows", None)
    if fmt == "json":
        render.print_json(out)
        return
    deals = f", {out['deleted_deals']} opportunit{'y' if out['deleted_deals'] == 1 else 'ies'}" if out.get("deleted_deals") else ""
    msg = (
        f"Undid import batch {batch}: deleted {out['deleted_customers']} customer(s){deals} and "
        f"{out['deleted_follow_ups']} follow-up(s), restored {out['restored_customers']} customer(s)"
    )
    typer.echo(msg)
    if out["kept_later_edits"]:
        sys.stderr.write("note: fields edited after the import were kept: " + ", ".join(out["kept_later_edits"][:20]) + "\n")
