"""An import's bulk writes on SQLite (``store.bulk_writer``): the statements, SQL with ``?``
marks and their rows, as the importer makes them (``services/importer/writing.py``)."""

from __future__ import annotations

from itertools import chain
from typing import Any

from crmcli.errors import CrmError
from crmcli.i18n import N_


def write_jobs(dbapi: Any, jobs: list[tuple[str, list[tuple[Any, ...]]]], rows_per_insert: int) -> None:
    """Run one chunk's statements on the raw sqlite3 connection (inside our transaction).

    INSERTs go as multi-row ``VALUES (...), (...), ...`` statements of up to ``rows_per_insert``
    rows (the run's chunk size): one sqlite3_step each, during which sqlite3 releases the GIL --
    so, run in the writer thread, the index maintenance of 100k rows overlaps with the parsing of
    the next chunk instead of waiting for the GIL after every row as executemany would.
    """
    import sqlite3

    cur = dbapi.cursor()
    try:
        for sql, params in jobs:
            head, sep, row = sql.partition(" VALUES ")
            row, on, tail = row.partition(" ON CONFLICT ")  # the upsert clause ends the statement once
            tail = on + tail
            if sep and head.startswith("INSERT") and len(params) > 1:
                width = len(params[0])
                size = max(1, min(rows_per_insert, 32000 // max(width, 1)))  # SQLite allows 32766 parameters
                for i in range(0, len(params), size):
                    part = params[i : i + size]
                    cur.execute(f"{head} VALUES {', '.join([row] * len(part))}{tail}", list(chain.from_iterable(part)))
            else:
                cur.executemany(sql, params)
    except sqlite3.IntegrityError as exc:
        raise CrmError(N_("the database refused the import ({exc}); nothing was written"), exc=exc) from None
    finally:
        cur.close()
