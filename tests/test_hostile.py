"""Spreadsheets from strangers: entity bombs, zip bombs, renamed and truncated files.

Each file goes through the real ``crm import`` in a process of its own, whose peak resident
memory is read with os.wait4. The promise: refused with one clear line and exit 1, under 300 MB,
nothing written. The bombs are built here with streaming zip writes, so the test stays light.
"""

from __future__ import annotations

import io
import os
import sqlite3
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pytest

from tests.reliability_support import Run, crm_run, crm_run_measured

RSS_LIMIT_MB = 300
SHEET = "xl/worksheets/sheet1.xml"
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c><c r="B1" t="inlineStr"><is><t>联系电话</t></is></c></row>'
).encode()


def workbook_parts() -> dict[str, bytes]:
    """The parts of a real (openpyxl) workbook with a header and one good row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "客户信息总表"
    ws.append(["客户名称", "联系电话"])
    ws.append(["A公司", "13800000001"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def sheet_xml(prolog: bytes, cell: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>' + prolog + b"<worksheet " + NS + b"><sheetData>" + HEADER_ROW
        + b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + cell + b'</t></is></c>'
        + b'<c r="B2" t="inlineStr"><is><t>13800000002</t></is></c></row></sheetData></worksheet>'
    )  # fmt: skip


def billion_laughs(levels: int = 10) -> bytes:
    """<!DOCTYPE> with lol9 -> 10 x lol8 -> ... : 10^9 'lol's if a parser expands it."""
    ents = [b'<!ENTITY lol0 "lollollollollollollollollollol">']
    for i in range(1, levels):
        ents.append(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10))
    return b"<!DOCTYPE worksheet [" + b"".join(ents) + b"]>"


def write_zip(path: Path, parts: dict[str, bytes], streamed: tuple[str, Callable[[IO[bytes]], None]] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, body in parts.items():
            if streamed and name == streamed[0]:
                with zf.open(name, "w", force_zip64=True) as fh:
                    streamed[1](fh)
            else:
                zf.writestr(name, body)
    return path


def repeated_cell(megabytes: int) -> Callable[[IO[bytes]], None]:
    """A sheet whose one cell is ``megabytes`` MB of 'A': deflate packs it about 1000:1."""

    def write(fh: IO[bytes]) -> None:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + NS + b"><sheetData>" + HEADER_ROW)
        fh.write(b'<row r="2"><c r="A2" t="inlineStr"><is><t>')
        chunk = b"A" * (1 << 20)
        for _ in range(megabytes):
            fh.write(chunk)
        fh.write(b'</t></is></c><c r="B2" t="inlineStr"><is><t>13800000002</t></is></c></row></sheetData></worksheet>')

    return write


def ods_bomb(path: Path, megabytes: int) -> Path:
    def write(fh: IO[bytes]) -> None:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body>')
        chunk = b" " * (1 << 20)
        for _ in range(megabytes):
            fh.write(chunk)
        fh.write(b"</office:body></office:document-content>")

    parts = {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b""}
    return write_zip(path, parts, ("content.xml", write))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """name -> (file, a word the one-line error must contain)."""
    d = tmp_path_factory.mktemp("hostile")
    parts = workbook_parts()
    files: dict[str, tuple[Path, str]] = {}
    files["billion laughs"] = (write_zip(d / "laughs.xlsx", {**parts, SHEET: sheet_xml(billion_laughs(), b"&lol9;")}), "DOCTYPE")
    laughs_ss = parts | {
        "xl/sharedStrings.xml": b'<?xml version="1.0"?>' + billion_laughs() + b"<sst " + NS + b' count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    }
    files["billion laughs in shared strings"] = (write_zip(d / "laughs_ss.xlsx", laughs_ss), "DOCTYPE")
    # The DOCTYPE after 200 kB of comment: past any prolog probe, calamine still must not expand it.
    padded = sheet_xml(b"<!--" + b"x" * 200_000 + b"-->" + billion_laughs(), b"&lol9;")
    files["billion laughs after a long comment"] = (write_zip(d / "laughs_padded.xlsx", {**parts, SHEET: padded}), "entity")
    xxe = sheet_xml(b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;")
    files["external entity"] = (write_zip(d / "xxe.xlsx", {**parts, SHEET: xxe}), "DOCTYPE")
    files["zip bomb 300 MB"] = (write_zip(d / "bomb.xlsx", parts, (SHEET, repeated_cell(300))), "zip bomb")
    files["zip bomb 60 MB"] = (write_zip(d / "bomb60.xlsx", parts, (SHEET, repeated_cell(60))), "zip bomb")
    files["ods zip bomb"] = (ods_bomb(d / "bomb.ods", 100), "zip bomb")
    png = d / "photo.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(5000))
    files["renamed non-zip"] = (png, "not an Excel workbook")
    real = write_zip(d / "real.xlsx", parts)
    truncated = d / "truncated.xlsx"
    data = real.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    files["truncated xlsx"] = (truncated, "damaged or incomplete")
    other_zip = write_zip(d / "archive.xlsx", {"readme.txt": b"hello"})
    files["zip that is not a workbook"] = (other_zip, "not an Excel")
    files["empty"] = (d / "empty.xlsx", "empty")
    files["empty"][0].write_bytes(b"")
    return files


def test_defusedxml_is_installed_and_openpyxl_uses_it() -> None:
    import defusedxml  # noqa: F401
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_the_bombs_really_are_bombs(hostile: dict[str, tuple[Path, str]]) -> None:
    """Guard against a test that proves nothing: the bomb files are small and inflate hugely."""
    path = hostile["zip bomb 300 MB"][0]
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(SHEET)
    assert path.stat().st_size < 2_000_000 and info.file_size > 300_000_000 and info.file_size / info.compress_size > 500


NAMES = [
    "billion laughs",
    "billion laughs in shared strings",
    "billion laughs after a long comment",
    "external entity",
    "zip bomb 300 MB",
    "zip bomb 60 MB",
    "ods zip bomb",
    "renamed non-zip",
    "truncated xlsx",
    "zip that is not a workbook",
    "empty",
]


@pytest.fixture(scope="module")
def outcomes(hostile: dict[str, tuple[Path, str]], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Run], Path]:
    """Every hostile file through `crm import`, in parallel processes, all against one database."""
    d = tmp_path_factory.mktemp("hostile_db")
    env = dict(os.environ, CRM_DB=str(d / "crm.db"), CRM_CONFIG=str(d / "crm.toml"))
    assert crm_run("init", env=env).returncode == 0  # the database exists before
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(crm_run_measured, "import", str(hostile[name][0]), env=env) for name in NAMES}
        return {name: f.result() for name, f in futures.items()}, d / "crm.db"


@pytest.mark.parametrize("name", NAMES)
def test_hostile_file_is_refused_cheaply(hostile: dict[str, tuple[Path, str]], outcomes: tuple[dict[str, Run], Path], name: str) -> None:
    path, needle = hostile[name]
    run = outcomes[0][name]
    assert run.returncode == 1, (name, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.stderr
    assert path.name in lines[0] and needle.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in run.stderr
    assert run.peak_rss_mb < RSS_LIMIT_MB, f"{name}: peak RSS {run.peak_rss_mb:.0f} MB"


def test_hostile_files_wrote_nothing(outcomes: tuple[dict[str, Run], Path]) -> None:
    con = sqlite3.connect(outcomes[1])
    assert con.execute("SELECT count(*) FROM customer").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM import_batch").fetchone()[0] == 0
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_a_real_workbook_renamed_to_csv_still_imports(crm_env: Path, tmp_path: Path) -> None:
    """The content decides, not the name: the refusals above are not refusals of everything."""
    path = write_zip(tmp_path / "leads.csv", workbook_parts())
    run = crm_run("import", str(path))
    assert run.returncode == 0, run.stderr
    con = sqlite3.connect(crm_env)
    assert con.execute("SELECT count(*) FROM customer").fetchone()[0] == 1
    con.close()
