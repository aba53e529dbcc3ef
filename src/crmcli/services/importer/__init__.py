"""Importing customers (and their follow-ups) from a spreadsheet; undoing an import (spec §9).

A file whose header row has an opportunity's own columns, or ``--table deals``, is an opportunity
table (spec §13): ``deals`` imports it, in the same transaction-and-batch way.

One import is one write transaction and one ``import_batch`` row. The file is opened (calamine
parses the whole sheet, 1.4 s per 100k rows, without the GIL) in a thread while the database
is opened (``import_file``, here). Rows then stream in chunks (``run``); each chunk is

1. parsed (``rows``, cells by ``cells``): cells -> values, or the row's reasons for rejection;
   one converter per column, memoised for the low-cardinality ones; the checks across columns
   -- required name and phone, codes, follow-ups, deals -- run over whole columns too, since
   after the sheet is read the import is bound by the GIL: Python time is what makes it fast
   or slow,
2. resolved (``identity``): identity (name key + phone key) and code -> id maps of every
   customer this import created or looked at, and, when the database had customers before,
   one query per chunk for the others whose phone key or code appears in the chunk,
3. applied in file order to a chunk-local view (new customers, updates, follow-ups, deals),
4. written by a writer thread with multi-row INSERTs on the raw sqlite3 connection (never
   per-row ORM) while the next chunk is parsed (``writing``).

Rows the import refuses go to the rejects file (``rejects``), with their reasons.

Identity (§3): a code the database already has names that customer when the row's name or
phone matches it; otherwise normalised name + phone decides. Within the file, later rows see
the customers earlier rows created.

Stage columns: the "at least half of the values are stages" rule (``stages``) needs the whole
column, which a stream only knows at the end. The import therefore assumes every candidate
column passes; when a column that fails the rule was actually used by some row, the work is
rolled back to a savepoint and done again with that column set aside. (Seed 000's 合作状态 is
never used when 客户类型 is filled, so the usual 100k-row sheet is read once.)

Codes for rows without one are handed out at the end, in file order (a placeholder ``~id``
holds the unique column meanwhile), so a code written further down the file is never taken by
an earlier code-less row.

Undo (``batches``): ``batch_change`` records what the batch created or changed; follow-ups,
stage changes and deals carry ``batch_id``.

The field lists (which converter reads a field, which customer columns are written) come from
the field registry (``fieldsets``); what a user asks and what they get back are ``options``.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.io import columns, readers
from crmcli.services.importer.batches import list_batches, undo
from crmcli.services.importer.cells import CUSTOM
from crmcli.services.importer.options import ON_DUPLICATE, ImportOptions, ImportResult, Progress
from crmcli.services.importer.rejects import _header_cells, _Rejects, check_rejects_target, default_rejects_path
from crmcli.services.importer.run import _Redo, _Run
from crmcli.services.importer.sheets import Opener, Sheet, custom_headers, open_sheet

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = [
    "ImportOptions",
    "ImportResult",
    "check_rejects_target",
    "custom_headers",
    "default_rejects_path",
    "import_file",
    "list_batches",
    "undo",
]


class _Rollback(Exception):
    """Raised inside the transaction to roll it back on purpose (dry run, --strict)."""


def import_file(engine: Engine | Callable[[], Engine], path: Path, opts: ImportOptions, progress: Progress | None = None) -> ImportResult:
    """Import ``path`` in one transaction (rolled back for --dry-run and a failed --strict): every
    sheet recognised (``sheets``), customers first, in one batch.

    ``engine`` may be a function that opens the database: it is then called while the file is
    being read.
    """
    from crmcli import store
    from crmcli.store import changelog
    from crmcli.store import sqlite as db

    if opts.on_duplicate not in ON_DUPLICATE:
        raise UsageError(N_("{on_duplicate} {value}: choose one of {choices}"), options=["on_duplicate"], value=opts.on_duplicate, choices=", ".join(ON_DUPLICATE))
    opener = Opener(path, opts)
    # The cyclic GC would walk the ever larger heap of an import again and again (10% of the
    # time at 100k rows) for nothing: what an import allocates is freed by reference counting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    rejects_files: list[_Rejects] = []
    try:
        if not hasattr(engine, "connect"):
            opener.checked.wait()
            engine = engine()  # type: ignore[operator]
        auto = opts.profile is None
        sheets, notes, opts = opener.result()
        _check_sheets(sheets, opts, path)
        db_file = getattr(getattr(engine, "url", None), "database", None)
        results: list[ImportResult] = []
        result = ImportResult(file=str(path))
        try:
            with db.write_connection(engine) as conn:  # type: ignore[arg-type]
                now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
                # the next number, not a sequence's: imports are one at a time (the import lock), and
                # a dry run or a failed import leaves no gap in the numbering, on either database
                batch_id = store.sql(
                    conn,
                    "INSERT INTO import_batch (id, file, started_at, created, updated, skipped, rejected, follow_ups) "
                    "VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM import_batch), :file, :at, 0, 0, 0, 0, 0) RETURNING id",
                    {"file": str(path.resolve()), "at": now},
                ).scalar()
                assert batch_id is not None
                # the import is one change set of the change log (spec §18); its rows are logged by the batch
                change_set = changelog.open_set(conn, user=opts.user, command=opts.command, kind="import", batch_id=batch_id)
                if any(s.kind == "fields" for s in sheets):
                    from crmcli.services.importer.field_rows import define

                    for s in sheets:
                        if s.kind == "fields":
                            defs, bad = s.defs
                            notes += define(conn, defs, bad, int(batch_id), {f.key for f in opts.custom})
                    sheets = [s for s in sheets if s.kind != "fields"]
                    if not sheets:
                        raise CrmError(N_("{name}: only custom field definitions, no customers or their records"), name=path.name)
                # a file that carries the stage history keeps each customer's stage as its customer sheet says
                keep_stages = any(s.kind == "stages" for s in sheets)
                for i, sheet in enumerate(sheets):
                    target = _rejects_target(path, opts, sheet, first=i == 0)
                    check_rejects_target(target, path, db_file)
                    rejects = _Rejects(target, _header_cells(sheet.located), _("reject_reason", opts.lang),
                                       from_csv=sheet.table.from_csv)  # fmt: skip
                    rejects_files.append(rejects)
                    res = _new_result(path, opts, sheet)
                    if sheet.kind == "customers":
                        res, opts = _customer_sheet(conn, path, sheet, opts, int(batch_id), res, rejects, progress)
                    elif sheet.kind == "deals":
                        from crmcli.services.importer.deals import run_deals

                        run_deals(conn, sheet.located, opts, int(batch_id), res, rejects, progress, keep_stages=keep_stages)
                    elif sheet.kind == "stages":
                        from crmcli.services.importer.stage_rows import StageRun

                        StageRun(conn, sheet.located, opts, int(batch_id), res, rejects, progress).execute()
                    else:
                        from crmcli.services.importer.keyed import KeyedRun

                        KeyedRun(conn, sheet.located, opts, int(batch_id), res, rejects, progress).execute()
                    if res.data_rows == 0:
                        why = _("no data rows below the header (row {row})").format(row=res.header_row)
                        if res.example_rows or res.summary_rows:
                            why += _("; skipped {examples} example and {summaries} totals/footer row(s)").format(
                                examples=res.example_rows, summaries=res.summary_rows
                            )
                        if len(sheets) == 1:
                            raise CrmError(N_("{name}: {why}"), name=path.name, why=why)
                        notes.append(_("sheet '{sheet}': {note}").format(sheet=sheet.name, note=why))
                    results.append(res)
                result = _merged(results, path, opts)
                result.notes = [*notes, *result.notes]
                result.profile, result.profile_auto = opts.profile, auto and opts.profile is not None
                if sheets[0].located.header_row_number:
                    from crmcli.services.importer.profiles import header_key

                    result.header_cells = header_key([c.header if not c.header.startswith("column ") else "" for c in sheets[0].located.header.columns])
                if opts.strict and result.rejected:
                    result.strict_failed = True
                    raise _Rollback
                for rejects in rejects_files:
                    rejects.sync()  # before COMMIT: a disk too full for the rejects file fails the import
                if result.status == 1 or opts.dry_run:
                    raise _Rollback
                store.sql(
                    conn,
                    "UPDATE import_batch SET created = :c, updated = :u, skipped = :s, rejected = :r, follow_ups = :f WHERE id = :b",
                    {"c": result.created, "u": result.updated, "s": result.skipped, "r": result.rejected, "f": result.follow_ups, "b": batch_id},
                )
                changelog.close_set(conn, change_set)  # numbered as it commits (store/pg_changelog)
                result.batch = batch_id
        except _Rollback:
            result.batch = None
        except BaseException:
            for rejects in rejects_files:
                rejects.discard()
            raise
        _finish_rejects(result, results, rejects_files)
        return result
    finally:
        if gc_was_enabled:
            gc.enable()
        opener.close()


def _check_sheets(sheets: list[Sheet], opts: ImportOptions, path: Path) -> None:
    """What each sheet needs before anything is written: --map names a column some sheet has; a
    customer sheet has a name column; an opportunity table a customer column."""
    from crmcli.services.importer.deals import check_header

    if opts.mapping:
        present = {columns.norm_header(c.header) for s in sheets if s.kind not in ("deals", "stages", "fields") for c in s.located.header.columns}
        missing = [k for k in opts.mapping if k not in present]
        if missing:
            raise UsageError(N_("{map}: {name} has no column named {missing} in its header"), options=["map"], name=path.name, missing=', '.join(missing))
    for s in sheets:
        if s.kind == "customers":
            _check_header(s.located.header, path)
        elif s.kind == "deals":
            if all(x.kind == "deals" for x in sheets):  # beside a customer sheet, they are that sheet's
                _deal_options(opts)
            check_header(s.located, path)


def _new_result(path: Path, opts: ImportOptions, sheet: Sheet) -> ImportResult:
    result = ImportResult(file=str(path), dry_run=opts.dry_run, sheet=sheet.table.sheet, encoding=sheet.table.encoding, table=sheet.kind)
    result.header_row = sheet.located.header_row_number
    return result


def _rejects_target(path: Path, opts: ImportOptions, sheet: Sheet, *, first: bool) -> Path:
    """The first sheet's rejects go to --rejects (or <input>.rejects.csv); another sheet's, whose
    columns differ, beside it with the sheet's name (<input>.<sheet>.rejects.csv)."""
    base = opts.rejects or default_rejects_path(path)
    if first:
        return base
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (sheet.name or "sheet"))
    return base.with_name(f"{path.name}.{safe}.rejects.csv") if opts.rejects is None else base.with_name(f"{base.stem}.{safe}{base.suffix}")


def _customer_sheet(
    conn: Any, path: Path, sheet: Sheet, opts: ImportOptions, batch_id: int, result: ImportResult, rejects: _Rejects,
    progress: Progress | None,
) -> tuple[ImportResult, ImportOptions]:  # fmt: skip
    """A customer sheet: done again with a stage column set aside when one that fails the half rule was used."""
    located = sheet.located
    _phone_note(result, located.header)
    set_aside: set[int] = set()
    # 7 B-trees take random keys: a 64 MB page cache makes the inserts 2x faster (SQLite)
    from crmcli import store

    store.bulk_cache(conn, True)
    kept: dict[str, Any] = {}  # --keep-unknown: header -> the custom field made of it
    while True:
        if opts.keep_unknown:
            opts = _keep_unknown(conn, located.header, opts, kept, batch_id)
            result.new_fields = [f"{f.zh} ({f.key})" for f in kept.values()]
        savepoint = conn.begin_nested()
        run = _Run(conn, located, opts, batch_id, result, rejects, progress, set_aside)
        try:
            run.execute()
        except _Redo as redo:
            savepoint.rollback()
            set_aside |= redo.failing
            sheet.table.close()
            again = open_sheet(path, opts, sheet.name if sheet.table.kind != "csv" else None, primary=sheet.primary)
            sheet.table, sheet.located = again.table, again.located
            located = again.located
            result = _new_result(path, opts, sheet)
            _phone_note(result, located.header)
            rejects.discard()
            continue
        savepoint.commit()
        break
    store.bulk_cache(conn, False)
    _columns_report(result, located.header, set_aside | run.failing)
    if 1 < run.first_new_id < run.next_id:  # new customers beside existing ones: likely duplicates?
        result.likely_duplicates = _likely_duplicates(conn, range(run.first_new_id, run.next_id))
    return result, opts


_SUMMED = ("created", "updated", "skipped", "rejected", "follow_ups", "deals", "stage_changes", "tickets", "blank_rows",
           "example_rows", "summary_rows", "data_rows", "sensitive", "products")  # fmt: skip
_SHEET_KEYS = ("created", "updated", "skipped", "rejected", "follow_ups", "deals", "stage_changes", "tickets", "example_rows", "summary_rows")


def _merged(results: list[ImportResult], path: Path, opts: ImportOptions) -> ImportResult:
    """One result for a workbook of several sheets: counts summed, lists named by their sheet, and
    each sheet's own counts under ``sheets``."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    out = ImportResult(file=str(path), dry_run=opts.dry_run, sheet=first.sheet, encoding=first.encoding, table=first.table)
    out.header_row = first.header_row
    for r in results:
        for key in _SUMMED:
            setattr(out, key, getattr(out, key) + getattr(r, key))
        tag = "" if r is first else f"sheet '{r.sheet}': "
        out.reasons += [tag + x for x in r.reasons]
        out.updated_rows += [tag + x for x in r.updated_rows]
        out.skipped_rows += [tag + x for x in r.skipped_rows]
        out.sensitive_rows += [tag + x for x in r.sensitive_rows]
        where = "" if r is first else f" (sheet '{r.sheet}')"
        out.unknown_columns += [x + where for x in r.unknown_columns]
        out.unused_columns += [x + where for x in r.unused_columns]
        out.notes += [x if r is first else _("sheet '{sheet}': {note}").format(sheet=r.sheet, note=x) for x in r.notes]
        out.likely_duplicates += r.likely_duplicates
        out.new_fields += r.new_fields
        out.stage_columns += r.stage_columns
        out.unknown_values += r.unknown_values
        out.sheets.append({"sheet": r.sheet, "table": r.table, **{k: getattr(r, k) for k in _SHEET_KEYS}})
    return out


def _finish_rejects(result: ImportResult, results: list[ImportResult], rejects_files: list[_Rejects]) -> None:
    """Put each sheet's rejects file in place (after the commit: the batch stands, and the summary must say so)."""
    for i, rejects in enumerate(rejects_files):
        if i >= len(results):  # a sheet that failed before its result
            rejects.discard()
            continue
        res = results[i]
        try:
            res.rejects_file = rejects.finish()
        except CrmError as exc:
            rejects.discard()
            result.rejects_error = str(exc)
        if i < len(result.sheets):
            result.sheets[i]["rejects_file"] = res.rejects_file
    if len(results) > 1:
        result.rejects_file = next((r.rejects_file for r in results if r.rejects_file), None)


def _likely_duplicates(conn: Any, new_ids: range) -> list[str]:
    """New customers that look like existing ones (spec §14): a note each, never a refusal."""
    from crmcli.services import dupes
    from crmcli.store.reader import Reader

    pairs = dupes.find(Reader.over(conn), involving=new_ids)
    return [_("{b} {b_name} looks like {a} {a_name} ({reasons}); crm merge can join them").format(b=p['b'], b_name=p['b_name'], a=p['a'], a_name=p['a_name'], reasons=', '.join(p['reasons'])) for p in pairs]
def _deal_options(opts: ImportOptions) -> None:
    """The options of a customer table that an opportunity table has no use for are refused, not ignored."""
    given = [option for option, on in (("keep_unknown", opts.keep_unknown), ("source", opts.source), ("reject_sensitive", opts.reject_sensitive)) if on]
    if given:
        named = ", ".join("{" + option + "}" for option in given)
        raise UsageError(N_("{named}: {value} with a customer table, not an opportunity table"), options=given, named=named, value='goes' if len(given) == 1 else 'go')


def _keep_unknown(conn: Any, header: columns.Header, opts: ImportOptions, kept: dict[str, Any], batch_id: int) -> ImportOptions:
    """Turn each unknown column into a text custom field (``--keep-unknown``), inside the import's
    transaction: a failed or undone import takes them back (``batch_change`` 'custom_field')."""
    import dataclasses
    import json

    from crmcli import store
    from crmcli.services import custom_fields

    for col in header.columns:
        if col.field is not None or col.header not in header.unknown:
            continue
        field = kept.get(col.header)
        if field is None:
            field = custom_fields.add_for_header(conn, col.header)
            kept[col.header] = field
            store.sql(
                conn, "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (:b, 'custom_field', 0, :k)",
                {"b": batch_id, "k": json.dumps({"key": field.key}, ensure_ascii=False)},
            )  # fmt: skip
        col.field = CUSTOM + field.key
    header.unknown = [h for h in header.unknown if h not in kept]
    new = [f for f in kept.values() if f.key not in {c.key for c in opts.custom}]
    return dataclasses.replace(opts, custom=(*opts.custom, *new)) if new else opts


def _check_header(header: columns.Header, path: Path) -> None:
    if not any(header.first(f) for f in ("name", "person", "first_name", "last_name")):
        found = ", ".join(c.header for c in header.columns if not c.header.startswith("column ")) or "none"
        raise readers.ReadError(N_("{name}: no 客户名称 (name) column in the header row; columns found: {found}. Name the column with {map} 'HEADER=name'"), options=["map"], name=path.name, found=_shorten(found))


def _phone_note(result: ImportResult, header: columns.Header) -> None:
    """A sheet without a phone column imports (spec §3): its customers are known by name alone."""
    if header.first("phone") is None and header.first("other_phones") is None:
        result.notes.append(_("the sheet has no phone column: its customers are identified by their names alone"))


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _columns_report(result: ImportResult, header: columns.Header, set_aside: set[int]) -> None:
    result.unknown_columns = list(header.unknown) + result.unknown_columns
    unused = list(header.unused)
    for col in header.columns:
        if col.index in set_aside:
            unused.append(
                _("{column} (not a stage column: fewer than half of its values are stages; --map '{column}=stage' reads it as one)").format(
                    column=col.header
                )
            )
    result.unused_columns = unused
