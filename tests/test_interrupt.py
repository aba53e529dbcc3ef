"""Ctrl-C anywhere: one line saying what was left undone, exit 130, nothing half-written.

KeyboardInterrupt is raised from inside the work (monkeypatch), never by signals and sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Crm


def _interrupting(original: Any, after: int = 1) -> Any:
    """``original`` (a function returning an iterable of rows), cut by Ctrl-C after ``after`` rows."""

    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for i, row in enumerate(original(*args, **kwargs)):
            if i >= after:
                raise KeyboardInterrupt
            yield row

    return wrapper


@pytest.fixture
def book(crm: Crm) -> Crm:
    for i in range(3):
        crm.ok("add", f"客户{i}公司", "--phone", f"1380000000{i}")
    crm.ok("follow", "客户0", "--content", "电话沟通")
    return crm


def _one_line(result: Any, text: str) -> None:
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    assert result.stderr.strip().splitlines() == [text], result.stderr
    assert "Traceback" not in result.stderr


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "json"])
def test_export_interrupted_writes_nothing(book: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    from crmcli.services import exporter

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(exporter, "customer_rows", _interrupting(exporter.customer_rows))
    monkeypatch.setattr(exporter, "json_objects", _interrupting(exporter.json_objects))
    target = out / f"客户.{suffix}"
    _one_line(book("export", str(target)), f"interrupted; {target} not written")
    assert _leftovers(out) == []  # no file, no temporary file


def test_export_interrupted_keeps_the_file_it_would_replace(book: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli.services import exporter

    target = tmp_path / "客户.xlsx"
    book.ok("export", str(target))
    before, files = target.read_bytes(), _leftovers(tmp_path)
    monkeypatch.setattr(exporter, "customer_rows", _interrupting(exporter.customer_rows))
    _one_line(book("export", str(target)), f"interrupted; {target} not written")
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == files


def test_import_interrupted_imports_nothing(book: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted after every row was written, before the commit: the transaction rolls back."""
    from crmcli.services import importer
    from crmcli.services.importer import run

    original = run._Run.execute

    def execute(self: Any) -> None:
        original(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(run._Run, "execute", execute)
    src = tmp_path / "leads.csv"
    src.write_text("客户名称,联系电话\n新甲公司,13900000001\n新乙公司,13900000002\n", encoding="utf-8")
    before = book.json("list")
    _one_line(book("import", str(src)), "interrupted; nothing imported")
    assert book.json("list") == before
    assert book.json("imports") == []
    assert not (tmp_path / "leads.rejects.csv").exists()
    assert importer  # the package stays importable after the patch


def test_report_xlsx_interrupted(book: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    def save(self: Any, target: Any) -> None:
        target.write(b"PK\x03\x04 half a workbook")
        raise KeyboardInterrupt

    monkeypatch.setattr(openpyxl.Workbook, "save", save)
    target = tmp_path / "out" / "funnel.xlsx"
    target.parent.mkdir()
    _one_line(book("report", "funnel", "--xlsx", str(target)), f"interrupted; {target} not written")
    assert _leftovers(target.parent) == []


def test_a_write_interrupted_writes_nothing(book: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli.services import pipeline

    original = pipeline.change_stage

    def change_stage(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "change_stage", change_stage)
    _one_line(book("stage", "客户1", "won", "--amount", "5万"), "interrupted; nothing was written")
    card = book.json("show", "客户1")
    assert card["stage"] == "potential" and card["deals"] == []
