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
from crmcli.io import columns, readers
from crmcli.services.importer.batches import list_batches, undo
from crmcli.services.importer.cells import CUSTOM
from crmcli.services.importer.options import ON_DUPLICATE, ImportOptions, ImportResult, Progress
from crmcli.services.importer.rejects import _header_cells, _Rejects, check_rejects_target, default_rejects_path
from crmcli.services.importer.run import _Redo, _Run

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


class _Opener:
    """Opens the file and finds its header in a thread, while the caller opens the database.

    Calamine parses the whole sheet when it is opened (1.4 s for 100k rows) and releases the GIL
    meanwhile, so importing SQLAlchemy and migrating a new database cost nothing extra.
    """

    def __init__(self, path: Path, opts: ImportOptions) -> None:
        import threading

        self.path, self.opts = path, opts
        self.kind = "customers"  # or "deals": an opportunity table (spec §13)
        self.table: readers.Table | None = None
        self.located: readers.Located | None = None
        self.error: BaseException | None = None
        # set once the file passed its pre-flight (or failed): opening the database then, not
        # before, leaves the GIL to the pre-flight's regex, and overlaps calamine instead
        self.checked = threading.Event()
        self.thread = threading.Thread(target=self._run, name="crm-import-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.table = readers.open_table(self.path, self.opts.sheet, checked=self.checked.set)
            from crmcli.services.importer import deal_rows

            table = self.opts.table
            if table == "deals" or (table is None and deal_rows.is_opportunity_table(readers.peek(self.table))):
                self.kind = "deals"
                self.located = readers.locate_header(self.table, deal_rows.parse_map(self.opts.map_specs), known=deal_rows.HEADERS)
            else:
                self.located = readers.locate_header(self.table, {**custom_headers(self.opts.custom), **self.opts.mapping})
        except BaseException as exc:  # handed to the caller by result()
            self.error = exc
        finally:
            self.checked.set()

    def result(self) -> tuple[readers.Table, readers.Located]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.table is not None and self.located is not None
        return self.table, self.located

    def close(self) -> None:
        self.thread.join()
        if self.table is not None:
            self.table.close()


def import_file(engine: Engine | Callable[[], Engine], path: Path, opts: ImportOptions, progress: Progress | None = None) -> ImportResult:
    """Import ``path`` in one transaction (rolled back for --dry-run and a failed --strict).

    ``engine`` may be a function that opens the database: it is then called while the file is
    being read.
    """
    from crmcli.store import sqlite as db

    if opts.on_duplicate not in ON_DUPLICATE:
        raise UsageError(f"--on-duplicate {opts.on_duplicate}: choose one of {', '.join(ON_DUPLICATE)}")
    opener = _Opener(path, opts)
    # The cyclic GC would walk the ever larger heap of an import again and again (10% of the
    # time at 100k rows) for nothing: what an import allocates is freed by reference counting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if not hasattr(engine, "connect"):
            opener.checked.wait()
            engine = engine()  # type: ignore[operator]
        table, located = opener.result()
        if opener.kind == "deals":  # an opportunity table (spec §13): its own import
            from crmcli.services.importer.deals import import_deals

            _deal_options(opts)
            return import_deals(engine, path, opts, located, progress)  # type: ignore[arg-type]
        if opts.value_maps or opts.date_order:
            # the customer import reads enum values and dates its own way for now (spec §12, issue 16)
            raise UsageError("--map-value and --date-order are read by opportunity tables (--table deals) for now; nothing was imported")
        header = located.header
        _check_header(header, opts.mapping, path)
        result = ImportResult(file=str(path), dry_run=opts.dry_run, sheet=table.sheet, encoding=table.encoding)
        result.header_row = located.header_row_number
        target = opts.rejects or default_rejects_path(path)
        check_rejects_target(target, path, getattr(getattr(engine, "url", None), "database", None))
        rejects = _Rejects(target, _header_cells(located), "拒绝原因" if opts.lang == "zh" else "reject_reason", from_csv=table.from_csv)
        set_aside: set[int] = set()
        try:
            with db.write_connection(engine) as conn:  # type: ignore[arg-type]
                batch_id = conn.exec_driver_sql(
                    "INSERT INTO import_batch (file, started_at, created, updated, skipped, rejected, follow_ups) VALUES (?, ?, 0, 0, 0, 0, 0)",
                    (str(path.resolve()), dt.datetime.now().astimezone().isoformat(timespec="seconds")),
                ).lastrowid
                assert batch_id is not None
                # the import is one change set of the change log (spec §18); its rows are logged by the batch
                conn.exec_driver_sql(
                    "INSERT INTO change_set (at, \"user\", command, kind, batch_id) VALUES (?, ?, ?, 'import', ?)",
                    (dt.datetime.now().astimezone().isoformat(timespec="seconds"), opts.user, opts.command, batch_id),
                )
                # 7 B-trees take random keys: a 64 MB page cache makes the inserts 2x faster
                conn.exec_driver_sql("PRAGMA cache_size=-65536")
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
                        opener.close()
                        opener = _Opener(path, opts)
                        table, located = opener.result()
                        result = ImportResult(file=str(path), dry_run=opts.dry_run, sheet=table.sheet, encoding=table.encoding)
                        result.header_row = located.header_row_number
                        rejects.discard()
                        continue
                    savepoint.commit()
                    break
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
                _columns_report(result, located.header, set_aside | run.failing)
                if 1 < run.first_new_id < run.next_id:  # new customers beside existing ones: likely duplicates?
                    result.likely_duplicates = _likely_duplicates(conn, range(run.first_new_id, run.next_id))
                if result.data_rows == 0:
                    raise CrmError(f"{path.name}: no data rows below the header (row {result.header_row})")
                if opts.strict and result.rejected:
                    result.strict_failed = True
                    raise _Rollback
                rejects.sync()  # before COMMIT: a disk too full for the rejects file fails the import
                if result.status == 1 or opts.dry_run:
                    raise _Rollback
                conn.exec_driver_sql(
                    "UPDATE import_batch SET created=?, updated=?, skipped=?, rejected=?, follow_ups=? WHERE id=?",
                    (result.created, result.updated, result.skipped, result.rejected, result.follow_ups, batch_id),
                )
                result.batch = batch_id
        except _Rollback:
            result.batch = None
        except BaseException:
            rejects.discard()
            raise
        try:
            result.rejects_file = rejects.finish()
        except CrmError as exc:  # after the commit: the batch stands, and the summary must say so
            rejects.discard()
            result.rejects_error = str(exc)
        return result
    finally:
        if gc_was_enabled:
            gc.enable()
        opener.close()


def _likely_duplicates(conn: Any, new_ids: range) -> list[str]:
    """New customers that look like existing ones (spec §14): a note each, never a refusal."""
    from crmcli.services import dupes
    from crmcli.store.reader import Reader

    pairs = dupes.find(Reader.over(conn), involving=new_ids)
    return [f"{p['b']} {p['b_name']} looks like {p['a']} {p['a_name']} ({', '.join(p['reasons'])}); crm merge can join them" for p in pairs]
def _deal_options(opts: ImportOptions) -> None:
    """The options of a customer table that an opportunity table has no use for are refused, not ignored."""
    given = [flag for flag, on in (("--keep-unknown", opts.keep_unknown), ("--source", opts.source), ("--reject-sensitive", opts.reject_sensitive)) if on]
    if given:
        raise UsageError(f"{', '.join(given)}: {'goes' if len(given) == 1 else 'go'} with a customer table, not an opportunity table")


def custom_headers(custom: Any) -> dict[str, str]:
    """Normalised header -> import field, for the custom fields: each is read by its key or label."""
    out: dict[str, str] = {}
    for f in custom:
        out.setdefault(columns.norm_header(f.zh), CUSTOM + f.key)
        out.setdefault(columns.norm_header(f.key), CUSTOM + f.key)
    return out


def _keep_unknown(conn: Any, header: columns.Header, opts: ImportOptions, kept: dict[str, Any], batch_id: int) -> ImportOptions:
    """Turn each unknown column into a text custom field (``--keep-unknown``), inside the import's
    transaction: a failed or undone import takes them back (``batch_change`` 'custom_field')."""
    import dataclasses
    import json

    from crmcli.services import custom_fields

    for col in header.columns:
        if col.field is not None or col.header not in header.unknown:
            continue
        field = kept.get(col.header)
        if field is None:
            field = custom_fields.add_for_header(conn, col.header)
            kept[col.header] = field
            conn.exec_driver_sql(
                "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'custom_field', 0, ?)",
                (batch_id, json.dumps({"key": field.key}, ensure_ascii=False)),
            )
        col.field = CUSTOM + field.key
    header.unknown = [h for h in header.unknown if h not in kept]
    new = [f for f in kept.values() if f.key not in {c.key for c in opts.custom}]
    return dataclasses.replace(opts, custom=(*opts.custom, *new)) if new else opts


def _check_header(header: columns.Header, mapping: dict[str, str], path: Path) -> None:
    present = {columns.norm_header(c.header) for c in header.columns}
    missing = [k for k in mapping if k not in present]
    if missing:
        raise UsageError(f"--map: {path.name} has no column named {', '.join(missing)} in its header")
    if not any(header.first(f) for f in ("name", "person", "first_name", "last_name")):
        found = ", ".join(c.header for c in header.columns if not c.header.startswith("column ")) or "none"
        raise readers.ReadError(
            f"{path.name}: no 客户名称 (name) column in the header row; columns found: {_shorten(found)}. "
            "Name the column with --map 'HEADER=name'"
        )


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _columns_report(result: ImportResult, header: columns.Header, set_aside: set[int]) -> None:
    result.unknown_columns = list(header.unknown) + result.unknown_columns
    unused = list(header.unused)
    for col in header.columns:
        if col.index in set_aside:
            unused.append(f"{col.header} (not a stage column: fewer than half of its values are stages)")
    result.unused_columns = unused
