"""The floors: for each command, the least work that produces the same output, as a ``python -c`` program.

A floor imports ``sqlite3`` and the standard library (nothing of ours; ``typer`` where the issue
counts it in the floor, the bare libraries -- calamine, openpyxl, pandas -- where the issue
names them), runs the **same SQL** our command runs, and writes the **same bytes** to stdout.

The SQL is not copied from the code: ``capture`` runs our command itself, in-process in a
subprocess, with ``Reader.cursor`` wrapped so that every statement and its parameters are
recorded; the floor replays the recorded statements in the same order. The benchmark then
checks, on one run of each side with stdout hashed, that the floor wrote our bytes
(``common.result`` flags a difference). Where a floor does not claim the same bytes (the
default table, which the floor writes as a plain join of the columns) its description says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ENV, ROOT

Call = tuple[str, dict[str, Any]]

_CAPTURE = r"""
import json, os, sys
from crmcli.store import reader as R
calls = []
_cursor = R.Reader.cursor
def cursor(self, sql, params=None):
    calls.append([self.dialect.sql(sql), dict(params or {})])
    return _cursor(self, sql, params)
R.Reader.cursor = cursor
from crmcli.cli import app
jobs = json.loads(sys.argv[1])
saved = os.dup(1)
done = []
for job in jobs:
    calls = []
    fd = os.open(job["out"] or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    sys.stdout.flush()
    os.dup2(fd, 1)
    os.close(fd)
    try:
        code = app(job["args"], prog_name="crm", standalone_mode=False) or 0
    except SystemExit as exc:
        code = exc.code or 0
    sys.stdout.flush()
    os.dup2(saved, 1)
    done.append({"calls": calls, "code": code})
with open(sys.argv[2], "w", encoding="utf-8") as fh:
    json.dump(done, fh)
"""


def capture(jobs: Sequence[tuple[Sequence[str], Path | None]]) -> list[list[Call]]:
    """Run each ``crm ARGS`` in one subprocess (stdout to ``out`` or /dev/null) and return, for each,
    the SQL statements it ran through the store's Reader, in order, with their parameters."""
    with tempfile.TemporaryDirectory(prefix="crm-bench-capture-") as tmp:
        dest = Path(tmp) / "calls.json"
        spec = [{"args": list(args), "out": str(out) if out else None} for args, out in jobs]
        subprocess.run(
            [sys.executable, "-c", _CAPTURE, json.dumps(spec), str(dest)],
            check=True, env={**os.environ, **ENV}, cwd=ROOT,
        )  # fmt: skip
        done = json.loads(dest.read_text(encoding="utf-8"))
    for (args, _), job in zip(jobs, done, strict=True):
        if job["code"] not in (0, None):
            raise RuntimeError(f"bench: crm {' '.join(args)} exited {job['code']} while its SQL was captured")
    return [[(sql, params) for sql, params in job["calls"]] for job in done]


# --------------------------------------------------------------------------- programs over SQL


def _replay(db: Path, calls: Sequence[Call], *, typer: bool, extra_imports: str = "") -> str:
    """The common head of a floor: imports, the connection, every statement but the last run
    and fetched, the last one's cursor in ``cur``."""
    if not calls:
        raise ValueError("no SQL captured")
    imports = "import sqlite3, sys" + (", typer" if typer else "") + (f", {extra_imports}" if extra_imports else "")
    return (
        f"{imports}\n"
        f"con = sqlite3.connect({str(db)!r})\n"
        f"calls = {list(calls)!r}\n"
        "for sql, params in calls[:-1]:\n"
        "    con.execute(sql, params).fetchall()\n"
        "cur = con.execute(*calls[-1])\n"
        "out = sys.stdout.buffer\n"
    )


def const(db: Path, calls: Sequence[Call], data: bytes, *, typer: bool = False) -> str:
    """Run the SQL, fetch every row, write ``data`` (our output, captured): for commands whose
    output is a few aggregated rows or one card, shaping them costs microseconds."""
    return _replay(db, calls, typer=typer) + f"cur.fetchall()\nout.write({data!r})\n"


def json_array(db: Path, calls: Sequence[Call], *, empty: bytes = b"[]\n", typer: bool = False) -> str:
    """The JSON objects the database built (the last statement's first column, UTF-8 bytes),
    one per line in an array: ``[\\n`` obj ``,\\n`` obj ... ``\\n]\\n``, as ``crm list --format json``."""
    return _replay(db, calls, typer=typer) + (
        "rows = cur.fetchmany(1000)\n"
        "if rows:\n"
        "    out.write(b'[\\n' + b',\\n'.join([r[0] for r in rows]))\n"
        "    while rows := cur.fetchmany(1000):\n"
        "        out.write(b',\\n' + b',\\n'.join([r[0] for r in rows]))\n"
        "    out.write(b'\\n]\\n')\n"
        "else:\n"
        f"    out.write({empty!r})\n"
    )


def rows_json(db: Path, calls: Sequence[Call], prefix: bytes, suffix: bytes) -> str:
    """A report whose rows the database encodes (the last column): the head, the rows, the tail."""
    return _replay(db, calls, typer=False) + (
        "rows = cur.fetchall()\n"
        f"out.write({prefix!r} + ',\\n    '.join([r[-1] for r in rows]).encode() + {suffix!r})\n"
    )


def csv_rows(db: Path, calls: Sequence[Call]) -> str:
    """``crm list --format csv``: the header (column names), then each row through the csv module
    with the three conversions our output has: tags joined with ';', archived as true/false, a
    whole amount (any REAL column of customer: amount, total_amount, opening_amount) without '.0'."""
    return _replay(db, calls, typer=False, extra_imports="csv") + (
        "names = [d[0] for d in cur.description]\n"
        "w = csv.writer(sys.stdout, lineterminator='\\n')\n"
        "w.writerow([n.removeprefix('field:') for n in names])\n"
        "t, a = names.index('tags'), names.index('archived')\n"
        "real = {r[1] for r in con.execute('PRAGMA table_info(customer)') if r[2].upper() in ('FLOAT', 'REAL')}\n"
        "money = [i for i, n in enumerate(names) if n in real]\n"
        "for row in cur:\n"
        "    row = list(row)\n"
        "    if row[t]:\n"
        "        row[t] = row[t].replace('\\x1f', ';')\n"
        "    row[a] = 'true' if row[a] else 'false'\n"
        "    for m in money:\n"
        "        if row[m] is not None and row[m].is_integer():\n"
        "            row[m] = int(row[m])\n"
        "    w.writerow(row)\n"
    )


def plain_join(db: Path, calls: Sequence[Call], keys: Sequence[str], *, typer: bool = False) -> str:
    """The default table's floor: the columns the table shows, joined with two spaces, one line a
    row (None as empty), after a header line of the keys. Not our bytes: no labels, no padding."""
    return _replay(db, calls, typer=typer) + (
        "names = [d[0] for d in cur.description]\n"
        f"keys = {list(keys)!r}\n"
        "idx = [names.index(k) for k in keys]\n"
        "out.write(('  '.join(keys) + '\\n').encode())\n"
        "while rows := cur.fetchmany(1000):\n"
        "    out.write(''.join('  '.join('' if r[i] is None else str(r[i]) for i in idx) + '\\n' for r in rows).encode())\n"
    )


def help_text(data: bytes) -> str:
    """``crm --help``'s floor: ``import typer``, then our help text written."""
    return f"import sys, typer\nsys.stdout.buffer.write({data!r})\n"


# --------------------------------------------------------------------------- export


def export_xlsx(db: Path, sheets: Sequence[tuple[str, Sequence[str], Call]]) -> str:
    """openpyxl's write-only mode: per sheet a header row then the rows of the same SQL, saved to argv[1]."""
    return (
        "import sqlite3, sys\n"
        "from openpyxl import Workbook\n"
        f"con = sqlite3.connect({str(db)!r})\n"
        "wb = Workbook(write_only=True)\n"
        f"for title, header, (sql, params) in {[(t, list(h), c) for t, h, c in sheets]!r}:\n"
        "    ws = wb.create_sheet(title)\n"
        "    ws.append(header)\n"
        "    for row in con.execute(sql, params):\n"
        "        ws.append(row)\n"
        "wb.save(sys.argv[1])\n"
    )


def export_csv(db: Path, header: Sequence[str], call: Call, text_columns: Sequence[int], prefixes: str) -> str:
    """csv.writer on a UTF-8-with-BOM file (argv[1]): the header, then the rows of the same SQL,
    with ours' one rule on values: a text cell starting with a formula character (``prefixes``)
    gets a leading quote (checked in the columns ours checks)."""
    return (
        "import csv, operator, sqlite3, sys\n"
        f"con = sqlite3.connect({str(db)!r})\n"
        f"P = {prefixes!r}\n"
        f"pick = operator.itemgetter(*{list(text_columns)!r})\n"
        "def safe(row):\n"
        "    for v in pick(row):\n"
        "        if v and v[0] in P:\n"
        "            return [(\"'\" + x if x.__class__ is str and x and x[0] in P else x) for x in row]\n"
        "    return row\n"
        "with open(sys.argv[1], 'w', newline='', encoding='utf-8-sig') as fh:\n"
        "    w = csv.writer(fh)\n"
        f"    w.writerow({list(header)!r})\n"
        f"    w.writerows(map(safe, con.execute(*{call!r})))\n"
    )


# --------------------------------------------------------------------------- import

# The seed-000 columns (bench/generate.py HEADERS) into our schema: each row's customer cells
# into `customer` (name and phone copied into the NOT NULL key columns), its follow-up cells into
# `follow_up`, both tables with every index and constraint of the real schema.
CUSTOMER_INSERT = (
    "INSERT INTO customer (code, name, name_key, phone, phone_key, contact, title, email, industry, source,"
    " stage, owner, need, created_at, last_follow_at, last_method, next_plan)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
CUSTOMER_CELLS = (0, 1, 1, 6, 6, 4, 5, 7, 2, 8, 3, 11, 9, 17, 18, 12, 16)
FOLLOW_UP_INSERT = 'INSERT INTO follow_up (customer_id, date, method, content, feedback, "by", next_plan) VALUES (?,?,?,?,?,?,?)'
FOLLOW_UP_CELLS = (10, 12, 13, 14, 11, 16)

_WRITE_ROWS = f"""
con = sqlite3.connect(sys.argv[2], isolation_level=None)
con.execute("BEGIN")
con.executemany({CUSTOMER_INSERT!r}, [[r[i] for i in {CUSTOMER_CELLS!r}] for r in rows])
con.executemany({FOLLOW_UP_INSERT!r}, [[n, *(r[i] for i in {FOLLOW_UP_CELLS!r})] for n, r in enumerate(rows, 1)])
con.execute("COMMIT")
con.close()
"""


def import_xlsx() -> str:
    """python-calamine reads the first sheet (argv[1]); the rows go into the database (argv[2])."""
    return (
        "import datetime as dt, sqlite3, sys\n"
        "from python_calamine import CalamineWorkbook\n"
        "sqlite3.register_adapter(dt.date, dt.date.isoformat)\n"
        "wb = CalamineWorkbook.from_path(sys.argv[1])\n"
        "rows = wb.get_sheet_by_index(0).to_python()[1:]\n" + _WRITE_ROWS
    )


def import_csv() -> str:
    """The csv module reads the file (argv[1], UTF-8 with BOM); the rows go into the database (argv[2])."""
    return (
        "import csv, sqlite3, sys\n"
        "with open(sys.argv[1], encoding='utf-8-sig', newline='') as fh:\n"
        "    rows = list(csv.reader(fh))[1:]\n" + _WRITE_ROWS
    )


def import_pandas() -> str:
    """pandas.read_csv (argv[1]) then DataFrame.to_sql into a new table of a new file (argv[2])."""
    return (
        "import sqlite3, sys\n"
        "import pandas as pd\n"
        "df = pd.read_csv(sys.argv[1])\n"
        "con = sqlite3.connect(sys.argv[2])\n"
        "df.to_sql('rows', con, index=False)\n"
        "con.commit()\n"
        "con.close()\n"
    )


def sqlite_transfer() -> str:
    """SQLite alone, no Python per row: the customers and follow-ups of a finished import (argv[1])
    copied into an empty database of our schema (argv[2]) by ``INSERT ... SELECT`` in one
    transaction, with the import's settings (WAL, ``synchronous=FULL``, foreign keys, 64 MB page
    cache) and at its most favourable: the change log's triggers and every index the import does
    not read dropped first and built again at the end. ``WHERE id > 0`` keeps SQLite from
    copying the finished records as they are (its transfer optimisation), which an import, whose
    rows are values, never can: this is the cost of building and storing the rows, the least any
    import into our schema pays, whatever reads the file."""
    return (
        "import sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[2], isolation_level=None)\n"
        "for p in ('journal_mode=WAL', 'synchronous=FULL', 'foreign_keys=ON', 'cache_size=-65536'):\n"
        "    con.execute('PRAGMA ' + p)\n"
        "con.execute('ATTACH ? AS src', (sys.argv[1],))\n"
        "con.execute('BEGIN IMMEDIATE')\n"
        "tables = ('customer', 'follow_up')\n"
        "built = con.execute(\"SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN (?, ?) AND sql IS NOT NULL \"\n"
        "                    \"AND (type = 'trigger' OR (type = 'index' AND name != 'ix_follow_up_customer'))\", tables).fetchall()\n"
        "for kind, name, _ in built:\n"
        "    con.execute(f'DROP {kind} \"{name}\"')\n"
        "con.execute('INSERT INTO import_batch SELECT * FROM src.import_batch')\n"
        "for t in tables:\n"
        "    con.execute(f'INSERT INTO {t} SELECT * FROM src.{t} WHERE id > 0')\n"
        "con.execute('PRAGMA cache_size=-2000')\n"
        "for _, _, sql in built:\n"
        "    con.execute(sql)\n"
        "con.execute('COMMIT')\n"
        "con.close()\n"
    )


# --------------------------------------------------------------------------- export + import

# What the round-trip floor inserts from each sheet it reads back: (sheet index, table, columns
# of the sheet's row in order, or None to skip the cell). The customer sheet's derived cells
# (next follow-up) and tags are not stored; the others go in as read, no checks, no mapping.
ROUNDTRIP_CUSTOMER_COLUMNS = (
    "code", "name", "contact", "title", "phone", "email", "industry", "source", "level", "stage", "owner", "need", None,
    "notes", "amount", "created_at", "last_follow_at", None, "other_phones", "wechat", "region", "address", "expected_close",
    "lost_reason", "orders", "total_amount", "last_order_at", None, "opening_orders", "opening_amount",
    "opening_last_order_at", "opening_products",
)  # fmt: skip


def roundtrip_xlsx(db: Path, sheets: Sequence[tuple[str, Sequence[str], Call]]) -> str:
    """The export floor (openpyxl write-only: the same SQL's rows, a sheet each, to argv[1]), then
    the import floor: python-calamine reads every sheet back and the rows go into a copy of an
    empty database (argv[2]) with one executemany per table -- customers (every stored column),
    follow-ups, stage changes and opportunities, their customer by code -- in one transaction."""
    cols = [c for c in ROUNDTRIP_CUSTOMER_COLUMNS if c]
    picks = [i for i, c in enumerate(ROUNDTRIP_CUSTOMER_COLUMNS) if c]
    return export_xlsx(db, sheets) + (
        "import datetime as dt\n"
        "from python_calamine import CalamineWorkbook\n"
        "sqlite3.register_adapter(dt.date, dt.date.isoformat)\n"
        "sqlite3.register_adapter(dt.datetime, lambda d: d.date().isoformat())\n"
        "book = CalamineWorkbook.from_path(sys.argv[1])\n"
        "data = [book.get_sheet_by_index(i).to_python()[1:] for i in range(len(book.sheet_names))]\n"
        "out = sqlite3.connect(sys.argv[2], isolation_level=None)\n"
        "out.execute('BEGIN')\n"
        f"picks = {picks!r}\n"
        "ids = {}\n"
        "rows = []\n"
        "for n, r in enumerate(data[0], 1):\n"
        "    ids[r[0]] = n\n"
        "    v = [r[i] if r[i] != '' else None for i in picks]\n"
        f"    for k in {[cols.index('orders'), cols.index('total_amount')]!r}:\n"
        "        v[k] = v[k] or 0\n"
        "    rows.append([n, v[0], v[1], v[1], v[4] or '', *v[2:]])\n"
        f"out.executemany('INSERT INTO customer (id, code, name, name_key, phone_key, {', '.join(cols[2:])}) "
        f"VALUES ({', '.join('?' * (len(cols) + 3))})', rows)\n"
        "out.executemany('INSERT INTO follow_up (customer_id, date, method, content, feedback, \"by\", next_date, next_plan) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [[ids[r[0]], *(x if x != '' else None for x in r[2:])] for r in data[1]])\n"
        "out.executemany('INSERT INTO stage_change (customer_id, date, from_stage, to_stage, \"by\", reason) "
        "VALUES (?, ?, ?, ?, ?, ?)', [[ids[r[0]], *(x if x != '' else None for x in r[2:7])] for r in data[2]])\n"
        "out.executemany('INSERT INTO deal (code, customer_id, name, stage, amount, probability, expected_close, owner, date, "
        "closed_at, \"by\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [[r[0], ids[r[1]], *(x if x != '' else None for x in "
        "(r[3], r[4], r[5] or 0, r[6] or 0, r[7], r[8], r[10], r[11], r[14]))] for r in data[3]])\n"
        "out.execute('COMMIT')\n"
        "out.close()\n"
    )
