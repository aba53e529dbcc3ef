"""Hostile input refused before calamine or the csv module sees it (io/preflight.py and friends).

Every file goes through the real ``crm import`` in a process of its own, with its peak memory
read by os.wait4 (tests/reliability_support.py). The promise, for each: exit 1, exactly one
``Error:`` line naming the file and the limit it broke, under 300 MB, nothing written to the
database, nothing left beside the file. The files are built by tests/hostile_files.py in well
under a second; bench/bench_hostile.py runs the full-size ones (a 2 GB line, 910 MB of strings).

The measuring code is then checked against what it stands for: the cells calamine itself
finds (hypothesis over small sheets, with and without references), the lines a naive split
finds, and a file that is GBK throughout, which still reads as GB18030.
"""

from __future__ import annotations

import os
import re
import sqlite3
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile_files as H
from tests.reliability_support import Run, crm_run, crm_run_measured

RSS_LIMIT_MB = 300
NAMES = list(H.HOSTILE)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    d = tmp_path_factory.mktemp("preflight")
    return d, {name: build(d) for name, (build, _) in H.HOSTILE.items()}


@pytest.fixture(scope="module")
def outcomes(
    hostile: tuple[Path, dict[str, Path]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Run], Path, set[str]]:
    """Every hostile file through `crm import`, in parallel processes, all against one database."""
    d, files = hostile
    before = {p.name for p in d.iterdir()}
    db_dir = tmp_path_factory.mktemp("preflight_db")
    env = dict(os.environ, CRM_DB=str(db_dir / "crm.db"), CRM_CONFIG=str(db_dir / "crm.toml"))
    assert crm_run("init", env=env).returncode == 0  # the database exists before
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_measured, files[name], env) for name in NAMES}
        runs = {name: f.result() for name, f in futures.items()}
    left = {p.name for p in d.iterdir()} - before
    return runs, db_dir / "crm.db", left


def _measured(path: Path, env: dict[str, str]) -> Run:
    try:
        return crm_run_measured("import", str(path), env=env, timeout=60)
    except TimeoutError as exc:  # a failure of this file's case, not of all of them
        return Run(-1, "", str(exc), 60.0)


@pytest.mark.parametrize("name", NAMES)
def test_hostile_input_is_refused_cheaply(
    hostile: tuple[Path, dict[str, Path]], outcomes: tuple[dict[str, Run], Path, set[str]], name: str
) -> None:
    path, needle = hostile[1][name], H.HOSTILE[name][1]
    run = outcomes[0][name]
    assert run.returncode == 1, (name, run.returncode, run.stdout[-300:], run.stderr[-300:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.stderr[:500]
    assert path.name in lines[0] and needle in lines[0], lines[0]
    assert len(lines[0]) < 300, lines[0]  # never the hostile content itself
    assert run.peak_rss_mb < RSS_LIMIT_MB, f"{name}: peak RSS {run.peak_rss_mb:.0f} MB"


def test_hostile_input_wrote_nothing_and_left_nothing(outcomes: tuple[dict[str, Run], Path, set[str]]) -> None:
    _, db, left = outcomes
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM customer").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM import_batch").fetchone()[0] == 0
    finally:
        con.close()
    assert left == set(), left  # no rejects file, no temporary file


@pytest.mark.parametrize(("name", "make", "what"), [
    ("/dev/zero", lambda d: Path("/dev/zero"), "a character device"),
    ("a FIFO", H.fifo, "a FIFO"),
    ("a socket", H.socket_file, "a socket"),
    ("a directory", lambda d: d, "a directory"),
])  # fmt: skip
def test_only_regular_files_are_read(tmp_path: Path, name: str, make: object, what: str) -> None:
    """/dev/zero was read for ever, and a FIFO blocked the open: both end at once now."""
    path = make(tmp_path)  # type: ignore[operator]
    run = crm_run("import", str(path), timeout=30)
    assert run.returncode == 1, (name, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(path) in lines[0] and what in lines[0], run.stderr


def test_the_hostile_files_are_what_they_claim(hostile: tuple[Path, dict[str, Path]]) -> None:
    """Guard against tests that prove nothing: small files that would cost a lot."""
    files = hostile[1]
    assert files["xlsx: one cell at XFD1048576"].stat().st_size < 4000
    with zipfile.ZipFile(files["xlsx: shared strings at 70:1"]) as zf:
        info = zf.getinfo("xl/sharedStrings.xml")
    assert (
        info.file_size > 20 << 20 and 40 < info.file_size / info.compress_size < 100
    )  # under the zip-bomb check's 100:1
    assert files["ods: cells repeated over 16,384 columns"].stat().st_size < 4000
    raw = files["csv: UTF-8 with a GBK row"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gb18030")  # the trap: GB18030 reads anything


# --------------------------------------------------------------------------- limits that hold for real files


def test_the_cell_limit_fits_real_sheets_and_not_the_attack() -> None:
    from crmcli.io import sheet_area

    assert 100_000 * 30 <= sheet_area.SPARSE_AREA  # a 100k-row sheet needs no second look
    assert 1_048_576 * 20 <= sheet_area.MAX_AREA  # a full million-row sheet of 20 columns imports
    assert 2_000 * 16_384 > sheet_area.MAX_AREA  # 2,000 rows reaching XFD do not


def test_a_real_workbook_with_styled_empty_cells_far_out_still_imports(crm_env: Path, tmp_path: Path) -> None:
    """calamine skips empty cells, so a sheet formatted far beyond its data is not refused."""
    body = "".join(f'<row r="{r}"><c r="A{r}" s="1"/><c r="Z{r}" s="1"/></row>' for r in range(3, 300))
    body += '<row r="1048576"><c r="XFD1048576" s="1"/></row>'
    path = H.write_xlsx(tmp_path / "styled.xlsx", H.sheet_xml(body))
    run = crm_run("import", str(path))
    assert run.returncode == 0, run.stderr


def test_real_xls_and_xlsb_workbooks_still_import(crm_env: Path, tmp_path: Path) -> None:
    """The binary formats' checks read what calamine reads, and pass what it can hold."""
    xls = tmp_path / "ok.xls"
    xls.write_bytes(H.xls_bytes(H.XLS_OK, dimensions=(0, 2, 0, 2)))
    for path in (xls, H.write_xlsb(tmp_path / "ok.xlsb", H.XLS_OK)):
        run = crm_run("import", str(path), "--on-duplicate", "skip")
        assert run.returncode == 0, (path.name, run.stderr)


def test_real_gbk_and_utf8_files_still_import(crm_env: Path, tmp_path: Path) -> None:
    rows = ["客户名称,联系电话,所属行业,备注"] + [
        f"华东{i}号贸易有限公司,139{i:08d},零售业,客户对方案感兴趣，需要报价" for i in range(300)
    ]
    text = "\r\n".join(rows) + "\r\n"
    for encoding in ("gbk", "utf-8"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        run = crm_run("import", str(path), "--on-duplicate", "skip")
        assert run.returncode == 0, (encoding, run.stderr)


# --------------------------------------------------------------------------- the measuring code


def _calamine_span(path: Path) -> tuple[tuple[int, int], tuple[int, int]] | None:
    import python_calamine as pc

    wb = pc.CalamineWorkbook.from_path(str(path))
    try:
        ws = wb.get_sheet_by_name(wb.sheet_names[0])
        return None if ws.start is None else (tuple(ws.start), tuple(ws.end))  # type: ignore[return-value]
    finally:
        wb.close()


cell_xml = st.tuples(
    st.booleans(),  # written with r=
    st.integers(0, 30),  # column
    st.sampled_from(["<v>1</v>", "", "/"]),  # a value, empty, self-closing
    st.sampled_from(["", "x:"]),  # a namespace prefix
)
row_xml = st.tuples(st.one_of(st.none(), st.integers(1, 60)), st.lists(cell_xml, max_size=6), st.booleans())


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(row_xml, min_size=1, max_size=8))
def test_cells_are_placed_as_calamine_places_them(tmp_path: Path, rows: list) -> None:  # type: ignore[type-arg]
    """The exact reading agrees with calamine's own range, cells with or without r, rows with or
    without r, empty cells, prefixes; and the fast bounds are never inside it."""
    from crmcli.io import sheet_area, xml_cells

    body = ""
    for number, cells, closed in rows:
        attrs = f' r="{number}"' if number else ""
        if closed and not cells:
            body += f"<row{attrs}/>"
            continue
        body += f"<row{attrs}>"
        for with_r, col, value, prefix in cells:
            ref = f' r="{sheet_area.col_name(col)}{number or 1}"' if with_r else ""
            body += (
                f"<{prefix}c{ref}{value}>"
                if value == "/"
                else f"<{prefix}c{ref}>{value.replace('v>', prefix + 'v>')}</{prefix}c>"
            )
        body += "</row>"
    body = body.replace("<x:c", '<x:c xmlns:x="urn:x"', 1)
    xml = H.sheet_xml(body, header="")
    path = H.write_xlsx(tmp_path / "s.xlsx", xml)
    expected = _calamine_span(path)
    box = xml_cells.Exact("s.xlsx", "sheet").run(iter([xml]))
    got = None if box is None or box.r1 < 0 else ((box.r0, box.c0), (box.r1, box.c1))
    assert got == expected, (body, got, expected)
    fast = sheet_area.fast_bounds("s.xlsx", "sheet", iter([xml]))
    if fast is not None and expected is not None:
        assert fast[0] >= expected[1][0] and fast[1] >= expected[1][1]
        again = sheet_area.fast_bounds("s.xlsx", "sheet", iter([xml]), fixed=(fast[1], fast[3]))
        assert again is None or (fast[3] >= expected[1][0] and fast[1] >= expected[1][1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=1, max_size=5)),
        min_size=1,
        max_size=6,
    )
)
def test_ods_repeats_are_expanded_as_calamine_expands_them(tmp_path: Path, rows: list) -> None:  # type: ignore[type-arg]
    from crmcli.io import ods_area

    xml = ""
    for repeat, cells in rows:
        xml += f'<table:table-row table:number-rows-repeated="{repeat}">'
        for n, value in cells:
            kind = 'office:value-type="float" office:value="1" ' if value else ""
            xml += f'<table:table-cell {kind}table:number-columns-repeated="{n}"/>'
        xml += "</table:table-row>"
    path = H.write_ods(tmp_path / "t.ods", xml)
    content = (H.ODS_HEAD + xml + H.ODS_TAIL).encode()
    reader = ods_area._Ods("t.ods", 1 << 30)
    reader.run(iter([content]))
    table = reader.done[0]
    got = None if table.first_row is None else ((table.first_row, table.c0), (table.last_row - 1, table.c1))
    assert got == _calamine_span(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"a,b;c\td", b"x,", b"y"]),
            st.integers(0, 20_000),
            st.sampled_from([b"\n", b"\r\n", b"\r"]),
        ),
        max_size=12,
    )
)
def test_text_lines_are_measured_as_a_split_measures_them(
    tmp_path: Path, parts: list[tuple[bytes, int, bytes]]
) -> None:
    from crmcli.io import preflight

    data = b"".join(piece * n + end for piece, n, end in parts)
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    expected = None
    for i, line in enumerate(re.split(rb"\r\n|\r|\n", data), 1):
        if max(line.count(s) for s in (b",", b"\t", b";")) >= preflight.MAX_COLUMNS:
            expected = i
            break
    try:
        preflight.scan_text(path)
        got = None
    except preflight.ReadError as exc:
        m = re.search(r"line ([\d,]+):", str(exc))
        got = int(m.group(1).replace(",", "")) if m else -1
    assert got == expected


# Chinese text a GBK program writes (GB2312 hanzi, full-width punctuation, ASCII)
gbk_text = st.text(
    st.sampled_from(
        "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质民经济发展，。、；：？！“”（）0123456789ABCxyz "
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(gbk_text, min_size=1, max_size=5), min_size=1, max_size=30), st.integers(0, 29))
def test_gbk_files_are_not_taken_for_mixed_and_mixed_files_are(tmp_path: Path, rows: list[list[str]], bad: int) -> None:
    from crmcli.io import preflight

    lines = ["客户名称,联系电话"] + [",".join(cells) for cells in rows]
    path = tmp_path / "g.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    assert preflight.mixed_encoding(path) is None  # GBK throughout: GB18030 reads it
    data = [line.encode("utf-8") for line in lines]
    at = 1 + bad % len(rows)
    data[at] = lines[at].encode("gbk")
    path.write_bytes(b"\r\n".join(data))
    try:
        data[at].decode("utf-8")
    except UnicodeDecodeError:
        assert preflight.mixed_encoding(path) == at + 1  # UTF-8 Chinese (the header) and a GBK line
    else:
        assert preflight.mixed_encoding(path) is None  # that row was ASCII: UTF-8 throughout


def test_a_file_saying_utf8_names_its_first_line_that_is_not(tmp_path: Path) -> None:
    from crmcli.io import readers

    path = tmp_path / "bom.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + "客户名称,联系电话\r\nA公司,13800000001\r\n".encode() + "B公司,13800000002\r\n".encode("gbk")
    )
    with pytest.raises(readers.ReadError, match="UTF-8 BOM but line 3 is not valid UTF-8"):
        readers.detect_encoding(path)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2_000_000), st.integers(0, 3_000_000), st.sampled_from(["", "0", "00"]))
def test_the_fast_pattern_bounds_are_exact(bound: int, value: int, zeros: str) -> None:
    """A row number is within the pattern's bound exactly when it is not greater (leading zeros
    as calamine reads them); and column letters the same, in either case."""
    from crmcli.io import sheet_area

    rows = re.compile(sheet_area._num_le(bound) + rb"\Z")
    assert bool(rows.match(f'{zeros}{value}"'.encode())) == (1 <= value <= bound)
    col, other = bound % 16_384, value % 16_384
    letters = re.compile(sheet_area._letters_le(col) + rb"\Z")
    name = sheet_area.col_name(other)
    assert bool(letters.match(name.encode())) == bool(letters.match(name.lower().encode())) == (other <= col)
