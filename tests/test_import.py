"""crm import / crm imports: the seed templates, dedup, rejects, dry runs, strict mode (spec §9).

Fixtures are written in tmp_path by each test (openpyxl for workbooks, bytes for CSV), so every
case shows the file it feeds the importer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Crm

SEED000 = [
    "序号", "客户编号", "客户名称", "所属行业", "客户类型", "联系人(*)", "联系人职位", "联系电话(*)", "邮箱",
    "客户来源", "核心需求(*)", "跟进日期", "跟进人(*)", "跟进方式", "跟进内容(*)", "客户反馈", "合作状态",
    "下次跟进计划", "创建日期", "最后跟进日期", "备注",
]  # fmt: skip


def xlsx(path: Path, rows: list[list[Any]], *, title: str | None = None, sheet: str = "客户信息总表") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(r) for r in rows))
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text (as typed with a ')
    wb.save(path)
    return path


def csv_file(path: Path, rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def seed000_row(n: int, name: str, phone: Any, **kw: Any) -> list[Any]:
    """One row of the 客户信息总表 template (21 columns)."""
    created = kw.get("created", dt.date(2026, 5, 8))
    follow = kw.get("follow", dt.date(2026, 5, 10))
    return [
        n, kw.get("code"), name, kw.get("industry", "互联网"), kw.get("stage", "意向客户"), kw.get("contact", "张伟"),
        kw.get("title", "采购经理"), phone, kw.get("email", "zhang@example.com"), kw.get("source", "展会推广"),
        kw.get("need", "企业定制化办公软件"), follow, kw.get("by", "王磊"), kw.get("method", "电话沟通"),
        kw.get("content", "客户对方案感兴趣"), kw.get("feedback", "积极"), kw.get("status", "活跃"),
        kw.get("plan", "发送报价"), created, follow, kw.get("notes"),
    ]  # fmt: skip


def run_import(crm: Crm, path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = crm("import", str(path), "--format", "json", *args)
    out = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, out, result.stderr


def db_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customer", "follow_up", "deal", "stage_change", "tag", "import_batch")}
    finally:
        con.close()


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = sqlite3.connect(db)
    try:
        out = {}
        for t in ("customer", "follow_up", "deal", "stage_change", "tag"):
            out[t] = sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
        return out
    finally:
        con.close()


# --------------------------------------------------------------------------- the seed-000 template


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_seed000_with_title_banner_dates_and_number_phones(crm: Crm, tmp_path: Path) -> None:
    rows = [
        SEED000,
        seed000_row(1, "ABC科技有限公司", "13956781234", code="C202405001"),
        seed000_row(2, "B商贸公司", 13812345678, created=dt.datetime(2026, 5, 9, 0, 0)),  # a number cell
        seed000_row(3, "C制造集团", 13700001111.0, created=45000, follow="2026/5/12"),  # an Excel serial date
    ]
    path = xlsx(tmp_path / "总表.xlsx", rows, title="客户信息总表")
    code, out, err = run_import(crm, path)
    assert code == 0, err
    assert out["created"] == 3 and out["rejected"] == 0 and out["follow_ups"] == 3 and out["batch"] == 1
    assert set(out) >= {"batch", "created", "updated", "skipped", "rejected", "follow_ups", "blank_rows", "unknown_columns", "rejects_file"}
    assert "合作状态" in err  # 活跃/沉睡 are not stages: reported as unused
    a = crm.json("show", "ABC科技")
    assert a["code"] == "C202405001" and a["phone"] == "13956781234" and a["stage"] == "intent"
    assert a["contact"] == "张伟" and a["title"] == "采购经理" and a["owner"] == "王磊" and a["source"] == "展会推广"
    assert a["follow_ups"][0] == {
        "id": 1, "date": "2026-05-10", "method": "phone", "feedback": "positive", "content": "客户对方案感兴趣",
        "by": "王磊", "next_date": None, "next_plan": "发送报价",
    }  # fmt: skip
    b = crm.json("show", "B商贸")
    assert b["phone"] == "13812345678" and b["created_at"] == "2026-05-09" and b["code"] == "C202605001"
    c = crm.json("show", "C制造")
    assert c["phone"] == "13700001111" and c["created_at"] == "2023-03-15"  # serial 45000
    assert c["follow_ups"][0]["date"] == "2026-05-12"
    assert c["last_follow_at"] == "2026-05-12"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_header_found_below_several_title_rows(crm: Crm, tmp_path: Path) -> None:
    rows = [["2026年客户清单"], [], ["制表人:", "王磊"], ["客户名称", "联系电话", "备注"], ["A公司", "13800000001", "x"]]
    code, out, _ = run_import(crm, xlsx(tmp_path / "t.xlsx", rows))
    assert code == 0 and out["created"] == 1


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_example_workbooks_and_quick_start(crm: Crm) -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    code, out, err = run_import(crm, root / "customers.xlsx")
    assert code == 0 and out["created"] == 40 and out["rejected"] == 0, err
    assert crm("list", "--due", "--limit", "10").exit_code == 0
    code, out, _ = run_import(crm, root / "leads.csv")
    assert code == 0 and out["created"] == 8


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_example_followup_log_shows_rejects(crm: Crm, tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[1] / "examples" / "followup-log.xlsx"
    path = tmp_path / src.name
    path.write_bytes(src.read_bytes())
    code, out, _ = run_import(crm, path)
    assert code == 3 and out["rejected"] == 3 and out["created"] == 6 and out["skipped"] == 1
    assert Path(out["rejects_file"]).exists()


# --------------------------------------------------------------------------- seed 002: the follow-up log


SEED002 = [
    "序号", "客户名称", "所属行业", "客户来源", "关键联系人(姓名/职位)", "联系方式(手机*)", "客户需求描述", "首次接触时间",
    "最近跟进时间", "跟进记录(时间-方式-内容-下一步计划)", "当前销售阶段", "预计成交金额(元)", "成交日期", "客户状态", "备注",
]  # fmt: skip
LOG1 = "09-20电话沟通:客户对配置要求明确，预算5万/年，需10月前上线;下一步:9月25日前发送定制方案并报价。"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_seed002_log_cells_contacts_amounts_and_status_column(crm: Crm, tmp_path: Path) -> None:
    rows = [
        SEED002,
        [1, "A科技有限公司", "IT服务", "展会推广", "张*/采购经理", "13812345678", "云服务器", "2023-08-15", "2023-09-20", LOG1, "谈判中", "50,000", "-", "活跃", "响应速度"],
        [2, "B商贸公司", "零售业", "客户转介绍", "李*/总经理", "1395678", "供应商", "2023-07-10", "2023-09-18", "09-18跟进:样品合格;下一步:明日告知优惠政策。", "意向客户", "8万", "-", "活跃", None],
        [3, "C制造集团", "制造业", "线上推广", "王*/技术总监", "138", "生产系统", "2023-06-05", "2023-08-30", "08-30拜访:需集成ERP。", "潜在客户", "200,000", "-", "沉睡", None],
        [4, "D连锁超市", "零售业", "主动拜访", "赵*/运营经理", "13634567890", "收银系统", "2023-05-20", "2023-07-15", "07-15电话:暂停采购。", "流失客户", "-", "-", "流失", None],
    ]  # fmt: skip
    path = xlsx(tmp_path / "log.xlsx", rows, title="销售业务客户关系管理表格范例")
    code, out, err = run_import(crm, path)
    assert code == 3, err
    assert out["created"] == 3 and out["rejected"] == 1
    assert any("客户状态" in u for u in out["unused_columns"]) and "客户状态" in err
    a = crm.json("show", "A科技")
    assert a["contact"] == "张*" and a["title"] == "采购经理" and a["amount"] == 50000 and a["stage"] == "negotiating"
    fu = a["follow_ups"][0]
    assert fu["content"] == LOG1  # kept whole
    assert fu["date"] == "2023-09-20" and fu["method"] == "phone"
    assert fu["next_plan"] == "9月25日前发送定制方案并报价" and fu["next_date"] == "2023-09-25"
    b = crm.json("show", "B商贸")
    assert b["amount"] == 80000 and b["phone"] == "1395678" and b["follow_ups"][0]["method"] is None
    assert crm.json("show", "D连锁")["stage"] == "lost"  # no reason needed on import
    rejects = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))
    assert rejects[0] == [*SEED002, "reject_reason"]
    assert rejects[1][1] == "C制造集团"
    assert rejects[1][-1] == "row 5, column 联系方式(手机*): phone '138' has fewer than 7 digits"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_flat_log_records_each_follow_up_once(crm: Crm, tmp_path: Path) -> None:
    head = ["客户名称", "联系电话", "跟进日期", "跟进方式", "跟进内容"]
    rows = [
        head,
        ["A公司", "13800000001", "2026-09-01", "电话", "初次电话"],
        ["A公司", "13800000001", "2026-09-08", "拜访", "上门演示"],
        ["A公司", "138 0000 0001", "2026-09-08", "拜访", "上门演示"],  # the same follow-up again
    ]
    code, out, _ = run_import(crm, xlsx(tmp_path / "log.xlsx", rows))
    assert code == 0 and out["created"] == 1 and out["skipped"] == 2 and out["follow_ups"] == 2
    card = crm.json("show", "A公司")
    assert [f["content"] for f in card["follow_ups"]] == ["上门演示", "初次电话"]
    assert card["last_follow_at"] == "2026-09-08"


# --------------------------------------------------------------------------- stages


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_stage_column_needs_half_of_its_values_to_be_stages(crm: Crm, tmp_path: Path) -> None:
    # 客户类型 is mostly levels here (潜力客户 is a level), so it is not a stage column;
    # 客户状态 holds stages only in row 3
    rows = [
        ["客户名称", "联系电话", "客户类型", "客户状态"],
        ["A公司", "13800000001", "潜力客户", "活跃"],
        ["B公司", "13800000002", "潜力客户", "沉睡"],
        ["C公司", "13800000003", "意向客户", "流失"],
    ]
    code, out, _ = run_import(crm, xlsx(tmp_path / "s.xlsx", rows))
    assert code == 0, out
    assert {c.split(" (")[0] for c in out["unused_columns"]} == {"客户类型", "客户状态"}
    assert {c["name"]: c["stage"] for c in crm.json("list")} == {"A公司": "potential", "B公司": "potential", "C公司": "potential"}


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_stage_preference_first_column_with_a_value_wins(crm: Crm, tmp_path: Path) -> None:
    rows = [
        ["客户名称", "联系电话", "合作状态", "当前销售阶段", "客户类型"],
        ["A公司", "13800000001", "成交客户", "谈判中", "意向客户"],
        ["B公司", "13800000002", "成交客户", "", "意向客户"],
        ["C公司", "13800000003", "成交客户", "-", ""],
    ]
    code, _, _ = run_import(crm, xlsx(tmp_path / "s.xlsx", rows))
    assert code == 0
    assert {c["name"]: c["stage"] for c in crm.json("list")} == {"A公司": "negotiating", "B公司": "intent", "C公司": "won"}


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_unknown_stage_in_a_stage_column_rejects_the_row(crm: Crm, tmp_path: Path) -> None:
    rows = [["客户名称", "联系电话", "当前销售阶段"], ["A公司", "13800000001", "意向"], ["B公司", "13800000002", "待定"], ["C公司", "13800000003", "成交"]]
    code, out, _ = run_import(crm, xlsx(tmp_path / "s.xlsx", rows))
    assert code == 3 and out["rejected"] == 1
    text = Path(out["rejects_file"]).read_text(encoding="utf-8-sig")
    assert "row 3, column 当前销售阶段: unknown stage '待定'" in text


# --------------------------------------------------------------------------- values


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_values_are_read_honestly(crm: Crm, tmp_path: Path) -> None:
    rows = [
        ["客户名称", "联系电话", "客户等级", "预计成交金额", "预计成交日期", "标签", "邮箱", "备注"],
        ["A公司", "+86 138-0000-0001", "A", "5万", "2026年12月1日", "华东; 高预算", "a@example.com", "  见面谈  "],
        ["B公司", "1.3800000002E+10", "普通", "¥1,200.50", "2026.12.2", "华东,老客户", "-", "N/A"],
        ["C公司", "010-12345678转123", "潜力客户", 30000, 46357, "", "", ""],
    ]
    code, out, err = run_import(crm, xlsx(tmp_path / "v.xlsx", rows))
    assert code == 0, err
    by = {c["name"]: c for c in crm.json("list")}
    assert by["A公司"]["level"] == "key" and by["A公司"]["amount"] == 50000 and by["A公司"]["expected_close"] == "2026-12-01"
    assert by["A公司"]["tags"] == ["华东", "高预算"] and by["A公司"]["notes"] == "见面谈"
    assert by["B公司"]["phone"] == "13800000002" and by["B公司"]["amount"] == 1200.5 and by["B公司"]["email"] is None
    assert by["B公司"]["notes"] is None and by["B公司"]["tags"] == ["华东", "老客户"]
    assert by["C公司"]["level"] == "potential" and by["C公司"]["expected_close"] == "2026-12-01"  # serial 46357


@pytest.mark.parametrize(
    ("header", "value", "needle"),
    [
        ("联系电话", "138", "fewer than 7 digits"),
        ("联系电话", "138****5678", "masked"),
        ("客户等级", "VIP", "unknown level 'VIP'"),
        ("预计成交金额", "很多", "cannot read amount"),
        ("创建日期", "05/08/2024", "ambiguous"),
        ("邮箱", "lisiabc", "not an e-mail address"),
        ("跟进方式", "飞鸽传书", "unknown method"),
    ],
)
@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_bad_values_reject_the_row_naming_row_and_column(crm: Crm, tmp_path: Path, header: str, value: str, needle: str) -> None:
    head = ["客户名称", "联系电话", header] if header != "联系电话" else ["客户名称", "联系电话"]
    good = ["好公司", "13800000009", *([""] if header != "联系电话" else [])]
    bad = ["坏公司", value if header == "联系电话" else "13800000008", *([value] if header != "联系电话" else [])]
    code, out, _ = run_import(crm, xlsx(tmp_path / "b.xlsx", [head, good, bad]))
    assert code == 3 and out["created"] == 1 and out["rejected"] == 1
    reason = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))[1][-1]
    assert reason.startswith(f"row 3, column {header}: ") and needle in reason, reason


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_formula_without_cached_value_is_never_evaluated(crm: Crm, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["客户名称", "联系电话", "备注"])
    ws.append(["A公司", "13800000001", "=1+1"])  # a formula nobody calculated: reads as empty
    ws.append(["=CONCAT(\"B\",\"公司\")", "13800000002", ""])  # the required name is a formula
    path = tmp_path / "f.xlsx"
    wb.save(path)
    code, out, _ = run_import(crm, path)
    assert code == 3 and out["created"] == 1 and out["rejected"] == 1
    reason = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))[1][-1]
    assert "name is empty" in reason and "formula" in reason
    assert crm.json("show", "A公司")["notes"] is None


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_map_and_unknown_columns(crm: Crm, tmp_path: Path) -> None:
    rows = [["公司全名", "手机", "满意度评分", "奇怪的列"], ["A公司", "13800000001", 5, "x"]]
    path = xlsx(tmp_path / "m.xlsx", rows)
    code, _, err = run_import(crm, path)
    assert code == 1 and "客户名称" in err and "--map" in err  # no name column: say how to name it
    code, out, err = run_import(crm, path, "--map", "公司全名=name", "--map", "奇怪的列=notes")
    assert code == 0 and out["created"] == 1
    # 满意度评分 is read now: a resolved ticket of that customer (spec §15)
    assert out["unknown_columns"] == [] and out["unused_columns"] == [] and out["tickets"] == 1
    assert crm.json("show", "A公司")["notes"] == "x"
    code, out, err = run_import(crm, path, "--map", "公司全名=客户名称", "--on-duplicate", "update")
    assert code == 0 and out["unknown_columns"] == ["奇怪的列"] and "奇怪的列" in err
    assert crm("import", str(path), "--map", "nonsense").exit_code == 2
    assert crm("import", str(path), "--map", "公司全名=shoe_size").exit_code == 2
    assert crm("import", str(path), "--map", "没有这列=name").exit_code == 2


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_english_headers_seed004_csv(crm: Crm, tmp_path: Path) -> None:
    rows = [
        ["Customer_ID", "Customer_Name", "Industry", "Contact_Person", "Contact_Job", "Contact_Info", "Source", "First_Date", "Status", "Level", "Create_User", "Update_Date"],
        ["C20240501001", "科技有限公司", "制造业", "李经理", "采购总监", "电话:13800000001", "2024年春季行业展会", "2024-03-15", "意向客户", "重点客户", "王销售", "2024-05-10"],
    ]  # fmt: skip
    code, out, err = run_import(crm, csv_file(tmp_path / "en.csv", rows))
    assert code == 0, err
    c = crm.json("show", "C20240501001")
    assert c["phone"] == "13800000001" and c["owner"] == "王销售" and c["level"] == "key" and c["created_at"] == "2024-03-15"
    assert "Update_Date" in out["unused_columns"]


# --------------------------------------------------------------------------- bad input


def _unchanged(crm: Crm, crm_env: Path, before: dict[str, int]) -> None:
    assert db_counts(crm_env) == before


@pytest.fixture
def seeded(crm: Crm, crm_env: Path) -> dict[str, int]:
    """A database with one customer, so 'unchanged' means something."""
    crm.ok("add", "老客户", "--phone", "13900000000")
    return db_counts(crm_env)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.csv", b"", "empty"),
        ("empty.xlsx", b"", "empty"),
        ("renamed.xlsx", "客户名称,联系电话\nA公司,13800000001\n".encode(), "not an Excel workbook"),
        ("random.xlsx", bytes(range(256)) * 40, "not an Excel workbook"),
        ("random.csv", bytes((i * 7919 + 13) % 256 for i in range(20000)), "not text in UTF-8"),
        ("nuls.csv", b"\0" * 2000, "2,000 of its first 2,000 bytes are NUL"),
        ("blank.csv", b"\r\n\r\n  \r\n", "no data"),
        ("nothing-known.csv", "甲,乙\n1,2\n".encode(), "no header row"),
    ],
)
def test_unreadable_files_exit_1_one_line_nothing_written(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = crm("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and needle in result.stderr and "Traceback" not in result.stderr
    assert name in result.stderr
    _unchanged(crm, crm_env, seeded)


def test_zip_that_is_not_a_workbook(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    result = crm("import", str(path))
    assert result.exit_code == 1 and "archive.xlsx is a zip archive, not an Excel" in result.stderr
    _unchanged(crm, crm_env, seeded)


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (what an encrypted .xlsx is) holding ``streams`` (>= 4096 bytes each)."""
    sector = 512
    end, free, fat_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    data_sectors: list[bytes] = []
    fat = [fat_sect, end]  # sector 0: the FAT, sector 1: the directory
    entries = [("Root Entry", 5, end, 0)]
    for name, body in streams.items():
        body = body.ljust(max(4096, -(-len(body) // sector) * sector), b"\0")
        first = 2 + len(data_sectors)
        n = len(body) // sector
        for k in range(n):
            data_sectors.append(body[k * sector : (k + 1) * sector])
            fat.append(first + k + 1 if k < n - 1 else end)
        entries.append((name, 2, first, len(body)))
    directory = b""
    for i, (name, kind, start, size) in enumerate(entries):
        raw = name.encode("utf-16-le") + b"\0\0"
        child = 1 if i == 0 and len(entries) > 1 else free
        right = i + 1 if 0 < i < len(entries) - 1 else free
        directory += (
            raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1) + struct.pack("<III", free, right, child)
            + b"\0" * 16 + b"\0" * 4 + b"\0" * 16 + struct.pack("<IIQ", start, 0, size)[:12]
        )  # fmt: skip
    directory = directory.ljust(sector, b"\0")
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat).ljust(sector, b"\xff")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0) + struct.pack("<I", 0) + b"\xff" * (436 - 4)
    )  # fmt: skip
    assert len(header) == 512
    return header + fat_bytes + directory + b"".join(data_sectors)


def test_encrypted_workbook(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path) -> None:
    path = tmp_path / "加密.xlsx"
    path.write_bytes(cfb({"EncryptionInfo": b"\x04\x00\x04\x00" + os.urandom(200), "EncryptedPackage": os.urandom(5000)}))
    result = crm("import", str(path))
    assert result.exit_code == 1 and "password-protected" in result.stderr and "加密.xlsx" in result.stderr
    _unchanged(crm, crm_env, seeded)


def test_header_only_file(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path) -> None:
    for path in (xlsx(tmp_path / "h.xlsx", [SEED000], title="客户信息总表"), csv_file(tmp_path / "h.csv", [["客户名称", "联系电话"]])):
        result = crm("import", str(path))
        assert result.exit_code == 1 and "no data rows below the header" in result.stderr
    _unchanged(crm, crm_env, seeded)


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_gbk_csv_without_bom(crm: Crm, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "gbk.csv", [["客户名称", "联系电话", "所属行业"], ["华东贸易公司", "13800000001", "零售业"]], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    code, out, _ = run_import(crm, path)
    assert code == 0 and crm.json("show", "华东贸易")["industry"] == "零售业"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_utf16_tab_separated_from_excel(crm: Crm, tmp_path: Path) -> None:
    rows = [["客户名称", "联系电话", "备注"], ["东方公司", "13800000001", "含,逗号"]]
    path = tmp_path / "unicode.txt.csv"
    buf = io.StringIO()
    csv.writer(buf, delimiter="\t", lineterminator="\r\n").writerows(rows)
    path.write_bytes(b"\xff\xfe" + buf.getvalue().encode("utf-16-le"))
    code, _, err = run_import(crm, path)
    assert code == 0, err
    assert crm.json("show", "东方公司")["notes"] == "含,逗号"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_utf16_without_bom_mostly_chinese(crm: Crm, tmp_path: Path, encoding: str) -> None:
    # few NUL bytes (only the commas, line breaks and digits have one), but all on one side
    need = "需要一套完整的客户关系管理系统，支持多人协作与移动端，希望年底前上线并完成培训"
    rows = [["客户名称", "联系电话", "核心需求"], ["东方明珠国际贸易有限公司", "13800000001", need]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    raw = buf.getvalue().encode(encoding)
    assert raw.count(0) < len(raw) * 0.3  # the old rule wanted NULs in 60% of the code units
    path = tmp_path / "u16.csv"
    path.write_bytes(raw)
    code, _, err = run_import(crm, path)
    assert code == 0, err
    assert crm.json("show", "东方明珠")["need"] == need


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_utf8_bom_and_semicolons(crm: Crm, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "eu.csv", [["客户名称", "联系电话"], ["A公司", "13800000001"]], encoding="utf-8-sig", delimiter=";")
    code, out, _ = run_import(crm, path)
    assert code == 0 and out["created"] == 1


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_nul_bytes_reject_the_row(crm: Crm, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes("客户名称,联系电话\nA公司,13800000001\nB\x00公司,13800000002\n".encode())
    code, out, _ = run_import(crm, path)
    assert code == 3 and out["created"] == 1 and out["rejected"] == 1
    head, row = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))
    assert row[0] == "B\u2400公司"  # a NUL breaks CSV readers: shown as ␀, and the reason says so
    assert row[head.index("reject_reason")].startswith("row 3, column 客户名称: the cell holds a NUL character")
    assert "␀" in row[head.index("reject_reason")]


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_ragged_rows(crm: Crm, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("客户名称,联系电话,备注\nA公司,13800000001\nB公司,13800000002,ok\nC公司,Inc,13800000003,extra\n", encoding="utf-8")
    code, out, _ = run_import(crm, path)
    assert code == 3 and out["created"] == 2 and out["rejected"] == 1
    head, row = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))
    reason = row[head.index("reject_reason")]
    assert "beyond the last column" in reason and "row 4" in reason
    # the original row, the reason in its own column; the cell past the header goes into the reason
    assert len(row) == len(head) and row[:3] == ["C公司", "Inc", "13800000003"] and "extra" in reason


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_one_megabyte_cells(crm: Crm, tmp_path: Path) -> None:
    big = "很长" * 500_000
    path = csv_file(tmp_path / "big.csv", [["客户名称", "联系电话", "备注"], ["A公司", "13800000001", big], ["B公司", "13800000002", "ok"], [big, "13800000003", ""]])
    code, out, _ = run_import(crm, path)
    assert code == 3 and out["created"] == 1 and out["rejected"] == 2
    reasons = Path(out["rejects_file"]).read_text(encoding="utf-8-sig")
    assert "cell is too long (1,000,000 characters" in reasons
    # openpyxl (like Excel) cuts a cell at 32,767 characters; another program may not
    xl = xlsx(tmp_path / "big.xlsx", [["客户名称", "联系电话", "备注"], ["C公司", "13800000004", "PLACEHOLDER"]])
    with zipfile.ZipFile(xl) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"PLACEHOLDER", big.encode())
    with zipfile.ZipFile(xl, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, body in parts.items():
            zf.writestr(n, body)
    code, out, _ = run_import(crm, xl)
    assert code == 1 and out["rejected"] == 1


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_trailing_empty_rows_and_blank_rows(crm: Crm, tmp_path: Path) -> None:
    lines = ["客户名称,联系电话", "A公司,13800000001", ",", "B公司,13800000002"] + [", "] * 10_000
    path = tmp_path / "trail.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run_import(crm, path)
    assert code == 0 and out["created"] == 2 and out["blank_rows"] == 1  # trailing ones are not counted
    rows = [["客户名称", "联系电话"], ["C公司", "13800000003"], *([[" ", " "]] * 10_000)]
    code, out, _ = run_import(crm, xlsx(tmp_path / "trail.xlsx", rows))
    assert code == 0 and out["created"] == 1 and out["blank_rows"] == 0


# --------------------------------------------------------------------------- duplicates


def test_duplicates_inside_one_file(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    rows = [["客户名称", "联系电话", "客户等级"], ["A公司", "13800000001", "B"], ["ａ公司", "+86 138 0000 0001", "A"], ["A公司", "13800000002", ""]]
    path = xlsx(tmp_path / "d.xlsx", rows)
    code, out, _ = run_import(crm, path)
    assert code == 0 and out["created"] == 2 and out["skipped"] == 1
    assert crm.json("show", "13800000001")["level"] == "normal"
    crm.ok("import", "--undo", "1")
    code, out, _ = run_import(crm, path, "--on-duplicate", "fail")
    assert code == 3 and out["created"] == 2 and out["rejected"] == 1  # row 3 duplicates row 2
    reason = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))[1][-1]
    assert reason.startswith("row 3: duplicate of ")
    assert db_counts(crm_env)["customer"] == 2


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_on_duplicate_modes_against_the_database(crm: Crm, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001", "--level", "key", "--contact", "张伟", "--tag", "老").strip()
    rows = [["客户名称", "联系电话", "联系人", "客户等级", "备注", "标签"], ["A公司", "13800000001", "", "普通", "新备注", "新"]]
    path = xlsx(tmp_path / "u.xlsx", rows)
    code_, out, _ = run_import(crm, path)
    assert code_ == 0 and out["skipped"] == 1 and crm.json("show", code)["level"] == "key"
    code_, out, _ = run_import(crm, path, "--on-duplicate", "fail")
    assert code_ == 1 and out["rejected"] == 1
    reason = list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))[1][-1]
    assert code in reason and "duplicate" in reason
    code_, out, _ = run_import(crm, path, "--on-duplicate", "update")
    assert code_ == 0 and out["updated"] == 1
    after = crm.json("show", code)
    assert after["level"] == "normal" and after["notes"] == "新备注" and after["contact"] == "张伟"  # empty cell: kept
    assert after["tags"] == ["新", "老"]  # tags are added
    code_, out, _ = run_import(crm, path, "--on-duplicate", "update")
    assert out["updated"] == 0 and out["skipped"] == 1  # nothing left to change


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_update_of_a_date_compares_and_undoes_as_a_date(crm: Crm, tmp_path: Path) -> None:
    """A date read back from the database (a date object on PostgreSQL, ISO text on SQLite) is compared
    with the row's and kept in the undo image as ISO text."""
    code = crm.ok("add", "A公司", "--phone", "13800000001", "--expected-close", "2026-12-01").strip()
    same = xlsx(tmp_path / "same.xlsx", [["客户名称", "联系电话", "预计成交日期"], ["A公司", "13800000001", "2026-12-01"]])
    assert run_import(crm, same, "--on-duplicate", "update")[1]["updated"] == 0  # the same date: nothing to change
    later = xlsx(tmp_path / "later.xlsx", [["客户名称", "联系电话", "预计成交日期"], ["A公司", "13800000001", "2027-01-15"]])
    code_, out, err = run_import(crm, later, "--on-duplicate", "update")
    assert code_ == 0 and out["updated"] == 1, err
    assert crm.json("show", code)["expected_close"] == "2027-01-15"
    crm.ok("import", "--undo", str(out["batch"]))
    assert crm.json("show", code)["expected_close"] == "2026-12-01"


def test_importing_twice_changes_nothing(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    rows = [
        ["客户名称", "联系电话", "当前销售阶段", "预计成交金额", "成交日期", "跟进日期", "跟进内容", "标签"],
        ["A公司", "13800000001", "成交客户", "5万", "2026-10-01", "2026-10-01", "签约", "华东"],
        ["B公司", "13800000002", "意向客户", "", "", "2026-10-02", "电话", ""],
    ]
    path = xlsx(tmp_path / "twice.xlsx", rows)
    code, out, _ = run_import(crm, path)
    assert code == 0 and out["created"] == 2 and out["follow_ups"] == 2
    first = snapshot(crm_env)
    assert len(first["deal"]) == 1
    for mode in ("skip", "update"):
        code, out, _ = run_import(crm, path, "--on-duplicate", mode)
        assert code == 0 and out["created"] == 0 and out["updated"] == 0 and out["skipped"] == 2 and out["follow_ups"] == 0
        assert snapshot(crm_env) == first


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_code_identifies_a_customer_when_name_or_phone_matches(crm: Crm, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001", "--code", "C202401001").strip()
    other = crm.ok("add", "A公司", "--phone", "13800000002").strip()  # same name, another phone
    rows = [
        ["客户编号", "客户名称", "联系电话"],
        [code, "A公司", "13900000009"],  # phone edited in Excel: the same customer
        [code, "别人", "13700000000"],  # neither name nor phone matches: a conflict
        [code, "A公司", "13800000002"],  # the code is the first A's, name+phone are the other A's
    ]
    path = xlsx(tmp_path / "c.xlsx", rows)
    result, out, _ = run_import(crm, path, "--on-duplicate", "update")
    assert result == 3 and out["updated"] == 1 and out["rejected"] == 2 and out["created"] == 0
    assert crm.json("show", code)["phone"] == "13900000009"
    reasons = [r[-1] for r in list(csv.reader(Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()))[1:]]
    assert "code conflict" in reasons[0] and "A公司" in reasons[0]
    assert other in reasons[1]
    assert len(crm.json("list")) == 2


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_explicit_code_later_in_the_file_is_not_taken_by_an_earlier_row(crm: Crm, tmp_path: Path) -> None:
    rows = [["客户编号", "客户名称", "联系电话", "创建日期"], ["", "A公司", "13800000001", "2026-11-02"], ["C202611001", "B公司", "13800000002", "2026-11-03"]]
    code, _, _ = run_import(crm, xlsx(tmp_path / "k.xlsx", rows))
    assert code == 0
    assert crm.json("show", "B公司")["code"] == "C202611001" and crm.json("show", "A公司")["code"] == "C202611002"


# --------------------------------------------------------------------------- dry run, strict, rejects


def test_dry_run_matches_the_real_run_and_writes_only_rejects(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path) -> None:
    rows = [["客户名称", "联系电话", "跟进内容"], ["A公司", "13800000001", "x"], ["B公司", "138", "y"], ["老客户", "13900000000", "z"]]
    path = xlsx(tmp_path / "dry.xlsx", rows)
    before = snapshot(crm_env)
    code, dry, _ = run_import(crm, path, "--dry-run")
    assert snapshot(crm_env) == before and db_counts(crm_env) == seeded
    assert Path(dry["rejects_file"]).exists() and dry["batch"] is None
    Path(dry["rejects_file"]).unlink()
    real_code, real, _ = run_import(crm, path)
    assert (code, real_code) == (3, 3)
    for k in ("created", "updated", "skipped", "rejected", "follow_ups", "blank_rows", "unknown_columns"):
        assert dry[k] == real[k], k
    assert real["created"] == 1 and real["skipped"] == 1 and real["follow_ups"] == 2


def test_strict_writes_nothing_when_a_row_is_rejected(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path) -> None:
    path = xlsx(tmp_path / "strict.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"], ["B公司", "12"]])
    result = crm("import", str(path), "--strict")
    assert result.exit_code == 1 and "--strict" in result.stderr
    assert db_counts(crm_env) == seeded
    ok = xlsx(tmp_path / "ok.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"]])
    assert crm("import", str(ok), "--strict").exit_code == 0


def test_every_row_rejected_exits_1(crm: Crm, crm_env: Path, seeded: dict[str, int], tmp_path: Path) -> None:
    path = xlsx(tmp_path / "bad.xlsx", [["客户名称", "联系电话"], ["A公司", "12"], ["", "13800000001"]])
    result = crm("import", str(path))
    assert result.exit_code == 1 and "all 2 row(s) were rejected" in result.stderr
    assert db_counts(crm_env) == seeded


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_fixed_rejects_file_imports_cleanly(crm: Crm, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "r.xlsx", [["客户名称", "联系电话", "备注"], ["A公司", "138", "=SUM(1)"], ["B公司", "13800000002", ""]], title="标题")
    code, out, _ = run_import(crm, path, "--rejects", str(tmp_path / "fix.csv"))
    assert code == 3 and out["rejects_file"] == str(tmp_path / "fix.csv")
    rows = list(csv.reader((tmp_path / "fix.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["客户名称", "联系电话", "备注", "reject_reason"]
    assert rows[1][:3] == ["A公司", "138", ""] or rows[1][:3] == ["A公司", "138", "'=SUM(1)"]
    rows[1][1] = "13800000001"  # the user fixes the phone in Excel
    csv_file(tmp_path / "fix.csv", rows, encoding="utf-8-sig")
    code, out, _ = run_import(crm, tmp_path / "fix.csv")
    assert code == 0 and out["created"] == 1 and out["unknown_columns"] == []


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_unfixed_rejects_file_gets_its_reason_column_rewritten(crm: Crm, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "a.csv", [["客户名称", "联系电话"], ["A公司", "138"], ["B公司", "13800000002"]])
    code, out, _ = run_import(crm, path, "--rejects", str(tmp_path / "r1.csv"))
    assert code == 3
    # imported again as it is, then a third time: still one reason column, with today's reason
    code, out, _ = run_import(crm, tmp_path / "r1.csv", "--rejects", str(tmp_path / "r2.csv"))
    assert code == 1 and out["rejected"] == 1
    code, out, _ = run_import(crm, tmp_path / "r2.csv", "--rejects", str(tmp_path / "r3.csv"))
    rows = list(csv.reader((tmp_path / "r3.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["客户名称", "联系电话", "reject_reason"]
    assert rows[1][:2] == ["A公司", "138"] and rows[1][2].startswith("row 2, column 联系电话: phone '138'")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_neutralised_csv_cells_are_unquoted(crm: Crm, tmp_path: Path) -> None:
    rows = [["Name", "Phone", "Notes", "Tags"], ["A公司", "'+86 138 0000 0001", "'=1+1", "'-x;y"]]
    code, _, err = run_import(crm, csv_file(tmp_path / "export.csv", rows))
    assert code == 0, err
    c = crm.json("show", "A公司")
    assert c["phone"] == "+86 138 0000 0001" and c["notes"] == "=1+1" and c["tags"] == ["-x", "y"]


def test_export_headers_round_trip_changes_exactly_the_edited_field(crm: Crm, crm_env: Path, tmp_path: Path) -> None:
    crm.ok("add", "A公司", "--phone", "13800000001", "--level", "key", "--source", "展会推广", "--tag", "华东", "--amount", "5万")
    crm.ok("add", "B公司", "--phone", "13800000002")
    crm.ok("follow", "A公司", "-c", "first call", "--date", "2026-11-01")
    keys = ("code", "name", "contact", "title", "phone", "email", "industry", "source", "level", "stage", "owner", "need", "tags", "notes", "amount", "created_at", "last_follow_at", "next_follow_at")
    labels = {"code": "Code", "name": "Name", "contact": "Contact", "title": "Title", "phone": "Phone", "email": "Email", "industry": "Industry",
              "source": "Source", "level": "Level", "stage": "Stage", "owner": "Owner", "need": "Need", "tags": "Tags", "notes": "Notes",
              "amount": "Expected amount", "created_at": "Created", "last_follow_at": "Last follow-up", "next_follow_at": "Next follow-up"}  # fmt: skip
    recs = crm.json("list")
    rows: list[list[Any]] = [[labels[k] for k in keys]]
    for r in recs:
        rows.append(["" if r[k] is None else (";".join(r[k]) if isinstance(r[k], list) else r[k]) for k in keys])
    path = csv_file(tmp_path / "export.csv", rows)
    before = snapshot(crm_env)
    code, out, _ = run_import(crm, path, "--on-duplicate", "update")
    assert code == 0 and out["updated"] == 0 and out["skipped"] == 2 and out["unknown_columns"] == []
    assert snapshot(crm_env) == before
    rows[1][keys.index("notes")] = "edited in Excel"
    csv_file(path, rows)
    code, out, _ = run_import(crm, path, "--on-duplicate", "update")
    assert out["updated"] == 1
    after = snapshot(crm_env)
    changed = [(a, b) for a, b in zip(before["customer"], after["customer"], strict=True) if a != b]
    assert len(changed) == 1
    diff = [i for i, (x, y) in enumerate(zip(*changed[0], strict=True)) if x != y]
    assert len(diff) == 1 and "edited in Excel" in changed[0][1]


# --------------------------------------------------------------------------- output


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_summary_line_when_piped_and_imports_listing(crm: Crm, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "p.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"], ["B公司", "1"]])
    result = crm("import", str(path))
    assert result.exit_code == 3
    line = result.stdout.strip()
    assert "\n" not in line and line.startswith("batch=1 created=1 updated=0 skipped=0 rejected=1 follow_ups=0 blank_rows=0")
    assert f"rejects_file={path}.rejects.csv" in line
    listing = crm.json("imports")
    assert listing[0]["batch"] == 1 and listing[0]["created"] == 1 and listing[0]["rejected"] == 1
    assert listing[0]["file"].endswith("p.xlsx") and listing[0]["undone_at"] is None
    assert "p.xlsx" in crm.ok("imports")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_zh_rejects_reason_column(crm: Crm, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "z.xlsx", [["客户名称", "联系电话"], ["A公司", "13800000001"], ["B公司", "1"]])
    assert crm("--lang", "zh", "import", str(path)).exit_code == 3
    header = Path(f"{path}.rejects.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith(",拒绝原因")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_sheet_option(crm: Crm, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "说明"
    ws.append(["这是说明页"])
    ws2 = wb.create_sheet("客户")
    ws2.append(["客户名称", "联系电话"])
    ws2.append(["A公司", "13800000001"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    code, out, _ = run_import(crm, path)  # the instructions sheet is named in a note; 客户 is imported (issue 16)
    assert code == 0 and out["created"] == 1 and out["notes"][0].startswith("sheet '说明' not imported")
    code, out, _ = run_import(crm, path, "--sheet", "客户")
    assert code == 0 and out["skipped"] == 1
    assert crm("import", str(path), "--sheet", "说明").exit_code == 1
    result = crm("import", str(path), "--sheet", "nope")
    assert result.exit_code == 1 and "no sheet 'nope'" in result.stderr


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_ods_workbook(crm: Crm, tmp_path: Path) -> None:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>'
        '<table:table table:name="客户"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>客户名称</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>联系电话</text:p></table:table-cell>'
        "</table:table-row><table:table-row>"
        '<table:table-cell office:value-type="string"><text:p>A公司</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="13800000001"><text:p>13800000001</text:p></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    path = tmp_path / "c.ods"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", content)
        zf.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )
    code, out, err = run_import(crm, path)
    assert code == 0, err
    assert crm.json("show", "A公司")["phone"] == "13800000001"


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_excel_sep_hint_line(crm: Crm, tmp_path: Path) -> None:
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\n客户名称;联系电话;备注\nA公司;13800000001;a,b\nB公司;12;x\n", encoding="utf-8")
    code, out, _ = run_import(crm, path)
    assert code == 3 and out["created"] == 1
    assert crm.json("show", "A公司")["notes"] == "a,b"
    assert "row 4, column 联系电话" in Path(out["rejects_file"]).read_text(encoding="utf-8-sig")


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_dry_run_says_why(crm: Crm, tmp_path: Path) -> None:
    code = crm.ok("add", "A公司", "--phone", "13800000001").strip()
    crm.ok("add", "B公司", "--phone", "13800000002")
    rows = [["客户名称", "联系电话", "客户等级"], ["A公司", "13800000001", "A"], ["B公司", "13800000002", ""], ["C公司", "1", ""]]
    _, out, _ = run_import(crm, xlsx(tmp_path / "why.xlsx", rows), "--dry-run", "--on-duplicate", "update")
    assert out["updated_rows"] == [f"row 2: {code} A公司: level"]
    assert out["skipped_rows"][0].startswith("row 3: ") and "nothing to change" in out["skipped_rows"][0]
    assert out["rejected_rows"][0].startswith("row 4, column 联系电话: ")


# --------------------------------------------------------------------------- property


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NAME_PARTS = st.sampled_from(["华信", "恒泰", "ABC", "ｘｙｚ", "科技", "有限公司", " ", "（北京）", "Co.", "'", "=", "-", "1"])


@st.composite
def _sheet(draw: st.DrawFn) -> list[list[Any]]:
    n = draw(st.integers(1, 6))
    names = draw(st.lists(st.lists(_NAME_PARTS, min_size=1, max_size=4).map("".join), min_size=n, max_size=n))
    phones = draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n, unique=True))
    rows: list[list[Any]] = [["客户名称", "联系电话", "客户等级", "当前销售阶段", "预计成交金额", "创建日期", "备注"]]
    for i in range(n):
        rows.append([
            f"{names[i]}{i}",
            draw(st.sampled_from([f"138{phones[i]:08d}", f"+86 138{phones[i]:08d}", float(f"138{phones[i]:08d}")])),
            draw(st.sampled_from(["A", "B", "C", "重点客户", "normal", ""])),
            draw(st.sampled_from(["潜在", "意向客户", "谈判中", "won", "流失客户", ""])),
            draw(st.sampled_from(["", "5万", "50,000", 1200.5, "¥1,200.50"])),
            draw(st.sampled_from(["", dt.date(2025, 1, 2), "2025/1/3", 45000.0, "2025年1月4日"])),
            draw(st.sampled_from(["", "  有空格  ", "=SUM(A1)", "-", "多行\n备注"])),
        ])  # fmt: skip
    return rows


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_sheet(), kind=st.sampled_from(["xlsx", "csv"]))
@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_any_valid_sheet_imports_once_and_only_once(crm: Crm, tmp_path: Path, rows: list[list[Any]], kind: str) -> None:
    import uuid

    db = str(tmp_path / f"{uuid.uuid4().hex}.db")
    path = tmp_path / f"{uuid.uuid4().hex}.{kind}"
    if kind == "xlsx":
        xlsx(path, rows)
    else:
        # a CSV holds text: dates as written, no Excel serial numbers (a bare number is refused)
        text = [[c.isoformat() if isinstance(c, dt.date) else ("2023-03-15" if c == 45000.0 else c) for c in r] for r in rows]
        csv_file(path, text)
    first = crm("--db", db, "import", str(path), "--format", "json")
    assert first.exit_code == 0, first.stderr
    out = json.loads(first.stdout)
    listed = json.loads(crm("--db", db, "list", "--format", "json").stdout)
    assert out["created"] + out["skipped"] == len(rows) - 1 and len(listed) == out["created"]
    for mode in ("skip", "update"):
        again = json.loads(crm("--db", db, "import", str(path), "--format", "json", "--on-duplicate", mode).stdout)
        assert again["created"] == 0 and again["updated"] == 0 and again["rejected"] == 0
    assert json.loads(crm("--db", db, "list", "--format", "json").stdout) == listed


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_duplicates_across_chunks(crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows far apart (other chunks) still find each other, and customers already in the database."""
    from crmcli.services.importer import run

    monkeypatch.setattr(run, "CHUNK", 2)
    old = crm.ok("add", "老客户", "--phone", "13900000000", "--level", "key").strip()
    rows = [
        ["客户编号", "客户名称", "联系电话", "客户等级", "跟进日期", "跟进内容"],
        ["", "A公司", "13800000001", "B", "2026-11-01", "one"],
        ["", "B公司", "13800000002", "B", "2026-11-01", "one"],
        ["", "C公司", "13800000003", "B", "2026-11-01", "one"],
        ["", "A公司", "13800000001", "A", "2026-11-02", "two"],  # A again, two chunks later
        [old, "老客户", "13900000009", "C", "2026-11-03", "moved"],  # by code, new phone
        ["", "老客户", "13900000009", "", "2026-11-04", "after the move"],  # the new phone, later chunk
        ["", "B公司", "13800000002", "", "2026-11-01", "one"],  # nothing new
    ]
    code, out, err = run_import(crm, xlsx(tmp_path / "chunks.xlsx", rows), "--on-duplicate", "update")
    assert code == 0, err
    assert (out["created"], out["updated"], out["skipped"], out["follow_ups"]) == (3, 2, 2, 6)
    a = crm.json("show", "A公司")
    assert a["level"] == "key" and [f["content"] for f in a["follow_ups"]] == ["two", "one"] and a["last_follow_at"] == "2026-11-02"
    o = crm.json("show", old)
    assert o["phone"] == "13900000009" and o["level"] == "potential" and len(o["follow_ups"]) == 2
    assert o["last_follow_at"] == "2026-11-04"
    assert len(crm.json("list")) == 4


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_utf8_with_nul_terminated_lines_is_not_taken_for_utf16(tmp_path: Path) -> None:
    from crmcli.io import readers

    # every line ends in NUL + LF: the NULs are all on one side, and the file is valid UTF-16
    # too, but read that way it holds no delimiter: UTF-8 it is, and each row is rejected
    lines = ["客户名称,联系电话"] + [f"客户{i:02d},1380000{i:04d}" for i in range(40)]
    path = tmp_path / "nul-lines.csv"
    # fixed-width records: every NUL at an even offset, as in UTF-16-BE, one byte in eleven
    path.write_bytes(b"".join(line.encode("utf-8").ljust(30) + b"\0\n" for line in lines))
    assert readers.detect_encoding(path) == ("utf-8", 0)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["客户名称\n甲公司\n乙公司\n丙公司\n", "客户名称,联系电话"])
@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_utf16_without_bom_one_column_or_one_line(tmp_path: Path, encoding: str, text: str) -> None:
    from crmcli.io import readers

    # no delimiter or no line break to go by: not valid UTF-8 either, so UTF-16 it is
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode(encoding))
    assert readers.detect_encoding(path) == (encoding, 0)
