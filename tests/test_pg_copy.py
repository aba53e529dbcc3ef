"""``db copy``'s COPY of text read as UTF-8 bytes (``store/pg_copy.raw_text``): the bytes on the
wire are exactly those of the same rows read as ``str``, whatever the text holds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli.store import pg_copy


def _copy_text(con: Any, rows: list[tuple[Any, ...]], *, raw: bool) -> bytes:
    from psycopg import Copy

    sink = pg_copy._Payload()  # keeps the bytes psycopg formats
    with con.cursor() as cur:
        if raw:
            pg_copy._bytes_as_text(cur)
        with Copy(cur, writer=sink) as cp:  # type: ignore[arg-type]
            for row in rows:
                cp.write_row(row)
    return b"".join(sink.parts)


# text as a file may hold it: COPY's specials (tab, newline, CR, backslash), CJK, emoji; no NUL,
# which PostgreSQL's text cannot hold either way
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30) | st.sampled_from(
    ["\t", "\n", "\r\n", "\\", "\\N", "a\tb\\c\nd", "电话沟通\t下周", ""]
)
_rows = st.lists(st.tuples(st.integers(-(2**40), 2**40), _text, st.none() | _text, st.floats(allow_nan=False) | st.none()), max_size=20)


@pytest.fixture(scope="module")
def con(pg_server: Any) -> Any:
    import psycopg

    if not pg_copy.raw_text():
        pytest.skip("psycopg without its C module: db copy reads text as str")
    with psycopg.connect(pg_server.libpq("postgres")) as c:
        yield c


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows)
def test_text_as_bytes_goes_into_copy_exactly_as_the_same_text_as_str(con: Any, rows: list[tuple[Any, ...]]) -> None:
    as_bytes = [tuple(v.encode() if isinstance(v, str) else v for v in row) for row in rows]
    assert _copy_text(con, as_bytes, raw=True) == _copy_text(con, rows, raw=False)


def test_only_the_copying_cursor_takes_bytes_as_text(con: Any) -> None:
    assert _copy_text(con, [(b"a\tb",)], raw=True) == b"a\\tb\n"
    # another cursor of the same connection still sends bytes as bytea
    assert _copy_text(con, [(b"a\tb",)], raw=False) == b"\\\\x610962\n"


# --------------------------------------------------------------------------- db copy, end to end

_AWKWARD = ["a\tb", "行一\n行二", "cr\rhere", "crlf\r\n", "C:\\价格\\新", "\\N", "\\.", "", " ", "电话沟通\t下周", "🙂\\t", "x" * 3000]
_AMOUNTS = [0.1, 1e-7, 123456789012.34, 1e15 + 0.5, 0.30000000000000004, 2.2250738585072014e-308, 1.7976931348623157e308, 5e-324, 80000.0, None]


def _awkward_file(crm: Any, path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose rows hold COPY's specials, NULLs beside empty strings, floats that a 15-digit
    text would change, booleans, CJK, and two owners to rename."""
    import sqlite3

    monkeypatch.setenv("CRM_DB", str(path))
    crm.ok("add", "甲公司", "--phone", "13800000001", "--owner", "王磊")
    con = sqlite3.connect(path)
    cols = [r[1] for r in con.execute("PRAGMA table_info(customer)")]
    first = dict(zip(cols, con.execute("SELECT * FROM customer").fetchone(), strict=True))
    for i in range(40):
        text, amount = _AWKWARD[i % len(_AWKWARD)], _AMOUNTS[i % len(_AMOUNTS)]
        row = {**first, "id": None, "code": f"C{i:05d}", "name": f"公司{i}{text}", "name_key": f"k{i}", "phone_key": f"p{i}",
               "owner": ("王磊", "李娜", None)[i % 3], "need": text, "notes": None if i % 2 else text, "amount": amount,
               "total_amount": float(i) / 3, "archived": i % 2, "contact": "" if i % 2 else None}  # fmt: skip
        cid = con.execute(f"INSERT INTO customer ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", list(row.values())).lastrowid
        for j in range(3):
            con.execute(
                'INSERT INTO follow_up (customer_id, date, method, content, feedback, "by", next_plan) VALUES (?, ?, ?, ?, ?, ?, ?)',
                (cid, "2026-11-20", "电话", _AWKWARD[(i + j) % len(_AWKWARD)], "" if j == 1 else None, "王磊", text or None),
            )
        con.execute(
            'INSERT INTO deal (customer_id, amount, date, "by", code, stage, probability, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            (cid, amount if amount is not None else 0.0, "2026-11-21", "李娜", f"D{i:05d}", "won", 1e-7 * i, ("王磊", "李娜")[i % 2]),
        )
    con.execute("UPDATE change_set SET user = '王磊'")  # the change log's users are renamed too
    con.commit()
    con.close()


def _tables(libpq: str, tables: Any) -> dict[str, list[tuple[Any, ...]]]:
    import psycopg

    with psycopg.connect(libpq) as con:
        out = {}
        for table in tables:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = 'public' "
                "ORDER BY ordinal_position", (table,)).fetchall()]  # fmt: skip
            out[table] = con.execute(f"SELECT {', '.join(pg_copy._q(c) for c in cols)} FROM {table} ORDER BY 1").fetchall()
        return out


def _plain_copy(libpq: str, path: Any, names: dict[str, str]) -> None:
    """What db copy must store, the plain way: each row read as str, renamed in Python and
    written with psycopg's write_row, one table after the other (triggers and keys off)."""
    import sqlite3

    import psycopg

    from crmcli.store.pg_team import POLICED

    src = sqlite3.connect(path)
    with psycopg.connect(libpq) as con, con.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        for table in POLICED:
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            renamed = [cols.index(c) for c in ("owner", "user") if c in cols]
            with cur.copy(f"COPY {table} ({', '.join(pg_copy._q(c) for c in cols)}) FROM STDIN") as cp:
                for row in src.execute(f"SELECT {', '.join(pg_copy._q(c) for c in cols)} FROM {table}"):
                    row = list(row)
                    for i in renamed:
                        row[i] = names.get(row[i], row[i])
                    cp.write_row(row)
    src.close()


def test_db_copy_stores_what_a_plain_copy_of_each_row_stores(
    crm: Any, pg_url: str, pg_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crmcli.store.pg_team import POLICED

    db = pg_server.current
    crm.ok("team", "init")
    names = {"王磊": f"wang_{db}", "李娜": f"li_{db}"}
    for name, login in names.items():
        crm.ok("team", "user", "add", login, "--name", name, "--role", "rep", "--team", "东")
    file_db = tmp_path / "awkward.db"
    _awkward_file(crm, file_db, monkeypatch)
    crm.ok("db", "copy", "--from", str(file_db), "--to", pg_url, *(f"--owner={n}={login}" for n, login in names.items()))
    plain = pg_server.new_database(pg_server.template)
    try:
        _plain_copy(pg_server.libpq(plain), file_db, names)
        ours, theirs = _tables(pg_server.libpq(db), POLICED), _tables(pg_server.libpq(plain), POLICED)
    finally:
        pg_server.drop_database(plain)
    assert len(ours["customer"]) == 41 and len(ours["follow_up"]) == 120 and len(ours["deal"]) == 40 and ours["change_set"]
    assert ours == theirs
    # and what the file holds, said without psycopg: the texts, the floats to the last bit, '' and NULL
    customers = {r[1]: r for r in ours["customer"]}  # by code
    for i in range(40):
        row = customers[f"C{i:05d}"]
        assert row[2] == f"公司{i}{_AWKWARD[i % len(_AWKWARD)]}" and row[15] == _AWKWARD[i % len(_AWKWARD)]
        assert row[20] == _AMOUNTS[i % len(_AMOUNTS)] and row[7] == ("" if i % 2 else None) and row[24] is bool(i % 2)
        assert row[14] == (names["王磊"], names["李娜"], None)[i % 3]
    assert {r[4] for r in ours["follow_up"]} == set(_AWKWARD)
    assert {r[2] for r in ours["change_set"]} == {names["王磊"]}
