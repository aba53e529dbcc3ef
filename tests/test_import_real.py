"""Files people really have (issue 16, spec §3, §12): phone-less customers, value maps and date
orders on customer tables, totals and example rows, follow-up logs and ticket sheets keyed by
客户编号, workbooks of several sheets, headerless sheets, mapping profiles, --match email.

The corpus of messy files (tests/data/messy) has its own test: test_messy_corpus.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import Crm
from tests.test_import import csv_file, run_import, xlsx


def rows_of(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------- crm add --no-phone


def test_add_without_a_phone_is_known_by_its_name(crm: Crm, crm_env: Path) -> None:
    code = crm.ok("add", "张三", "--no-phone").strip()
    assert code == "C202611001"
    again = crm("add", "张 三", "--no-phone")  # the same normalised name
    assert again.exit_code == 1 and "C202611001" in again.stderr
    # a phone for the same name is that customer too (spec §3): refused, pointing at edit
    with_phone = crm("add", "张三", "--phone", "13812345678")
    assert with_phone.exit_code == 1 and "crm edit C202611001 --phone 13812345678" in with_phone.stderr
    both = crm("add", "李四", "--no-phone", "--phone", "13812345678")
    assert both.exit_code == 2
    missing = crm("add", "王五")
    assert missing.exit_code == 2 and "--no-phone" in missing.stderr
    assert rows_of(crm_env, "SELECT code, phone, phone_key FROM customer") == [("C202611001", None, "")]
    crm.ok("edit", "张三", "--phone", "13900001111")
    assert rows_of(crm_env, "SELECT phone, phone_key FROM customer") == [("13900001111", "13900001111")]


def test_a_sheet_without_a_phone_column_imports_with_a_note(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    f = csv_file(tmp_path / "accounts.csv", [["Account Name", "Industry"], ["Acme Ltd", "Retail"], ["Beta GmbH", "IT"]])
    code, out, err = run_import(crm, f)
    assert code == 0 and out["created"] == 2
    assert "no phone column" in err and out["notes"] == ["the sheet has no phone column: its customers are identified by their names alone"]
    code, out, _ = run_import(crm, f)
    assert (out["created"], out["skipped"]) == (0, 2)


# --------------------------------------------------------------------------- --map-value, --date-order


def test_unknown_enum_values_are_listed_with_the_map_value_that_takes_them(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    rows = [["客户名称", "联系电话", "客户等级", "当前销售阶段", "跟进方式", "跟进内容"]]
    rows += [[f"甲{i}公司", f"1380000{i:04d}", "高级", "意向", "电话", "聊过"] for i in range(12)]
    rows += [[f"乙{i}公司", f"1390000{i:04d}", "低级", "Engaging", "飞鸽", "聊过"] for i in range(3)]
    rows += [["丙公司", "13700000000", "重点", "成交", "拜访", "签了"]]
    f = csv_file(tmp_path / "levels.csv", rows)
    result = crm("import", str(f), "--format", "json")
    out = json.loads(result.stdout)
    assert result.exit_code == 3 and (out["created"], out["rejected"]) == (1, 15)
    got = {(u["field"], u["value"]): u["rows"] for u in out["unknown_values"]}
    assert got == {("level", "高级"): 12, ("level", "低级"): 3, ("stage", "Engaging"): 3, ("method", "飞鸽"): 3}
    assert out["unknown_values"][0]["map_value"] == "--map-value 'level:高级=KEY' (KEY: key, normal, potential)"
    assert "unknown level: 高级 ×12, 低级 ×3 — rows rejected; --map-value 'level:高级=KEY' (KEY: key, normal, potential)" in result.stderr
    code, out, _ = run_import(
        crm, f, "--map-value", "level:高级=key", "--map-value", "level:低级=C", "--map-value", "stage:engaging=negotiating",
        "--map-value", "method:飞鸽=other",
    )  # fmt: skip
    assert code == 0 and out["created"] == 15 and out["unknown_values"] == []
    assert rows_of(crm_env, "SELECT level, stage FROM customer WHERE name = '乙0公司'") == [("potential", "negotiating")]
    assert rows_of(crm_env, "SELECT count(*) FROM customer WHERE level = 'key'") == [(13,)]


def test_a_bad_value_map_is_exit_1_before_the_file_is_read(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    missing = tmp_path / "not-there.csv"  # never opened: the map is refused first
    for spec, needle in (("colour:red=key", "colour has no fixed values"), ("level:VIP=gold", "unknown level 'gold'"), ("level=key", "FIELD:VALUE=KEY")):
        result = crm("import", str(missing), "--map-value", spec)
        assert result.exit_code == 1 and needle in result.stderr, result.stderr
    assert not crm_env.exists()


def test_date_order_reads_numeric_dates_and_ambiguous_ones_stay_rejected(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    rows = [["客户名称", "联系电话", "创建日期", "跟进日期", "跟进内容"], ["甲公司", "13800000001", "3/11/2017", "4/1/2018", "通话"],
            ["乙公司", "13800000002", "2017-05-06", "", ""]]  # fmt: skip
    f = csv_file(tmp_path / "us.csv", rows)
    code, out, _ = run_import(crm, f, "--dry-run")
    assert code == 3 and out["rejected"] == 1 and "3/11/2017" in out["rejected_rows"][0]
    code, out, _ = run_import(crm, f, "--date-order", "mdy")
    assert code == 0 and out["created"] == 2
    assert rows_of(crm_env, "SELECT created_at FROM customer ORDER BY id") == [("2017-03-11",), ("2017-05-06",)]
    assert rows_of(crm_env, "SELECT date FROM follow_up") == [("2018-04-01",)]


# --------------------------------------------------------------------------- totals, footers, examples


def test_totals_footers_and_examples_are_counted_not_imported(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    head = ["序号", "客户编号", "客户名称", "联系电话", "预计成交金额", "备注"]
    rows = [
        head,
        ["示例", "", "北京XX科技有限公司", "13800000000", "5000", ""],  # example: marker in 序号, placeholder name
        ["1", "示例", "ABC科技有限公司", "13800000001", "5000", ""],  # example: our template's code
        ["2", "", "真公司", "13800000002", "5000", ""],  # imported
        ["3", "", "XXXXXXX有限公司", "13800000003", "1", ""],  # example
        ["4", "", "***", "13800000004", "1", ""],  # example
        ["5", "", "例：某某公司", "13800000005", "1", ""],  # example
        ["6", "", "某公司", "13800000006", "1", "此行为示例，导入前请删除"],  # example (its note says so)
        ["7", "", "Total Petroleum", "13800000007", "1", ""],  # imported: a company, not a total
        ["8", "", "XXL Sports", "13800000008", "1", ""],  # imported: not a placeholder
        ["9", "", "", "", "", ""],  # blank: only 序号
        ["10", "", "", "", "12000", ""],  # summary: numbers, no name, no phone
        ["合计", "", "", "", "12345", ""],  # summary
        ["", "", "小计", "", "12345", ""],  # summary
        ["", "", "Total", "", "12,345.00", ""],  # summary
        ["制表人：张三", "", "", "", "", ""],  # summary
        ["审核：李四", "", "", "", "", ""],  # summary
        ["共12户", "", "", "", "", ""],  # summary
        ["", "", "", "13800000010", "", ""],  # rejected: a phone without a name is a row to fix
    ]  # fmt: skip
    f = csv_file(tmp_path / "list.csv", rows)
    code, out, _ = run_import(crm, f)
    assert code == 3
    assert (out["created"], out["example_rows"], out["summary_rows"], out["blank_rows"], out["rejected"]) == (3, 6, 7, 1, 1)
    assert "row 19" in out["rejected_rows"][0]
    assert sorted(r[0] for r in rows_of(crm_env, "SELECT name FROM customer")) == ["Total Petroleum", "XXL Sports", "真公司"]
    line = crm("import", str(f), "--dry-run").stdout
    assert "example_rows=6" in line and "summary_rows=7" in line


# --------------------------------------------------------------------------- follow-up logs and ticket sheets keyed by 客户编号

SEED004_CUSTOMERS = [
    ["Customer_ID", "Customer_Name", "Industry", "Contact_Person", "Contact_Info", "Level"],
    ["C20240501001", "科技有限公司", "制造业", "王经理", "电话:13922220001(同微信)", "重点客户"],
    ["C20240501002", "贸易有限公司", "零售业", "李经理", "13922220002", "普通客户"],
]
SEED004_LOG = [
    ["Follow_ID", "Customer_ID", "Follow_Date", "Follow_User", "Follow_Method", "Content", "Feedback", "Next_Plan", "Status_Change"],
    ["F20240501001", "C20240501001", "2024-05-09", "*销售", "电话沟通", "客户确认了产品需求", "案例需包含同行业企业应用效果",
     "5月12日前发送3个行业案例", "否(仍为“意向客户”)"],
    ["F20240501002", "C20240501002", "2024-05-10", "*销售", "拜访", "面谈", "积极", "", "否"],
    ["F20240501003", "C20249999999", "2024-05-10", "*销售", "拜访", "面谈", "积极", "", "否"],
]  # fmt: skip


def test_a_follow_up_log_keyed_by_code_lands_on_existing_customers(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    run_import(crm, csv_file(tmp_path / "customers.csv", SEED004_CUSTOMERS))
    log = csv_file(tmp_path / "log.csv", SEED004_LOG)
    code, out, _ = run_import(crm, log)
    assert code == 3 and out["table"] == "followups"
    assert (out["created"], out["follow_ups"], out["rejected"]) == (2, 2, 1)
    assert out["rejected_rows"] == ["row 4, column Customer_ID: no customer C20249999999 (import the customers first)"]
    assert rows_of(crm_env, "SELECT count(*) FROM customer") == [(2,)]  # the unknown code made no customer
    got = rows_of(crm_env, "SELECT c.code, f.date, f.method, f.feedback, f.content, f.next_plan FROM follow_up f JOIN customer c ON c.id = f.customer_id ORDER BY f.id")
    assert got == [
        ("C20240501001", "2024-05-09", "phone", None, "客户确认了产品需求\n客户反馈：案例需包含同行业企业应用效果", "5月12日前发送3个行业案例"),
        ("C20240501002", "2024-05-10", "visit", "positive", "面谈", None),
    ]
    assert rows_of(crm_env, "SELECT last_follow_at, last_method FROM customer WHERE code = 'C20240501002'") == [("2024-05-10", "visit")]
    code, out, _ = run_import(crm, log)  # again: nothing new
    assert (out["created"], out["skipped"], out["follow_ups"]) == (0, 2, 0)
    crm.ok("import", "--undo", "2")
    assert rows_of(crm_env, "SELECT count(*), max(last_follow_at) FROM customer") == [(2, None)]
    assert rows_of(crm_env, "SELECT count(*) FROM follow_up") == [(0,)]


def test_a_ticket_sheet_keyed_by_code(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    run_import(crm, csv_file(tmp_path / "customers.csv", SEED004_CUSTOMERS))
    sheet = csv_file(tmp_path / "service.csv", [
        ["客户编号", "反馈问题类型", "处理状态", "满意度评分", "处理负责人", "反馈日期"],
        ["C20240501001", "物流时效", "已解决", "4", "赵六", "2024-06-01"],
        ["C20240501002", "产品质量", "待处理", "", "赵六", "2024-06-02"],
        ["C20240501003", "产品质量", "待处理", "", "赵六", "2024-06-02"],
    ])  # fmt: skip
    code, out, _ = run_import(crm, sheet)
    assert code == 3 and out["table"] == "tickets" and (out["created"], out["tickets"], out["rejected"]) == (2, 2, 1)
    assert "no customer C20240501003" in out["rejected_rows"][0]
    assert rows_of(crm_env, "SELECT type, status, satisfaction, handler, opened_at FROM ticket ORDER BY id") == [
        ("物流时效", "resolved", 4, "赵六", "2024-06-01"), ("产品质量", "open", None, "赵六", "2024-06-02"),
    ]  # fmt: skip
    code, out, _ = run_import(crm, sheet)
    assert (out["created"], out["skipped"], out["tickets"]) == (0, 2, 0)


# --------------------------------------------------------------------------- workbooks of several sheets


def test_every_recognised_sheet_is_imported_customers_first_in_one_batch(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "填写说明"
    notes.append(["请按模板填写"])
    log = wb.create_sheet("跟进记录")  # before the customers: imported after them
    for row in SEED004_LOG[:3]:
        log.append(row)
    customers = wb.create_sheet("客户信息")
    for row in SEED004_CUSTOMERS:
        customers.append(row)
    deals = wb.create_sheet("销售机会")
    for row in (["Opportunity_ID", "Customer_ID", "Opportunity_Name", "Stage", "Amount"],
                ["O20240501001", "C20240501001", "设备采购", "方案报价", 500000]):  # fmt: skip
        deals.append(row)
    stats = wb.create_sheet("统计")
    stats.append(["月份", "数量"])
    stats.append(["5月", 3])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    code, out, err = run_import(crm, path, "--dry-run", "--source", "展会")  # a customer option beside an opportunity sheet
    assert code == 0 and out["created"] == 5, err
    code, out, err = run_import(crm, path)
    assert code == 0, err
    assert [(s["sheet"], s["table"], s["created"]) for s in out["sheets"]] == [
        ("客户信息", "customers", 2), ("跟进记录", "followups", 2), ("销售机会", "deals", 1),
    ]  # fmt: skip
    assert (out["follow_ups"], out["deals"], out["batch"]) == (2, 1, 1)
    assert out["notes"] == ["sheet '填写说明' not imported: no header row with columns we know",
                            "sheet '统计' not imported: no header row with columns we know"]  # fmt: skip
    assert rows_of(crm_env, "SELECT stage FROM customer WHERE code = 'C20240501001'") == [("negotiating",)]
    assert rows_of(crm_env, "SELECT count(*) FROM import_batch") == [(1,)]
    crm.ok("import", "--undo", "1")
    assert [rows_of(crm_env, f"SELECT count(*) FROM {t}")[0][0] for t in ("customer", "follow_up", "deal")] == [0, 0, 0]


def test_our_export_round_trips_into_an_empty_database(crm: Crm, tmp_path: Path, crm_env: Path, monkeypatch: Any) -> None:
    run_import(crm, csv_file(tmp_path / "customers.csv", SEED004_CUSTOMERS))
    run_import(crm, csv_file(tmp_path / "log.csv", SEED004_LOG[:3]))
    crm.ok("deal", "add", "科技有限公司", "--name", "设备采购", "--amount", "50万", "--stage", "谈判", "--date", "2024-05-20")
    crm.ok("ticket", "add", "科技有限公司", "--type", "产品质量", "--content", "屏幕划痕")
    book = tmp_path / "export.xlsx"
    crm.ok("export", str(book))
    before = crm.json("list")
    monkeypatch.setenv("CRM_DB", str(tmp_path / "fresh.db"))
    code, out, err = run_import(crm, book)
    assert code == 0 and out["rejected"] == 0, (err, out["sheets"], [p.read_text() for p in tmp_path.glob("*rejects*")])
    assert [s["table"] for s in out["sheets"]] == ["customers", "followups", "tickets", "deals", "stages"]
    after = crm.json("list")
    # the stage history comes back too (the deal's move to 谈判中 on 05-20), and with it the next
    # follow-up date, since a stage change counts as contact
    assert after == before
    deal = crm.json("deal", "list")[0]
    assert (deal["name"], deal["amount"], deal["stage"]) == ("设备采购", 500000, "negotiating")
    tickets = crm.json("ticket", "list")
    assert [(t["type"], t["content"], t["status"]) for t in tickets] == [("产品质量", "屏幕划痕", "open")]
    assert run_import(crm, book)[1]["created"] == 0  # and again: nothing new


# --------------------------------------------------------------------------- --no-header, profiles, --dry-run, --match email


def test_a_sheet_without_a_header_row(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    pool = xlsx(tmp_path / "客户公海.xlsx", [["张三", 13800000001.0, "杭州"], ["李四", 13800000002.0, "上海"], ["王五", 138, ""]], sheet="公海")
    result = crm("import", str(pool))
    assert result.exit_code == 1
    assert "Its first row: A='张三', B='13800000001', C='杭州'" in result.stderr
    assert "--no-header --map A=name --map B=phone" in result.stderr
    code, out, err = run_import(crm, pool, "--no-header", "--map", "A=name", "--map", "B=phone")
    assert code == 3 and (out["created"], out["rejected"]) == (2, 1)
    assert out["unknown_columns"] == ["column C (no header)"]
    assert out["rejected_rows"][0].startswith("row 3, column B: ")
    assert rows_of(crm_env, "SELECT name, phone FROM customer ORDER BY id") == [("张三", "13800000001"), ("李四", "13800000002")]
    # the rejects file has a header row of the mapped fields: it imports as it is, once fixed
    rejects = Path(out["rejects_file"]).read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0] == "客户名称,联系电话,,reject_reason" and rejects[1].startswith("王五,138,,")


def test_mapping_profiles_are_saved_applied_and_found_by_the_header_row(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    rows = [["Firma", "Tel", "Stufe", "Seit"], ["Acme GmbH", "13900000001", "Gold", "3/11/2017"]]
    f = csv_file(tmp_path / "de.csv", rows)
    args = ("--map", "Firma=name", "--map", "Tel=phone", "--map", "Stufe=level", "--map-value", "level:Gold=key", "--map", "Seit=created_at",
            "--date-order", "mdy")  # fmt: skip
    code, out, err = run_import(crm, f, *args, "--save-profile", "german", "--dry-run")
    assert code == 0 and out["created"] == 1 and "mapping profile 'german' saved" in err
    saved = json.loads((tmp_path / "import-profiles.json").read_text(encoding="utf-8"))
    assert saved["german"]["header"] == ["firma", "tel", "stufe", "seit"] and saved["german"]["date_order"] == "mdy"
    listed = crm("import", "--profiles").stdout
    assert listed.startswith("german: --map Firma=name --map Tel=phone --map Stufe=level --map Seit=created_at --map-value level:Gold=key --date-order mdy")
    # the same header row, no options: the profile is applied, and the summary says so
    code, out, err = run_import(crm, csv_file(tmp_path / "de2.csv", [rows[0], ["Beta AG", "13900000002", "Gold", "12/31/2019"]]))
    assert code == 0 and out["profile"] == "german" and "mapping profile 'german' applied (the file's header row matches it)" in err
    assert rows_of(crm_env, "SELECT name, level, created_at FROM customer") == [("Beta AG", "key", "2019-12-31")]
    # by name, for a file with another header row
    other = csv_file(tmp_path / "de3.csv", [["Firma", "Tel", "Stufe", "Seit", "Notiz"], ["Gamma KG", "13900000003", "Gold", "1/2/2020", "x"]])
    assert run_import(crm, other)[0] == 1  # no header row we know without it
    code, out, _ = run_import(crm, other, "--profile", "german")
    assert code == 0 and out["created"] == 1 and out["unknown_columns"] == ["Notiz"]
    missing = crm("import", str(other), "--profile", "nope")
    assert missing.exit_code == 1 and "saved: german" in missing.stderr


def test_a_dry_run_never_creates_or_migrates_the_database_file(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    f = csv_file(tmp_path / "a.csv", [["客户名称", "联系电话"], ["甲公司", "13800000001"]])
    code, out, _ = run_import(crm, f, "--dry-run")
    assert code == 0 and out["created"] == 1 and out["batch"] is None
    assert not crm_env.exists() and not crm_env.parent.exists()
    old = tmp_path / "old.db"
    old.write_bytes((Path(__file__).parent / "data" / "crm_0004.sqlite").read_bytes())
    before = old.read_bytes()
    result = crm("--db", str(old), "import", str(f), "--dry-run", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["created"] == 1
    assert old.read_bytes() == before  # not migrated, and no backup written beside it (a WAL reader's -shm/-wal aside)
    assert [p.name for p in tmp_path.glob("old.db*") if not p.name.endswith(("-shm", "-wal"))] == ["old.db"]


def test_match_email_identifies_a_customer_by_its_email(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    run_import(crm, csv_file(tmp_path / "a.csv", [["Name", "Email", "Phone"], ["Acme Ltd", "Sales@Acme.com", "13900000001"]]))
    b = csv_file(tmp_path / "b.csv", [["Name", "Email", "Phone"], ["ACME Limited", "sales@acme.COM", "13900000009"], ["Other", "o@x.com", ""]])
    code, out, _ = run_import(crm, b, "--dry-run")
    assert out["created"] == 2  # without --match email, another name and phone is another customer
    code, out, _ = run_import(crm, b, "--match", "email")
    assert (out["created"], out["skipped"]) == (1, 1)
    code, out, _ = run_import(crm, b, "--match", "email", "--on-duplicate", "update")
    assert (out["updated"], out["skipped"]) == (1, 1)
    assert rows_of(crm_env, "SELECT name, phone FROM customer ORDER BY id") == [("ACME Limited", "13900000009"), ("Other", None)]
    assert crm("import", str(b), "--match", "phone").exit_code == 2
