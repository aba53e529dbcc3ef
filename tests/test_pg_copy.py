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
