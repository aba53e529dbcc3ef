"""Writing: a chunk's rows go to the database in a writer thread while the next chunk is parsed.

The statements (SQL with ``?`` marks and their rows: the store's bulk jobs) are written by the
store's bulk writer for the database (``store.bulk_writer``), inside the import's transaction: on
SQLite as multi-row INSERTs (never per-row ORM), during each of which sqlite3 releases the GIL, so
the index maintenance of 100k rows overlaps with the parsing. What is left in the writer holding the GIL is binding
values, so an INSERT leaves out the columns that are NULL in the whole chunk
(``_bound_columns``), and while an import runs the GIL switch interval is 1 ms
(``_SWITCH_INTERVAL``) so the writer gets the GIL back as soon as an INSERT ends.
"""

from __future__ import annotations

import json
import operator
import sys
from typing import TYPE_CHECKING, Any

from crmcli.services.importer.fieldsets import INSERT_COLUMNS

if TYPE_CHECKING:
    from concurrent.futures import Future

    from sqlalchemy.engine import Connection

Job = tuple[str, list[tuple[Any, ...]]]  # a statement and the rows of parameters it runs with

_insert_row = operator.itemgetter(*INSERT_COLUMNS)
_FOLLOW_UP_COLUMNS = ("customer_id", "date", "method", "content", "feedback", '"by"', "next_date", "next_plan")
# Columns an INSERT may leave out when a chunk has no value for them: no default but NULL.
_NULL_DEFAULT = frozenset(INSERT_COLUMNS + _FOLLOW_UP_COLUMNS) - {"level", "stage", "phone_key"}


def _chunk_jobs(
    batch_id: int, *, created: list[dict[str, Any]], updates: dict[int, dict[str, Any]], tags: list[tuple[int, str]],
    tag_images: list[tuple[int, str]], follow_ups: list[tuple[Any, ...]], stage_changes: list[tuple[Any, ...]],
    deals: list[tuple[Any, ...]], custom: list[tuple[int, str, str]] = (),  # type: ignore[assignment]
    custom_images: list[tuple[int, str, str | None, str]] = (),  # type: ignore[assignment]
    phones: list[tuple[int, str]] = (),  # type: ignore[assignment]
    phone_images: list[tuple[int, str]] = (),  # type: ignore[assignment]
) -> list[Job]:  # fmt: skip
    """One chunk's statements: its new customers (every INSERT column), the changes to existing
    ones, their tags (and, for undo, the tags added to existing customers), follow-ups, stage
    changes and deals."""
    jobs: list[Job] = []
    ex = jobs.append
    if created:
        names, values = _bound_columns(INSERT_COLUMNS, list(map(_insert_row, created)))
        ex((f"INSERT INTO customer ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values))
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for cid, changes in updates.items():
        keys = tuple(sorted(changes))
        groups.setdefault(keys, []).append((*(changes[k] for k in keys), cid))
    for keys, params in groups.items():
        ex((f"UPDATE customer SET {', '.join(f'{k} = ?' for k in keys)} WHERE id = ?", params))
    if tags:
        ex(("INSERT INTO tag (customer_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", tags))
    if tag_images:
        ex((
            "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'tag', ?, ?)",
            [(batch_id, cid, json.dumps({"name": t}, ensure_ascii=False)) for cid, t in tag_images],
        ))  # fmt: skip
    if follow_ups:
        names, values = _bound_columns(_FOLLOW_UP_COLUMNS, follow_ups)
        ex((
            f"INSERT INTO follow_up ({', '.join(names)}, batch_id) "
            f"VALUES ({', '.join('?' * len(names))}, {int(batch_id)})",  # the batch id is ours: an int literal
            values,
        ))  # fmt: skip
    if stage_changes:
        ex((
            'INSERT INTO stage_change (customer_id, from_stage, to_stage, date, "by", reason, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
            stage_changes,
        ))  # fmt: skip
    if deals:  # won opportunities (spec §13): (customer, amount, date, by, batch, code, owner, closed on)
        ex((
            'INSERT INTO deal (customer_id, amount, date, "by", batch_id, code, owner, closed_at, stage, probability) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'won', 100)",
            deals,
        ))  # fmt: skip
    if phones:
        ex(("INSERT INTO customer_phone (customer_id, phone_key) VALUES (?, ?) ON CONFLICT DO NOTHING", phones))
    if phone_images:
        ex((
            "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'customer_phone', ?, ?)",
            [(batch_id, cid, json.dumps({"phone_key": k})) for cid, k in phone_images],
        ))  # fmt: skip
    if custom:
        ex((
            "INSERT INTO custom_value (customer_id, field_key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (customer_id, field_key) DO UPDATE SET value = excluded.value",
            custom,
        ))  # fmt: skip
    if custom_images:
        ex((
            "INSERT INTO batch_change (batch_id, table_name, row_id, before) VALUES (?, 'custom_value', ?, ?)",
            [(batch_id, cid, json.dumps({"key": k, "before": b, "after": a}, ensure_ascii=False)) for cid, k, b, a in custom_images],
        ))  # fmt: skip
    return jobs


def _bound_columns(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The columns and rows to INSERT without the columns that are NULL in every row.

    A workbook fills a dozen of the customer's 24 columns; the writer binds each value holding
    the GIL (~0.15 µs), so every value left out is parsing time for the other thread.
    """
    if not rows:
        return names, rows
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    keep = [j for j, (name, col) in enumerate(zip(names, cols, strict=True)) if name not in _NULL_DEFAULT or col.count(None) != n]
    if len(keep) == len(names):
        return names, rows
    return tuple(names[j] for j in keep), list(zip(*[cols[j] for j in keep], strict=True))


class _Writer:
    """The writer thread, for the length of a ``with`` block: ``submit`` hands it a chunk's
    statements (see ``_write``) and returns at once.

    The connection is used by one thread at a time: the caller waits for the writer (``wait``)
    before it touches the database itself, and ``submit`` waits for the chunk before.
    """

    def __init__(self, conn: Connection, rows_per_insert: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from crmcli import store

        self.dbapi = conn.connection.driver_connection
        self.write, self.prepare = store.bulk_writer(conn)
        self.rows_per_insert = rows_per_insert
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import-writer")
        self.pending: Future[None] | None = None

    def __enter__(self) -> _Writer:
        _SWITCH_INTERVAL.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        _SWITCH_INTERVAL.__exit__()
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)

    def submit(self, jobs: list[Job]) -> None:
        ready: Any = jobs if self.prepare is None else self.prepare(self.dbapi, jobs)
        self.wait()
        self.pending = self.pool.submit(self.write, self.dbapi, ready, self.rows_per_insert)

    def wait(self) -> None:
        """Until the chunk handed over last is written (its error, if it failed, raised here)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()


class _ShortSwitchInterval:
    """While any import runs, a 1 ms GIL switch interval instead of the default 5 ms.

    Each time an INSERT finishes (without the GIL) the writer thread needs the GIL back to
    bind the next one, and the parsing thread keeps it for up to the switch interval: at 1 ms
    the writer waits less, ~4% off a 100k-row import. The interval is the interpreter's, so
    imports running at once share one setting, and the last to finish puts the old one back.
    """

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.users = 0
        self.saved = 0.0

    def __enter__(self) -> None:
        with self.lock:
            if self.users == 0:
                self.saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.saved, 0.001))
            self.users += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                sys.setswitchinterval(self.saved)


_SWITCH_INTERVAL = _ShortSwitchInterval()
