"""The per-row shortcuts of the streamed table and csv (render.py) give what the plain definitions give."""

from __future__ import annotations

import datetime as dt
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli import render

TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ 019.,-:T客户跟进电话ＡＢ，。é\u0301\r\n\t") + ["😀"]), max_size=12)
VALUE = st.one_of(
    st.none(), TEXT, st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["potential", "won", "key", "phone", "2026-11-26T09:30:00+08:00", "2026-11-26"]),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)), st.lists(TEXT, max_size=3),
)  # fmt: skip
KEYS = ("name", "stage", "level", "last_method", "probability", "created_at", "at", "amount", "tags", "overdue_days")


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(KEYS), values=st.lists(VALUE, max_size=8), lang=st.sampled_from(["en", "zh"]))
def test_a_column_displays_each_value_as_display_does(key: str, values: list[object], lang: str) -> None:
    show = render.displayer(key, lang)
    assert [show(v) for v in values * 2] == [render.display(key, v, lang) for v in values * 2]  # twice: the cache


def reference_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


@given(TEXT)
def test_text_width_is_the_east_asian_width(text: str) -> None:
    assert render.text_width(text) == reference_width(text)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=5), right=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_plain_table_pads_by_display_columns(rows: list[tuple[str, ...]], right: tuple[bool, ...]) -> None:
    """Each cell padded to its column's widest (in display columns), line breaks shown as spaces."""
    cells = [[c.replace("\r", " ").replace("\n", " ") for c in row] for row in rows]
    widths = [max(reference_width(r[i]) for r in [["Code", "名称", "N"], *cells]) for i in range(3)]

    def line(values: list[str]) -> str:
        padded = [" " * (w - reference_width(v)) + v if r else v + " " * (w - reference_width(v)) for v, w, r in zip(values, widths, right, strict=True)]
        return (" " + "   ".join(padded)).rstrip()

    expected = [line(["Code", "名称", "N"]), "━" * (sum(widths) + 8), *(line(r) for r in cells)]
    assert render.plain_table(["Code", "名称", "N"], rows, right) == "\n".join(expected) + "\n"


@settings(max_examples=200, deadline=None)
@given(values=st.lists(VALUE, min_size=1, max_size=6), fmt=st.sampled_from(["csv", "tsv"]))
def test_csv_and_tsv_write_each_value_as_plain_does(values: list[object], fmt: str) -> None:
    import contextlib
    import csv
    import io

    keys = [f"k{i}" for i in range(len(values))]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        render.write_delimited([dict(zip(keys, values, strict=True))], keys, fmt)
    cells = [render.plain(v) for v in values]
    if fmt == "tsv":
        one_line = [c.replace("\t", " ").replace("\r", " ").replace("\n", " ") for c in cells]
        assert out.getvalue() == "\t".join(keys) + "\n" + "\t".join(one_line) + "\n"
        return
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows([keys, cells])
    assert out.getvalue() == expected.getvalue()


@settings(max_examples=200, deadline=None)
@given(
    first=st.lists(st.tuples(st.sampled_from(["重点客户", "key", "", "a\nb"]), TEXT), min_size=1, max_size=40),
    later=st.lists(st.tuples(st.sampled_from(["重点客户", "key", "", "a\nb", "新"]), TEXT), max_size=20),
    right=st.tuples(st.booleans(), st.booleans()),
)
def test_a_long_tables_later_rows_padded_from_its_first_rows_read_the_same(
    first: list[tuple[str, str]], later: list[tuple[str, str]], right: tuple[bool, bool]
) -> None:
    widths = [6, 5]
    repeats = render.padded_repeats(first, right, widths)
    assert repeats[0] is not None  # the first column repeats a few values: it is looked up
    assert render.plain_table(None, later, right, widths, repeats) == render.plain_table(None, later, right, widths)


WIDE_TEXT = st.text(alphabet=st.sampled_from(list("abc 019-客户跟进电话ＡＢ，。、\u3000é·\r\n") + ["😀"]), max_size=10)
COLUMN_VALUE = st.one_of(st.none(), WIDE_TEXT, st.integers(-10**6, 10**6), st.floats(allow_nan=False, width=32))
COLUMN_KEYS = ("name", "stage", "owner", "overdue_days", "amount", "last_follow_at", "probability")


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.sampled_from(COLUMN_KEYS), min_size=1, max_size=4),
    first=st.lists(st.lists(COLUMN_VALUE, min_size=4, max_size=4), min_size=1, max_size=30),
    later=st.lists(st.lists(COLUMN_VALUE, min_size=4, max_size=4), max_size=30),
    repeated=st.lists(st.sampled_from(["重点客户", "key", "张伟", None, "a\nb"]), min_size=30, max_size=30),
    lang=st.sampled_from(["en", "zh"]),
)
def test_a_long_tables_columns_padded_a_chunk_at_a_time_read_as_plain_table(
    keys: list[str], first: list[list[object]], later: list[list[object]], repeated: list[object], lang: str
) -> None:
    """streamed.PaddedColumns (a column at a time, in C where it can) writes what plain_table
    writes of the displayed cells, for the widths of the first rows, whatever comes later."""
    from crmcli.streamed import PaddedColumns

    n = len(keys)
    first = [row[:n] for row in first]
    later = [row[:n] for row in later] + [[v] * n for v in repeated]  # columns of a few repeated values
    shown = [render.displayer(k, lang) for k in keys]
    cells = [[show(v) for show, v in zip(shown, row, strict=True)] for row in first]
    right = [render._right_aligned(k) for k in keys]
    widths = render.plain_widths(keys, cells)
    as_text = [render._text_is_itself(k) and k != "probability" for k in keys]
    padded = PaddedColumns(shown, as_text, right, widths, first, cells)
    for rows in (first, later, [[v] * n for v in repeated]):
        expected = render.plain_table(None, [[show(v) for show, v in zip(shown, row, strict=True)] for row in rows], right, widths)
        assert padded.lines(rows) == expected


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(VALUE, min_size=4, max_size=4), min_size=1, max_size=5),
    fmt=st.sampled_from(["csv", "tsv"]),
    as_tuples=st.booleans(),
)
def test_csv_of_value_rows_converts_the_columns_it_is_told_as_plain_does(rows: list[list[object]], fmt: str, as_tuples: bool) -> None:
    """write_delimited_values converts only the columns given; the others hold text, whole numbers
    and None, which the csv module writes as plain() does."""
    import contextlib
    import io

    keys = ["a", "b", "c", "d"]
    text_only = [[v if v is None or v.__class__ in (str, int) else render.plain(v) for v in row[:2]] + row[2:] for row in rows]
    out, expected = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out):
        render.write_delimited_values([tuple(r) if as_tuples else list(r) for r in text_only], keys, fmt, [2, 3])
    with contextlib.redirect_stdout(expected):
        render.write_delimited([dict(zip(keys, r, strict=True)) for r in text_only], keys, fmt)
    assert out.getvalue() == expected.getvalue()


def test_the_wide_characters_a_long_table_counts_from_lengths_are_each_two_columns_and_three_bytes() -> None:
    """widths.ASCII_OR_WIDE: what streamed.PaddedColumns measures as (UTF-8 bytes + characters) / 2."""
    import re

    from crmcli.widths import ASCII_OR_WIDE

    matches = re.compile(ASCII_OR_WIDE).fullmatch
    wide = [chr(c) for c in range(0x80, 0x10000) if matches(chr(c))]
    assert len(wide) > 20_000  # the CJK ideographs at least
    assert all(reference_width(ch) == 2 and len(ch.encode()) == 3 for ch in wide)
    assert all(matches(chr(c)) for c in range(0x80))
