"""Fuzzing: whatever text or bytes arrive, the parsers and readers fail only with the project's own error.

"Only the project's own error" means ``crmcli.errors.CrmError`` (ParseError, ReadError, UsageError
are subclasses): the CLI boundary turns it into one line on stderr and exit 1/2. Anything else
(IndexError, UnicodeDecodeError, csv.Error, a calamine panic, ...) would be a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli import normalize, vocab
from crmcli.errors import CrmError

TODAY = dt.date(2026, 11, 26)

# Text that looks like what people type into CRM cells, and text that does not.
cellish = st.text(alphabet="0123456789+-−()./:,; 年月日号转xX万亿元¥eETt分机#'\"=@*（）　\t\r\n", max_size=30)
anything = st.one_of(
    st.text(),
    cellish,
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.binary().map(lambda b: b.decode("gb18030", "replace")),
    st.binary().map(lambda b: b.decode("latin-1")),
    st.floats(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=40),
)


def only_own_errors(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except CrmError:
        return None
    # Any other exception propagates and fails the test, with Hypothesis' minimal example.


PARSERS: dict[str, Callable[[Any], Any]] = {
    "clean_text": normalize.clean_text,
    "name_key": normalize.name_key,
    "phone_key": normalize.phone_key,
    "clean_phone": normalize.clean_phone,
    "parse_money": normalize.parse_money,
    "parse_date": lambda v: normalize.parse_date(v, TODAY),
}


@settings(max_examples=400, deadline=None)
@given(anything)
def test_value_parsers_raise_only_crm_errors(value: object) -> None:
    for fn in PARSERS.values():
        only_own_errors(lambda fn=fn: fn(value))  # type: ignore[misc]
    assert isinstance(normalize.is_empty(value), bool)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), cellish))
def test_text_helpers_are_total(text: str) -> None:
    masked = normalize.mask_phone(text)
    assert "****" in masked
    assert isinstance(normalize.mask_email(text), str)
    assert normalize.looks_sensitive(text) in (None, "id_number", "bank_card")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(vocab.FIELDS)), st.one_of(st.text(), st.sampled_from([a for f in vocab.FIELDS for a in vocab.FIELDS[f]])))
def test_vocab_parse_raises_only_crm_errors(field: str, text: str) -> None:
    key = only_own_errors(lambda: vocab.parse(field, text))
    assert key is None or key in vocab.FIELDS[field]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.floats(), st.none(), st.integers()), max_size=12), st.lists(st.text(max_size=15), max_size=3))
def test_header_matcher_raises_only_crm_errors(cells: list[object], specs: list[str]) -> None:
    from crmcli.io import columns

    mapping = only_own_errors(lambda: columns.parse_map(specs)) or {}
    for cell in cells:
        columns.norm_header(cell)
        columns.field_of(cell)
    assert columns.score(cells, mapping) >= 0
    header = only_own_errors(lambda: columns.match(cells, mapping))
    if header is not None:
        assert header.width <= len(cells)


def _read_all(path: Path) -> list[list[object]] | None:
    """Open ``path`` like ``crm import`` does and read every row; None when refused with our error."""
    from crmcli.io import readers

    def go() -> list[list[object]]:
        table = readers.open_table(path)
        try:
            located = readers.locate_header(table, {})
            return [row for _, row in located.data]
        finally:
            table.close()

    return only_own_errors(go)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.text(max_size=200).map(lambda t: ("客户名称,联系电话\n" + t).encode("gb18030", "replace")),
        st.text(max_size=200).map(lambda t: ("\ufeff客户名称,联系电话\r\n" + t).encode("utf-8", "surrogatepass")),
        st.text(max_size=200).map(lambda t: ("客户名称\t联系电话\n" + t).encode("utf-16")),
        st.binary(max_size=300).map(lambda b: "客户名称,联系电话\n".encode() + b),
    ),
    st.sampled_from([".csv", ".tsv", ".txt", ".xlsx", ".xls", ".ods"]),
)
def test_csv_reader_raises_only_crm_errors(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"in{suffix}"
        path.write_bytes(data)
        _read_all(path)


def _zip_bytes(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/_rels/workbook.xml.rels", "content.xml"]),
        st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), st.just(b"<?xml version='1.0'?><workbook/>")),
        max_size=5,
    ),
    st.integers(min_value=0, max_value=400),
)
def test_workbook_reader_raises_only_crm_errors(parts: dict[str, bytes], cut: int) -> None:
    """Zips that claim to be workbooks, whole or truncated, are refused with our own error."""
    data = _zip_bytes(parts)
    with tempfile.TemporaryDirectory() as d:
        for blob in (data, data[: max(4, len(data) - cut)]):
            path = Path(d) / "book.xlsx"
            path.write_bytes(blob)
            _read_all(path)


# Cells a CSV file can carry (no NUL, which csv cannot round-trip; a cell is never only spaces here).
csv_cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(csv_cell, min_size=2, max_size=2), min_size=1, max_size=8), st.sampled_from(["utf-8-sig", "utf-8", "gb18030", "utf-16"]))
def test_csv_reader_returns_exactly_what_was_written(rows: list[list[str]], encoding: str) -> None:
    """A CSV written by Python's csv module (any encoding we accept) reads back cell for cell."""
    try:
        ("客户名称联系电话" + "".join(c for r in rows for c in r)).encode(encoding)
    except UnicodeEncodeError:
        return  # e.g. characters GB18030 cannot encode: not a file anyone can have
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["客户名称", "联系电话"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in.csv"
        path.write_bytes(buf.getvalue().encode(encoding))
        got = _read_all(path)
    assert got is not None
    expected = [r for r in rows if r != ["", ""]]
    got_rows = [[str(c) for c in r] for r in got if any(str(c) for c in r)]
    assert got_rows == [r for r in expected if any(r)]


@pytest.mark.parametrize("field", sorted(vocab.FIELDS))
def test_vocab_parse_accepts_every_documented_alias(field: str) -> None:
    for key in vocab.FIELDS[field]:
        assert vocab.parse(field, key) == key
        assert vocab.parse(field, vocab.ZH_LABELS[field][key]) == key
