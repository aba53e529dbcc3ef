"""The run of one import: the rows stream in chunks of ``CHUNK``, and each chunk is

1. parsed (``rows``),
2. resolved: which customer each row names (``identity``),
3. applied in file order to the chunk's view of its customers: new customers, updates (with
   their before/after images for undo), tags, follow-ups, stage changes, deals,
4. handed to the writer thread (``writing``), which inserts it while the next chunk is parsed.

At the end: the stage columns' verdicts (a used column that fails the half rule raises
``_Redo``), codes for the customers created without one, the undo records, and the follow-up
summaries of existing customers that got follow-ups.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections import Counter
from typing import TYPE_CHECKING, Any

from crmcli import normalize, store
from crmcli.i18n import gettext as _
from crmcli.io import columns, readers
from crmcli.services.importer.fieldsets import OPENING, UPDATE_FIELDS
from crmcli.services.importer.identity import _Known
from crmcli.services.importer.options import REASON_SAMPLES, ImportOptions, ImportResult, Progress
from crmcli.services.importer.rejects import _Rejects
from crmcli.services.importer.row_kinds import RowKinds
from crmcli.services.importer.row_text import _blank
from crmcli.services.importer.rows import _Parsed, _Parser
from crmcli.services.importer.writing import _chunk_jobs, _Writer
from crmcli.store.sqlite import reserve_ids

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

# what an import into an empty database reads while it writes: a customer's earlier follow-ups,
# when the file names it twice (_Known.records); every other index of the two tables is built at the end
READ_WHILE_LOADING = frozenset({"ix_follow_up_customer"})
CHUNK = 1000  # rows parsed, then written, at a time on SQLite (store.import_chunk: 1000-1333 measured best there)


class _Redo(Exception):
    """A stage column that fails the half rule gave rows their stage: the run is done again
    with the ``failing`` columns set aside."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing


class _Run:
    def __init__(self, conn: Connection, located: readers.Located, opts: ImportOptions, batch_id: int, result: ImportResult, rejects: _Rejects, progress: Progress | None, set_aside: set[int]) -> None:
        self.conn = conn
        self.loc = located
        self.opts = opts
        self.batch_id = batch_id
        self.res = result
        self.rejects = rejects
        self.progress = progress
        self.mode = opts.on_duplicate
        stage_cols = [c for c in located.header.stage_columns() if c.index not in set_aside]
        table = located.table
        self.parser = _Parser(
            located.header, opts, from_csv=table.from_csv, check_nul=table.has_nul, stage_cols=stage_cols
        )
        if table.kind == "xlsx":
            cache: list[set[tuple[int, int]]] = []

            def formula_cells() -> set[tuple[int, int]]:
                if not cache:
                    cache.append(readers.formula_cells(table.path, table.sheet) or set())
                return cache[0]

            self.parser.formula_cells = formula_cells
            self.parser.col_offset = table.col_offset
        # ids of the customers this import creates: handed out one by one in file order, so
        # they are exactly first_new_id .. next_id - 1 (undo's records are written from that)
        self.first_new_id = reserve_ids(conn, "customer", table.total_rows)
        self.next_id = self.first_new_id
        self.chunk = store.import_chunk(conn, CHUNK)
        self.images: dict[int, dict[str, dict[str, Any]]] = {}  # before/after of existing customers
        self.needs_refresh: set[int] = set()
        self.default_owner = normalize.clean_text(opts.owner) if opts.owner else None
        self.default_source = normalize.clean_text(opts.source) if opts.source else None
        self.user = opts.user
        self.today_iso = opts.today.isoformat()
        self.codeless: list[int] = []
        self.deal_codes: Any = None  # store.codes.deal_codes, once the file holds a deal
        self.needs_purchases: set[int] = set()  # customers whose opening balance or won deals changed
        self.has_opening = not OPENING.isdisjoint(self.parser.idx)
        self.refused: list[tuple[int, list[Any], str]] = []  # (row number, cells, reason) of this chunk
        self.failing: set[int] = set()
        self.kinds = RowKinds(located.header, records=opts.own_export)
        self.known = _Known(conn, had_customers=self.first_new_id > 1, code_header=self._hdr("code"), match_email=opts.match_email)
        from crmcli.services.importer.tickets import TicketColumns

        self.tickets = TicketColumns.of(
            located.header, today=opts.today, aliases=opts.ticket_aliases, user=opts.user,
            status_map=opts.value_maps.get("status"), date_order=opts.date_order,
        )  # fmt: skip
        self._reset_chunk()

    # -- chunk state

    def _reset_chunk(self) -> None:
        self.rows = self.known.new_chunk()  # the chunk's customers: id -> current values (DB form)
        self.new_ids: list[int] = []
        self.new_set: set[int] = set()
        self.updates: dict[int, dict[str, Any]] = {}
        self.tags_of: dict[int, set[str]] = {}
        self.new_tags: list[tuple[int, str]] = []
        self.tag_images: list[tuple[int, str]] = []
        self.fu_sigs: dict[int, set[tuple[Any, ...]]] = {}
        self.deal_sigs: dict[int, set[tuple[str, float]]] = {}
        self.follow_rows: list[tuple[Any, ...]] = []
        self.stage_rows: list[tuple[Any, ...]] = []
        self.deal_rows: list[tuple[Any, ...]] = []
        self.has_fu: set[int] = set()  # new customers of this chunk whose summary is filled in
        self.custom_rows: dict[tuple[int, str], str] = {}  # (customer, custom field) -> value to write
        self.phone_rows: list[tuple[int, str]] = []  # (customer, key) of other phones to write
        self.phone_images: list[tuple[int, str]] = []  # ... of those added to existing customers (undo)
        self.custom_images: list[tuple[int, str, str | None, str]] = []  # (customer, key, before, after) for undo
        self.custom_of: dict[int, dict[str, str]] = {}  # existing customers' custom values

    # -- main loop

    def execute(self) -> None:
        # into an empty database, the indexes nothing reads while the rows go in are built once
        # at the end, before _finish queries the rows (store.indexes_built_after)
        with store.indexes_built_after(self.conn, ("customer", "follow_up"), READ_WHILE_LOADING, when=not self.known.had_customers):
            with _Writer(self.conn, self.chunk) as self.writer:
                self._execute()
        self._finish()

    def _parse_and_process(self, buffer: list[tuple[int, list[Any]]]) -> None:
        if not buffer:
            return
        res = self.res
        chunk: list[_Parsed] = []
        for (rowno, row), (parsed, errors) in zip(buffer, self.parser.parse_chunk(buffer), strict=True):
            if parsed is None:
                self._reject(rowno, row, errors)
                continue
            if parsed.sensitive:
                res.sensitive += 1
                if len(res.sensitive_rows) < REASON_SAMPLES:
                    res.sensitive_rows.append(parsed.sensitive)
            chunk.append(parsed)
        if chunk:
            self._process(chunk)
        # in file order: rows refused while parsing and rows refused as duplicates or conflicts
        for _rowno, row, reason in sorted(self.refused, key=operator.itemgetter(0)):
            if len(self.res.reasons) < REASON_SAMPLES:
                self.res.reasons.append(reason)
            self.rejects.add(row, reason)
        self.refused.clear()

    def _execute(self) -> None:
        res = self.res
        blank_run = 0
        done = 0
        total = self.loc.table.total_rows
        if total is not None:
            total = max(total - self.loc.header_row_number, 0)
        buffer: list[tuple[int, list[Any]]] = []
        for rowno, row in self.loc.data:
            done += 1
            if _blank(row):
                blank_run += 1
                continue
            if blank_run:
                res.blank_rows += blank_run
                blank_run = 0
            res.data_rows += 1
            buffer.append((rowno, row))
            if len(buffer) >= self.chunk:
                self._parse_and_process(self._sorted(buffer))
                buffer = []
                if self.progress:
                    self.progress(done, total)
        if buffer:
            self._parse_and_process(self._sorted(buffer))
        if self.progress:
            self.progress(done, done)
        self.writer.wait()
        failing = self.failing = self.parser.stages.failing()
        if failing & self.parser.stages.used:
            raise _Redo(failing)

    def _sorted(self, buffer: list[tuple[int, list[Any]]]) -> list[tuple[int, list[Any]]]:
        """The rows of a chunk that are customers: totals, footers and examples are counted (spec §12)."""
        kept, examples, summaries, blanks = self.kinds.split(buffer)
        res = self.res
        res.example_rows += examples
        res.summary_rows += summaries
        res.blank_rows += blanks
        res.data_rows -= examples + summaries + blanks
        return kept

    def _reject(self, rowno: int, row: list[Any], errors: list[str]) -> None:
        """Count a rejected row; it goes to the rejects file when its chunk is done."""
        self.res.rejected += 1
        self.refused.append((rowno, row, "; ".join(errors)))

    # -- a chunk

    def _load(self, chunk: list[_Parsed]) -> None:
        """The customers the chunk may name, and what they already have."""
        self.known.load(chunk, self.writer.wait)
        if self.rows and self.mode == "update" and self.parser.custom_fields:
            self.writer.wait()  # earlier chunks' values are in the database
            ids = list(self.rows)
            for i in range(0, len(ids), 900):
                part = ids[i : i + 900]
                marks, params = store.in_list(part)
                for cid, key, value in store.sql(
                    self.conn, f"SELECT customer_id, field_key, value FROM custom_value WHERE customer_id IN ({marks})", params
                ):
                    self.custom_of.setdefault(cid, {})[key] = value
        if self.rows:
            self.fu_sigs, self.deal_sigs, self.tags_of = self.known.records(
                follow_ups=any(p.follow_ups for p in chunk),
                deals=any(p.deal for p in chunk),
                tags=self.mode == "update" and any(p.tags for p in chunk),
            )

    def _process(self, chunk: list[_Parsed]) -> None:
        self._load(chunk)
        res = self.res
        resolve = self.known.resolve
        tickets = self.tickets
        for p in chunk:
            ticket = None
            if tickets is not None:
                ticket, why = tickets.parse(p.rowno, p.row)
                if why:
                    self._reject(p.rowno, p.row, why)
                    continue
            target, conflict = resolve(p)
            if conflict is not None:
                self._reject(p.rowno, p.row, [conflict])
                continue
            if target is None:
                self._create(p)
                res.created += 1
                if tickets is not None:
                    tickets.add(self.next_id - 1, ticket)
                continue
            if tickets is not None and self.mode != "fail":
                tickets.add(target, ticket)
            if self.mode == "fail":
                o = self.rows[target]
                self._reject(
                    p.rowno, p.row,
                    [_("row {rowno}: duplicate of {target} {name} ({phone}) (same name and phone, or same code); this import refuses duplicates").format(rowno=p.rowno, target=self.known.code_of(target), name=o['name'], phone=o['phone'])],
                )  # fmt: skip
                continue
            changed = self._update(target, p) if self.mode == "update" else []
            if changed:
                res.updated += 1
                if len(res.updated_rows) < REASON_SAMPLES:
                    res.updated_rows.append(_("row {rowno}: {target} {name}: {changed}").format(rowno=p.rowno, target=self.known.code_of(target), name=self.rows[target]['name'], changed=', '.join(changed)))
            else:
                res.skipped += 1
                if len(res.skipped_rows) < REASON_SAMPLES:
                    note = "nothing to change" if self.mode == "update" else "already there"
                    res.skipped_rows.append(_("row {rowno}: {target} {name} ({note})").format(rowno=p.rowno, target=self.known.code_of(target), name=self.rows[target]['name'], note=note))
            self._events(target, p, new=False)
        self._flush()
        self._reset_chunk()

    def _hdr(self, fld: str) -> str:
        i = self.parser.idx.get(fld)
        return self.parser.names[i] if i is not None else fld

    def _create(self, p: _Parsed) -> None:
        cid = self.next_id
        self.next_id += 1
        rec = p.values  # every INSERT column (None for the cells the row left empty)
        rec["id"] = cid
        if p.code is None:
            rec["code"] = f"~{cid}"
            self.codeless.append(cid)
        else:
            rec["code"] = p.code
        if rec["level"] is None:
            rec["level"] = "normal"
        if rec["stage"] is None:
            rec["stage"] = "potential"
        if rec["owner"] is None:
            rec["owner"] = self.default_owner or p.owner_fallback or self.user
        if rec["source"] is None:
            rec["source"] = self.default_source
        if rec["created_at"] is None:
            rec["created_at"] = self.today_iso
        self.known.add(cid, rec, p.ident, p.code)
        self.new_ids.append(cid)
        self.new_set.add(cid)
        if p.tags:
            self.tags_of[cid] = set(p.tags)
            self.new_tags.extend((cid, t) for t in p.tags)
        rec["other_keys"] = set(p.other_keys)
        self.phone_rows.extend((cid, k) for k in p.other_keys)
        if p.custom:
            self.custom_of[cid] = dict(p.custom)
            for key, value in p.custom.items():
                self.custom_rows[(cid, key)] = value
        self._events(cid, p, new=True)

    def _update(self, cid: int, p: _Parsed) -> list[str]:
        """Apply a row to an existing customer (--on-duplicate update); return what changed."""
        cur = self.rows[cid]
        changes: dict[str, Any] = {}
        v = p.values
        added_keys = [k for k in p.other_keys if k != cur["phone_key"] and k not in cur.get("other_keys", ())]
        for fld in UPDATE_FIELDS:
            if fld == "code":
                new = p.code
            elif fld == "other_phones":
                new = _merged_phones(cur.get("other_phones"), v.get("other_phones"))
            else:
                new = v.get(fld)
            if new is None or cur.get(fld) == new:
                continue
            if fld == "amount" and cur.get(fld) is not None and float(cur[fld]) == float(new):
                continue
            changes[fld] = new
        if "code" in changes:
            taken = self.known.coded(changes["code"])
            if taken is not None and taken != cid:  # pragma: no cover - resolved before
                del changes["code"]
        if "name" in changes or "phone" in changes:
            changes["name_key"], changes["phone_key"] = v["name_key"], v["phone_key"]
            if cur["name_key"] == v["name_key"]:
                changes.pop("name_key")
            if cur["phone_key"] == v["phone_key"]:
                changes.pop("phone_key")
        if "stage" in changes:
            self.stage_rows.append((cid, cur["stage"], changes["stage"], p.event_date, self.user, None, self.batch_id))
            self.res.stage_changes += 1
        new_tags = [t for t in p.tags if t not in self.tags_of.setdefault(cid, set())]
        custom_changed = self._update_custom(cid, p.custom) if p.custom else []
        if added_keys:
            cur.setdefault("other_keys", set()).update(added_keys)
            self.phone_rows.extend((cid, k) for k in added_keys)
            if cid < self.first_new_id:
                self.phone_images.extend((cid, k) for k in added_keys)
        if not changes and not new_tags and not custom_changed:
            return []
        existing = cid < self.first_new_id
        if changes:
            if existing:
                image = self.images.setdefault(cid, {"before": {}, "after": {}})
                for fld, new in changes.items():
                    image["before"].setdefault(fld, cur.get(fld))
                    image["after"][fld] = new
            self.known.change(cid, changes)
            if cid not in self.new_set:  # a customer of this chunk is inserted with its final values
                self.updates.setdefault(cid, {}).update(changes)
        for t in new_tags:
            self.tags_of[cid].add(t)
            self.new_tags.append((cid, t))
            if existing:
                self.tag_images.append((cid, t))
        return [f for f in changes if f not in ("name_key", "phone_key")] + (["tags"] if new_tags else []) + custom_changed

    def _update_custom(self, cid: int, values: dict[str, str]) -> list[str]:
        """A row's custom values on an existing customer: the non-empty ones overwrite (undo keeps the old)."""
        current = self.custom_of.setdefault(cid, {})
        changed = []
        for key, value in values.items():
            old = current.get(key)
            if old == value:
                continue
            if cid < self.first_new_id:
                self.custom_images.append((cid, key, old, value))
            current[key] = value
            self.custom_rows[(cid, key)] = value
            changed.append(key)
        return changed

    def _events(self, cid: int, p: _Parsed, *, new: bool) -> None:
        if p.follow_ups:
            sigs = self.fu_sigs.get(cid)
            if sigs is None:
                sigs = self.fu_sigs[cid] = set()
            new_here = cid in self.new_set
            for fu in p.follow_ups:
                day, method, content, _feedback, _by, next_date, next_plan = fu
                sig = (day, method, content)
                if sig in sigs:
                    continue
                sigs.add(sig)
                self.follow_rows.append((cid, *fu))
                self.res.follow_ups += 1
                if new_here:
                    # inserted with this chunk: its summary columns are filled in directly
                    # (the latest follow-up: greatest date, ties to the later row, spec §6)
                    rec = self.rows[cid]
                    if cid not in self.has_fu or day >= rec["last_follow_at"]:
                        self.has_fu.add(cid)
                        rec["last_follow_at"] = day
                        rec["last_method"] = method
                        rec["next_date"] = next_date
                        rec["next_plan"] = next_plan
                else:
                    self.needs_refresh.add(cid)
        if p.deal:
            deal_sigs = self.deal_sigs.setdefault(cid, set())
            deal_sig = (p.deal[0], float(p.deal[1]))
            if deal_sig not in deal_sigs:
                deal_sigs.add(deal_sig)
                owner = self.rows[cid].get("owner")
                self.deal_rows.append((cid, p.deal[1], p.deal[0], self.user, self.batch_id, self._deal_code(p.deal[0]), owner, p.deal[0]))
                self.res.deals += 1
                self.needs_purchases.add(cid)
        if self.has_opening and any(p.values.get(k) is not None for k in OPENING):
            self.needs_purchases.add(cid)

    def _deal_code(self, day: str) -> str:
        """A won opportunity's code: O + YYYYMM + serial (the database is asked once per month)."""
        from crmcli.store.codes import deal_codes

        if self.deal_codes is None:
            self.deal_codes = deal_codes(self.conn)
        if "O" + day[:4] + day[5:7] not in self.deal_codes.last:
            self.writer.wait()  # the connection is the writer thread's while it runs
        return str(self.deal_codes.next(day))

    def _flush(self) -> None:
        jobs = _chunk_jobs(
            self.batch_id, created=[self.rows[c] for c in self.new_ids], updates=self.updates, tags=self.new_tags,
            tag_images=self.tag_images, follow_ups=self.follow_rows, stage_changes=self.stage_rows, deals=self.deal_rows,
            custom=[(cid, key, value) for (cid, key), value in self.custom_rows.items()], custom_images=self.custom_images,
            phones=self.phone_rows, phone_images=self.phone_images,
        )  # fmt: skip
        if jobs:
            self.writer.submit(jobs)

    def _finish(self) -> None:
        from crmcli.services.followups import refresh_summary
        from crmcli.store.codes import customer_codes

        def ex(statement: str, params: Any = None) -> Any:
            return store.sql(self.conn, statement, params)

        if self.next_id > self.first_new_id:
            # the customers this batch created, for undo: ids were handed out in one run
            # inside this write transaction, so they are exactly this range, and one row says
            # so (a row per customer cost 100k index entries and, on PostgreSQL, as many
            # foreign-key checks: a second of a 100k-row import)
            ex(
                "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (:p0, 'customers', :p1, :p2)",
                {"p0": self.batch_id, "p1": self.first_new_id, "p2": json.dumps({"until": self.next_id})},
            )
        if self.codeless:
            alloc = customer_codes(self.conn)
            params = []
            for i in range(0, len(self.codeless), 900):
                part = self.codeless[i : i + 900]
                marks, ids = store.in_list(part)
                rows = ex(f"SELECT id, created_at FROM customer WHERE id IN ({marks})", ids).all()
                created = {r[0]: r[1] for r in rows}
                for cid in part:
                    day = created[cid]
                    params.append({"code": alloc.next(day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))), "id": cid})
            ex("UPDATE customer SET code = :code WHERE id = :id", params)
        if self.images:
            ex(
                "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (:b, 'customer', :id, :img)",
                [{"b": self.batch_id, "id": cid, "img": json.dumps(img, ensure_ascii=False)} for cid, img in self.images.items()],
            )
        if self.needs_refresh:
            refresh_summary(self.conn, sorted(self.needs_refresh))
        if self.needs_purchases:
            from crmcli.services import purchases

            purchases.refresh(self.conn, sorted(self.needs_purchases))
        if self.tickets is not None:
            self.res.tickets = self.tickets.write(self.conn, self.batch_id)
        p = self.parser
        from crmcli.services.importer.options import unknown_values

        counts = p.unknown + p.stages.unknown + (self.tickets.unknown if self.tickets is not None else Counter())
        self.res.unknown_values = unknown_values(counts)
        self.res.stage_columns = p.stages.reported()
        for i in sorted(p.headerless_with_data):
            self.res.unknown_columns.append(f"column {columns.column_letter(i + self.loc.table.col_offset)} (no header)")


def _merged_phones(current: str | None, incoming: str | None) -> str | None:
    """A customer's other phones, as shown, with a row's added (none repeated)."""
    parts = [x for x in (current or "").split("; ") if x]
    for x in (incoming or "").split("; "):
        if x and x not in parts:
            parts.append(x)
    return "; ".join(parts) or None
