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
