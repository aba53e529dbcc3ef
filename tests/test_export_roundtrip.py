"""Issue 18: an export holds every table and imports back, losslessly, into an empty database -- as
a workbook, a JSON document and a directory of CSV files; and what `crm import` says about files
it cannot read (a JSON document of the wrong shape, a newer export format, a PDF, ...)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Crm

FORMATS = {"xlsx": "out.xlsx", "json": "out.json", "dir": "out/"}


def build(crm: Crm) -> list[str]:
    """Customers with Chinese text, no phone, custom fields, follow-ups, stage changes (one made by an
    opportunity, a lost one with its reason), opportunities with lines, a product, tickets."""
    crm.ok("field", "add", "region2", "--label", "客户所属区域2")
    crm.ok("field", "add", "score", "--label", "评分", "--type", "number")
    crm.ok("field", "add", "tier", "--label", "档位", "--type", "choice", "--choices", "金,银")
    a = crm.ok("add", "甲科技有限公司", "--phone", "13800000001", "--contact", "张伟", "--level", "key", "--stage", "intent",
               "--tag", "高预算", "--tag", "华东", "--note", "=SUM(A1)", "--amount", "5万", "--expected-close", "2026-12-31",
               "--set", "region2=华东", "--set", "score=3.5", "--set", "tier=金").strip()  # fmt: skip
    b = crm.ok("add", "乙商贸", "--no-phone", "--owner", "bob", "--need", "报价\n第二行").strip()
    c = crm.ok("add", "丙公司", "--phone", "010-12345678", "--email", "c@丙.cn").strip()
    d = crm.ok("add", "丁工作室", "--phone", "+86 139 0000 0004", "--level", "potential").strip()
    crm.ok("follow", a, "--content", "电话沟通", "--method", "电话", "--feedback", "积极", "--date", "2026-11-01",
           "--next-date", "2026-12-01", "--next-plan", "发报价单")  # fmt: skip
    crm.ok("follow", d, "--content", "初次拜访", "--method", "visit", "--date", "2026-11-02", "--by", "carol")
    crm.ok("follow", a, "--content", "拜访", "--method", "visit", "--date", "2026-11-10", "--by", "bob")
    crm.ok("stage", a, "negotiating", "--date", "2026-11-15")  # after the last follow-up: the next one is 7 days on
    crm.ok("stage", b, "won", "--amount", "30000", "--date", "2026-11-20")
    crm.ok("stage", c, "lost", "--reason", "价格太高", "--date", "2026-11-05")
    crm.ok("product", "add", "GTX Pro", "--price", "1000")
    crm.ok("product", "add", "安装服务")
    crm.ok("deal", "add", a, "--name", "设备采购", "--amount", "50万", "--stage", "谈判", "--date", "2026-11-12",
           "--product", "GTX Pro:2:1000", "--product", "安装服务")  # fmt: skip
    crm.ok("deal", "add", d, "--name", "小单", "--amount", "800", "--date", "2026-11-03", "--expected-close", "2027-01-15")
    crm.ok("ticket", "add", a, "--type", "产品质量", "--content", "屏幕划痕", "--date", "2026-11-18", "--handler", "赵六")
    t = crm.json("ticket", "list")[0]["code"]
    crm.ok("ticket", "update", t, "--status", "resolved", "--satisfaction", "4", "--note", "已换货")
    crm.ok("ticket", "add", d, "--type", "物流时效", "--content", "慢", "--date", "2026-11-19")
    return [a, b, c, d]


def snapshot(crm: Crm, *db: str) -> dict[str, Any]:
    """What a user sees: the list and every customer's card."""
    rows = crm.json(*db, "list")
    return {"list": rows, "cards": {r["code"]: crm.json(*db, "show", r["code"]) for r in rows}}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_table_comes_back_in_an_empty_database(crm: Crm, tmp_path: Path, fmt: str, lang: str, monkeypatch: Any) -> None:
    codes = build(crm)
    before = snapshot(crm)
    assert before["cards"][codes[0]]["next_follow_at"] == "2026-11-22"  # the stage change of 11-15 + 7 days (key)
    assert len(before["list"]) == 4 and all(before["cards"][c]["stage_changes"] or c == codes[3] for c in codes)
    target = tmp_path / FORMATS[fmt]
    said = crm.ok("--lang", lang, "export", str(target) + ("/" if fmt == "dir" else ""))
    assert ("3 stage changes" if lang == "en" else "3 次阶段变更") in said
    monkeypatch.setenv("CRM_DB", str(tmp_path / "fresh.db"))
    monkeypatch.setenv("CRM_USER", "zed")  # who imports is not who recorded: the file says who did
    summary = json.loads(crm.ok("--lang", lang, "import", str(target), "--format", "json"))
    assert summary["rejected"] == 0 and summary["unknown_columns"] == [], summary
    assert [s["table"] for s in summary["sheets"]] == ["customers", "followups", "tickets", "deals", "stages"]
    assert (summary["follow_ups"], summary["stage_changes"], summary["deals"], summary["tickets"]) == (3, 3, 3, 2)
    defined = "已定义自定义字段" if lang == "zh" else "custom fields defined"  # a note, in the display language
    assert f"{defined}: 客户所属区域2 (region2), 评分 (score), 档位 (tier)" in summary["notes"]
    assert snapshot(crm) == before
    again = json.loads(crm.ok("import", str(target), "--format", "json"))  # a second time: nothing new
    assert (again["created"], again["updated"], again["rejected"]) == (0, 0, 0)
    assert snapshot(crm) == before
    crm.ok("import", "--undo", str(summary["batch"]))  # and undo takes it all back, custom fields too
    assert crm.json("list") == [] and crm.json("field", "list") == []


def test_the_csv_directory_has_one_file_per_table(crm: Crm, tmp_path: Path) -> None:
    build(crm)
    crm.ok("--lang", "zh", "export", str(tmp_path / "备份") + "/")
    names = sorted(p.name for p in (tmp_path / "备份").iterdir())
    assert names == sorted(["客户信息总表.csv", "跟进记录.csv", "阶段变更.csv", "销售机会.csv", "工单.csv", "自定义字段.csv", "crmcli-export.json"])
    manifest = json.loads((tmp_path / "备份" / "crmcli-export.json").read_text(encoding="utf-8"))
    assert (manifest["format"], manifest["version"]) == ("crmcli-export", 1)
    assert manifest["tables"]["customers"] == "客户信息总表.csv" and manifest["tables"]["stage_changes"] == "阶段变更.csv"
    stages = (tmp_path / "备份" / "阶段变更.csv").read_text(encoding="utf-8-sig").splitlines()
    assert stages[0] == "客户编号,客户名称,变更日期,原阶段,新阶段,操作人,原因,机会编号"
    assert stages[3] == "C202611003,丙公司,2026-11-05,潜在客户,流失客户,alice,价格太高,"
    assert (tmp_path / "备份" / "自定义字段.csv").read_text(encoding="utf-8-sig").splitlines()[3] == 'tier,档位,choice,"金,银"'
    # an existing file that is not one: refused, nothing written
    (tmp_path / "plain").write_text("x")
    result = crm("export", str(tmp_path / "plain") + "/")
    assert result.exit_code == 1 and "not a directory" in result.stderr


# --------------------------------------------------------------------------- what import refuses, and how it says so


def _import_error(crm: Crm, path: Path) -> str:
    crm.ok("init")
    result = crm("import", str(path))
    assert result.exit_code == 1, result.stdout
    assert crm.json("list") == []
    return str(result.stderr).strip()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"format": "crmcli-export", "version": 1, "customers": [{"code": "C1", "name": "甲"}, {"name": "乙", "phonee": "1"}]},
         "$.customers[1].phonee: unknown key; customers have: code, name, "),
        ({"format": "crmcli-export", "version": 1, "customers": [{"name": "甲", "tags": "a;b"}]},
         "$.customers[0].tags: expected a list of text, got text"),
        ({"format": "crmcli-export", "version": 1, "customers": [], "follow_ups": [{"code": "C1", "date": 20261101}]},
         "$.follow_ups[0].date: expected text, got a number"),
        ({"format": "crmcli-export", "version": 1, "deals": {"code": "O1"}}, "$.deals: expected a list, got an object"),
        ({"format": "crmcli-export", "version": 1, "leads": []}, "$.leads: unknown key; a document has: format, version, customers"),
        ({"format": "crmcli-export", "version": 2, "customers": []},
         "export format version 2 is newer than this crm reads (version 1); upgrade crm to import it"),
        ({"version": 1, "customers": []}, '$.format: expected "crmcli-export", got null'),
        ("客户", "$: expected an object (crm export's JSON document) or an array of customers, got text"),
        ([{"name": "甲", "amount": "5万"}], "$.customers[0].amount: expected a number, got text"),
    ],
)  # fmt: skip
def test_a_json_file_of_the_wrong_shape_names_the_first_wrong_key(crm: Crm, tmp_path: Path, doc: Any, message: str) -> None:
    path = tmp_path / "客户.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert _import_error(crm, path).startswith(f"Error: 客户.json: {message}")


def test_list_json_imports_as_customers(crm: Crm, tmp_path: Path, monkeypatch: Any) -> None:
    build(crm)
    listed = crm.ok("list", "--format", "json")
    path = tmp_path / "list.json"
    path.write_text(listed, encoding="utf-8")
    monkeypatch.setenv("CRM_DB", str(tmp_path / "fresh.db"))
    summary = json.loads(crm.ok("import", str(path), "--format", "json"))
    assert summary["created"] == 4 and summary["rejected"] == 0
    keys = ("code", "name", "phone", "level", "stage", "tags", "amount", "expected_close", "lost_reason")
    assert [{k: c[k] for k in keys} for c in crm.json("list")] == [{k: c[k] for k in keys} for c in json.loads(listed)]


def test_a_workbook_of_a_newer_export_format_is_refused_with_its_version(crm: Crm, tmp_path: Path) -> None:
    build(crm)
    book = tmp_path / "out.xlsx"
    crm.ok("export", str(book))
    with zipfile.ZipFile(book) as zf:
        assert b"<cp:keywords>crmcli-export 1</cp:keywords>" in zf.read("docProps/core.xml")
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    parts["docProps/core.xml"] = parts["docProps/core.xml"].replace(b"crmcli-export 1", b"crmcli-export 7")
    newer = tmp_path / "newer.xlsx"
    with zipfile.ZipFile(newer, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    result = crm("--db", str(tmp_path / "fresh.db"), "import", str(newer))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: newer.xlsx was written by a newer crm: export format version 7, this crm reads version 1; upgrade crm to import it"
    )


def test_a_csv_directory_of_a_newer_export_format_is_refused_with_its_version(crm: Crm, tmp_path: Path) -> None:
    build(crm)
    out = tmp_path / "out"
    crm.ok("export", str(out) + "/")
    manifest = out / "crmcli-export.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**doc, "version": 7}), encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "import", str(out) + "/")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: out/ was written by a newer crm: export format version 7, this crm reads version 1; upgrade crm to import it"
    )
    assert not fresh.exists() or crm.json("--db", str(fresh), "list") == []  # nothing imported
    result = crm("--db", str(fresh), "--lang", "zh", "import", str(out) + "/", "--sheet", "跟进记录.csv")
    assert result.exit_code == 1 and "导出格式版本 7" in result.stderr and "版本 1" in result.stderr, result.stderr
    manifest.write_text("{not json", encoding="utf-8")
    result = crm("--db", str(fresh), "import", str(out) + "/")
    assert result.exit_code == 1 and "crmcli-export.json is not a crm export manifest" in result.stderr, result.stderr
    manifest.unlink()  # CSV files put in a directory by hand: read as they are
    assert json.loads(crm.ok("--db", str(fresh), "import", str(out) + "/", "--format", "json"))["rejected"] == 0
    assert len(crm.json("--db", str(fresh), "list")) == 4


def test_a_newer_json_document_is_refused_in_chinese_too(crm: Crm, tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"format": "crmcli-export", "version": 3, "customers": []}), encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    result = crm("--db", str(fresh), "--lang", "zh", "import", str(path))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "导出格式版本 3" in result.stderr and "(版本 1)" in result.stderr, result.stderr
    assert not fresh.exists() or crm.json("--db", str(fresh), "list") == []


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3", "report.pdf is a PDF document, not a table"),
        ("客户.xlsx.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "客户.xlsx.png is a PNG image, not a table"),
        ("crm.db", b"SQLite format 3\x00" + b"\0" * 100, "crm.db is an SQLite database"),
        ("page.csv", b"<!DOCTYPE html><html><body><table></table>", "page.csv is an HTML page"),
    ],
)
def test_files_it_cannot_read_say_what_they_are_and_what_is_supported(
    crm: Crm, tmp_path: Path, name: str, content: bytes, what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = _import_error(crm, path)
    assert what in err and "crm import reads .xlsx, .xlsm, .xls and .ods workbooks, .csv/.tsv text, the JSON document" in err


def test_a_word_document_and_an_empty_directory(crm: Crm, tmp_path: Path) -> None:
    doc = tmp_path / "客户.docx"
    with zipfile.ZipFile(doc, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    assert "客户.docx is a Word document (.docx), not an Excel (.xlsx) or OpenDocument (.ods) workbook" in _import_error(crm, doc)
    (tmp_path / "空").mkdir()
    assert "is a directory without CSV files; crm import reads" in _import_error(crm, tmp_path / "空")
