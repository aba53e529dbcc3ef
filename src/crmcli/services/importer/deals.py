"""Importing an opportunity table (spec §13): one transaction, one batch, undone like any import.

A sheet whose header has an opportunity's own columns (``deal_rows.is_opportunity_table``), or
any file with ``--table deals``, comes here from ``import_file`` (``run_deals``, inside the
import's transaction and batch). Each row is one opportunity:

* its customer is named by code (客户编号, Customer_ID), else by name (客户名称, Account): the
  normalised name of exactly one customer. A row naming no customer, or one that is not there,
  is rejected with that reason;
* its id (机会编号, Opportunity_ID) is kept as its code when it fits as one, else kept as
  ``external_id``; either names it again on a later import, so importing a file twice changes
  nothing and ``--on-duplicate update`` updates (a row without an id is the same opportunity as
  one of its customer with the same name, or when nameless the same opening day and amount);
  the same code under another customer is rejected as a conflict;
* its products are matched by normalised name and created on first use; its owner is its own
  (a sales agent per deal), else its customer's; a lost one may be worth 0.

Then the customers whose opportunities changed get the stage those give them (a stage change
of the batch, with the customer's old stage in ``batch_change`` for undo) and their purchase
history. Rows are parsed in chunks (``deal_rows``) and written at the end with ``executemany``:
an opportunity table has few columns, so reading it and the lookups are what cost.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from crmcli import store
from crmcli.errors import CrmError
from crmcli.i18n import N_
from crmcli.i18n import gettext as _
from crmcli.services.importer.deal_rows import DealParser, DealRow
from crmcli.services.importer.options import REASON_SAMPLES, ImportOptions, ImportResult, Progress
from crmcli.services.importer.rejects import _Rejects

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Connection

    from crmcli.io import readers

CHUNK = 2000
_FIELDS = ("name", "stage", "amount", "probability", "expected_close", "date", "closed_at", "owner", "lost_reason", "external_id")
_GIVEN = {"name": "name", "stage": "stage", "amount": "amount", "probability": "probability", "expected_close": "expected_close",
          "date": "created_at", "closed_at": "closed_at", "owner": "owner", "lost_reason": "lost_reason"}  # fmt: skip


def check_header(located: readers.Located, path: Path) -> None:
    """An opportunity table must name its customers (by code or by name)."""
    header = located.header
    if header.first("customer_code") is None and header.first("customer_name") is None:
        found = ", ".join(c.header for c in header.columns if not c.header.startswith("column ")) or "none"
        raise CrmError(N_("{name}: an opportunity table needs a customer column (客户编号 / Customer_ID, or 客户名称 / Account); columns found: {found}"), name=path.name, found=found)  # fmt: skip


def run_deals(conn: Connection, located: readers.Located, opts: ImportOptions, batch_id: int, result: ImportResult,
              rejects: _Rejects, progress: Progress | None = None, *, keep_stages: bool = False) -> None:  # fmt: skip
    """Import the opportunity table ``located`` inside the import's transaction and batch (``import_file``).

    ``keep_stages``: the file carries the customers' stage history (our export's 阶段变更 sheet), so
    their stages are the customer sheet's, not worked out again from the opportunities (spec §13)."""
    result.table = "deals"
    # the deal table's 5 indexes take random keys (codes, customers, dates): as for customers,
    # a 64 MB page cache makes 100k inserts about twice as fast
    from crmcli import store

    store.bulk_cache(conn, True)
    try:
        run = _DealRun(conn, located, opts, batch_id, result, rejects, progress)
        run.keep_stages = keep_stages
        run.execute()
    finally:
        store.bulk_cache(conn, False)
    result.unused_columns = list(located.header.unused)
    result.unknown_columns = list(located.header.unknown)


class _DealRun:
    keep_stages = False

    def __init__(self, conn: Connection, located: readers.Located, opts: ImportOptions, batch_id: int, result: ImportResult,
                 rejects: _Rejects, progress: Progress | None) -> None:  # fmt: skip
        from crmcli.services.products import Catalog

        self.conn, self.loc, self.opts, self.batch_id, self.res = conn, located, opts, batch_id, result
        self.rejects, self.progress = rejects, progress
        self.mode = opts.on_duplicate
        from crmcli.normalize import clean_text

        self.default_owner = clean_text(opts.owner) if opts.owner else None  # --owner: of rows that name none
        self.parser = DealParser(located.header, today=opts.today, from_csv=located.table.from_csv, value_maps=opts.value_maps,
                                 date_order=opts.date_order, probability=opts.probability)  # fmt: skip
        self.parser.track_given = self.mode == "update"
        self.catalog = Catalog(conn, batch_id)
        ex = _ex(conn)
        self.by_code: dict[str, tuple[int, str | None]] = {}
        self.by_key: dict[str, int] = {}  # name key -> customer id (-1: several customers)
        self.names: dict[int, tuple[str, str]] = {}
        by_name = "customer_name" in self.parser.idx
        for cid, code, name, key, owner in ex("SELECT id, code, name, name_key, owner FROM customer").all():
            self.by_code[code] = (cid, owner)
            self.names[cid] = (code, name)
            if by_name:
                self.by_key[key] = -1 if key in self.by_key else cid
        self.owner_of = {cid: owner for cid, owner in self.by_code.values()}
        # existing opportunities: code / external id / (customer, name) -> (id, customer)
        self.deals: dict[tuple[str, Any], tuple[int, int]] = {}
        for did, cid, code, ext in ex("SELECT id, customer_id, code, external_id FROM deal").all():
            self.deals[("code", code)] = (did, cid)
            if ext is not None:
                self.deals[("ext", ext)] = (did, cid)
        self.signed = False  # the existing ones' signatures are loaded when a row without an id needs them
        self.new: list[dict[str, Any]] = []  # opportunities to insert, in file order
        self.updates: dict[int, dict[str, Any]] = {}  # existing id -> fields to set
        self.line_updates: dict[int, list[tuple[int, float, float | None]]] = {}
        self.images: list[tuple[int, dict[str, Any]]] = []
        self.touched: set[int] = set()  # customers whose opportunities changed

    # -- rows

    def execute(self) -> None:
        res = self.res
        buffer: list[tuple[int, list[Any]]] = []
        total = self.loc.table.total_rows
        done = 0
        for rowno, row in self.loc.data:
            done += 1
            if all(c == "" or c is None for c in row):
                res.blank_rows += 1
                continue
            res.data_rows += 1
            buffer.append((rowno, row))
            if len(buffer) >= CHUNK:
                self._chunk(buffer)
                buffer = []
                if self.progress:
                    self.progress(done, total)
        if buffer:
            self._chunk(buffer)
        if self.progress:
            self.progress(done, done)
        self._unknown_values()
        self._write()

    def _chunk(self, items: list[tuple[int, list[Any]]]) -> None:
        for (rowno, row), (parsed, errors) in zip(items, self.parser.parse_chunk(items), strict=True):
            if parsed is None:
                self._reject(rowno, row, "; ".join(errors))
                continue
            why = self._one(parsed)
            if why is not None:
                self._reject(rowno, row, why)

    def _reject(self, rowno: int, row: list[Any], reason: str) -> None:
        self.res.rejected += 1
        if len(self.res.reasons) < REASON_SAMPLES:
            self.res.reasons.append(reason)
        self.rejects.add(row, reason)

    def _customer(self, r: DealRow) -> tuple[int | None, str | None]:
        """The customer a row names (by code, else by name), or why none."""
        where = self.parser.where
        if r.customer_code is not None:
            found = self.by_code.get(r.customer_code)
            if found is None:
                return None, _("{value}: no customer {customer_code} (import the customers first)").format(value=where('customer_code', r.rowno), customer_code=r.customer_code)
            return found[0], None
        assert r.customer is not None
        name, key = r.customer
        cid = self.by_key.get(key)
        if cid is None:
            return None, _("{value}: no customer named '{name}' (import the customers first)").format(value=where('customer_name', r.rowno), name=name)
        if cid == -1:
            return None, _("{value}: several customers are named '{name}'; name it by 客户编号 (Customer_ID)").format(value=where('customer_name', r.rowno), name=name)
        return cid, None

    def _one(self, r: DealRow) -> str | None:
        """Apply one row; the reason when it is rejected."""
        cid, why = self._customer(r)
        if cid is None:
            return why
        res = self.res
        key = ("code", r.code) if r.code else ("ext", r.external_id) if r.external_id else _sig(cid, r.name, r.created, r.amount)
        if key[0] == "sig" and not self.signed:
            self.signed = True
            for did, dcid, name, day, amount in store.sql(self.conn, "SELECT id, customer_id, name, date, amount FROM deal"):
                self.deals.setdefault(_sig(dcid, name, str(day), amount), (did, dcid))
        found = self.deals.get(key)
        if found is None:
            self.deals[key] = (-1 - len(self.new), cid)  # a negative id: the n-th new one
            self._create(cid, r)
            res.created += 1
            return None
        did, owner_cid = found
        label = r.code or r.external_id or r.name or f"row {r.rowno}"
        if owner_cid != cid:
            code, name = self.names.get(owner_cid, ("?", "?"))
            return _("{value}: opportunity {label} belongs to {code} {name}, not to this row's customer (a code conflict)").format(value=self.parser.where('code', r.rowno), label=label, code=code, name=name)
        if self.mode == "fail":
            return _("row {rowno}: duplicate of opportunity {label} (this import refuses duplicates)").format(rowno=r.rowno, label=label)
        changed = self._update(did, r) if self.mode == "update" else []
        if changed:
            res.updated += 1
            if len(res.updated_rows) < REASON_SAMPLES:
                res.updated_rows.append(_("row {rowno}: {label}: {changed}").format(rowno=r.rowno, label=label, changed=', '.join(changed)))
        else:
            res.skipped += 1
            if len(res.skipped_rows) < REASON_SAMPLES:
                res.skipped_rows.append(_("row {rowno}: {label} ({value})").format(rowno=r.rowno, label=label, value='nothing to change' if self.mode == 'update' else 'already there'))
        return None

    def _values(self, cid: int, r: DealRow) -> dict[str, Any]:
        return {
            "name": r.name, "stage": r.stage, "amount": r.amount if r.amount is not None else 0.0, "probability": r.probability,
            "expected_close": r.expected_close, "date": r.created, "closed_at": r.closed,
            "owner": r.owner or self.default_owner or self.owner_of.get(cid), "lost_reason": r.lost_reason, "external_id": r.external_id,
        }  # fmt: skip

    def _lines(self, r: DealRow) -> list[tuple[int, float, float | None]]:
        lines = []
        for line in r.lines or ():
            pid = self.catalog.id_of(line.product)
            price = line.unit_price
            if price is None and len(r.lines or ()) == 1 and r.amount:
                price = round(r.amount / line.quantity, 6)  # one product and the amount: its unit price
            lines.append((pid, line.quantity, price if price is not None else self.catalog.prices.get(pid)))
        return lines

    def _create(self, cid: int, r: DealRow) -> None:
        rec = self._values(cid, r)
        rec.update(customer_id=cid, code=r.code, lines=self._lines(r), by=r.by or self.opts.user)
        self.new.append(rec)
        self.touched.add(cid)

    def _update(self, did: int, r: DealRow) -> list[str]:
        """``--on-duplicate update``: the fields the row filled in overwrite (a new one of this file: its values)."""
        if did < 0:  # twice in this file: the later row's values
            rec = self.new[-1 - did]
            new = self._values(rec["customer_id"], r)
            changed = [k for k in _FIELDS if k in _GIVEN and _GIVEN[k] in r.given and rec.get(k) != new[k]]
            for k in changed:
                rec[k] = new[k]
            if r.lines is not None:
                rec["lines"] = self._lines(r)
            return changed
        ex = _ex(self.conn)
        row = ex(f"SELECT customer_id, {', '.join(_FIELDS)} FROM deal WHERE id = :id", {"id": did}).first()
        assert row is not None
        cur = dict(zip(_FIELDS, row[1:], strict=True))
        cur = {k: (str(v) if isinstance(v, dt.date) else v) for k, v in cur.items()}
        new = self._values(row[0], r)
        sets = {k: new[k] for k, src in _GIVEN.items() if src in r.given and _differs(cur[k], new[k])}
        if "stage" in sets:  # a new stage brings its probability and closing day unless the row gives them
            for k in ("probability", "closed_at", "lost_reason"):
                if _differs(cur[k], new[k]):
                    sets[k] = new[k]
        changed = list(sets)
        old_lines = None
        if r.lines is not None:
            lines = self._lines(r)
            old_lines = [tuple(x) for x in ex("SELECT product_id, quantity, unit_price FROM deal_line WHERE deal_id = :p0 ORDER BY id", {"p0": did})]
            if old_lines != lines:
                self.line_updates[did] = lines
                changed.append("products")
        if changed:
            self.updates.setdefault(did, {}).update(sets)
            image: dict[str, Any] = {"before": {k: cur[k] for k in sets}, "after": sets}
            if did in self.line_updates:
                image["lines"] = old_lines
            self.images.append((did, image))
            self.touched.add(row[0])
        return changed

    # -- the end: write, then what depends on the opportunities

    def _unknown_values(self) -> None:
        from crmcli.services.importer.options import unknown_values

        self.res.unknown_values = unknown_values({("stage", v): n for v, n in self.parser.unknown.items()})

    def _write(self) -> None:
        from crmcli.services import purchases
        from crmcli.store.codes import deal_codes
        from crmcli.store.sqlite import reserve_ids

        ex = _ex(self.conn)
        res = self.res
        res.products = self.catalog.created
        if self.new:
            first = reserve_ids(self.conn, "deal", len(self.new))
            codes = deal_codes(self.conn)
            taken = {rec["code"] for rec in self.new if rec["code"]}
            rows, lines = [], []
            for i, rec in enumerate(self.new):
                code = rec["code"]
                while code is None or (code in taken and code != rec["code"]):
                    code = codes.next(rec["date"])  # never one a later row of the file keeps
                rows.append((first + i, code, rec["customer_id"], rec["name"], rec["stage"], rec["amount"], rec["probability"],
                             rec["date"], rec["expected_close"], rec["closed_at"], rec["owner"], rec["lost_reason"],
                             rec["external_id"], rec["by"], self.batch_id))  # fmt: skip
                lines += [(first + i, pid, q, p) for pid, q, p in rec["lines"]]
            store.insert_rows(self.conn, "deal", ("id", "code", "customer_id", "name", "stage", "amount", "probability", "date",
                                                  "expected_close", "closed_at", "owner", "lost_reason", "external_id", '"by"', "batch_id"), rows)  # fmt: skip
            store.insert_rows(self.conn, "deal_line", _LINE, lines)
        res.deals = len(self.new)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for did, sets in self.updates.items():
            if sets:
                groups.setdefault(tuple(sorted(sets)), []).append({**sets, "id": did})
        for keys, params in groups.items():
            ex(f"UPDATE deal SET {', '.join(f'{k} = :{k}' for k in keys)} WHERE id = :id", params)
        for did, new_lines in self.line_updates.items():
            ex("DELETE FROM deal_line WHERE deal_id = :p0", {"p0": did})
            store.insert_rows(self.conn, "deal_line", _LINE, [(did, *x) for x in new_lines])
        if self.images:
            store.insert_rows(self.conn, "batch_change", ("batch_id", "table_name", "row_id", "before"),
                              [(self.batch_id, "deal", did, json.dumps(img, ensure_ascii=False)) for did, img in self.images])  # fmt: skip
        if self.touched:
            if not self.keep_stages:
                self._sync_stages(sorted(self.touched))
            purchases.refresh(self.conn, sorted(self.touched))

    def _sync_stages(self, ids: list[int]) -> None:
        """Each customer whose opportunities changed gets the stage they give it (spec §13), as a
        stage change of this batch dated by the opportunity that decided it; undo puts the old back."""
        from crmcli.services.opportunities import derived_stage

        ex = _ex(self.conn)
        today = self.opts.today.isoformat()
        # per customer and stage: the deciding day (first won, last lost, last opened) and its opportunity
        per_stage = ("SELECT customer_id, stage, CASE WHEN stage = 'won' THEN MIN(closed_at) WHEN stage = 'lost' THEN MAX(closed_at) "
                     "ELSE MAX(date) END, MAX(id), MAX(lost_reason) FROM deal {where} GROUP BY customer_id, stage")  # fmt: skip
        if 4 * len(ids) > len(self.names):  # most customers (a big file): one pass over the tables beats 900 at a time
            wanted = set(ids)
            found = [r for r in ex(per_stage.format(where="")).all() if r[0] in wanted]  # all(): one fetchall, not a fetchone a row
            current = {r[0]: (r[1], r[2]) for r in ex("SELECT id, stage, lost_reason FROM customer").all() if r[0] in wanted}
        else:
            found, current = [], {}
            for i in range(0, len(ids), 900):
                marks, part = store.in_list(ids[i : i + 900])
                found += ex(per_stage.format(where=f"WHERE customer_id IN ({marks})"), part).all()
                current.update({r[0]: (r[1], r[2]) for r in ex(f"SELECT id, stage, lost_reason FROM customer WHERE id IN ({marks})", part)})
        by_customer: dict[int, dict[str, tuple[str, int, str | None]]] = {}
        for cid, stage, day, did, reason in found:
            by_customer.setdefault(cid, {})[stage] = (min(str(day), today), did, reason)
        changes, updates, images = [], [], []
        for cid, stages in by_customer.items():
            target = derived_stage(set(stages))
            old, old_reason = current[cid]
            if target is None or target == old:
                continue
            day, did, reason = stages[target]
            reason = reason if target == "lost" else None
            changes.append((cid, old, target, day, self.opts.user, reason, self.batch_id, did))
            updates.append({"s": target, "r": reason, "id": cid})
            images.append((self.batch_id, "customer", cid, json.dumps({"before": {"stage": old, "lost_reason": old_reason},
                                                            "after": {"stage": target, "lost_reason": reason}}, ensure_ascii=False)))  # fmt: skip
        if changes:
            store.insert_rows(self.conn, "stage_change", ("customer_id", "from_stage", "to_stage", "date", '"by"', "reason", "batch_id", "deal_id"),
                              changes)  # fmt: skip
            ex("UPDATE customer SET stage = :s, lost_reason = :r WHERE id = :id", updates)
            store.insert_rows(self.conn, "batch_change", ("batch_id", "table_name", "row_id", "before"), images)
        self.res.stage_changes = len(changes)


_LINE = ("deal_id", "product_id", "quantity", "unit_price")


def _ex(conn: Any) -> Any:
    def ex(statement: str, params: Any = None) -> Any:
        return store.sql(conn, statement, params)

    return ex


def _sig(cid: int, name: str | None, day: str, amount: float | None) -> tuple[str, Any]:
    """What names an opportunity without an id: its customer and name, or nameless its opening day and amount."""
    if name:
        from crmcli.normalize import name_key

        return ("sig", (cid, name_key(name)))
    return ("sig", (cid, day, float(amount or 0)))


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) != float(new)
    return old != new

