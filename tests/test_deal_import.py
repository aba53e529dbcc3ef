"""Importing opportunity tables (spec §13, with §12's value maps and date order), and the export's
opportunities sheet that imports back."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Crm
from tests.db_rows import counts

TABLES = ("customer", "deal", "deal_line", "product", "stage_change", "import_batch")

# Another CRM's opportunity table: keyed by account name, a sales agent and a product per deal,
# engage and close dates written month first, lost deals of value 0, a stage nobody knows.
PIPELINE = [
    ["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date", "close_value"],
    ["1C1I7A6R", "Moses Frase", "GTX Plus Basic", "Cancity", "Won", "10/20/2016", "3/1/2017", "1054"],
    ["Z063OYW0", "Darcel Schlecht", "GTXPro", "Isdom", "Won", "10/25/2016", "3/11/2017", "4514"],
    ["EC4QE1BX", "Darcel Schlecht", "GTX Pro", "cancity", "Won", "10/25/2016", "3/7/2017", "4500"],
    ["MV1LWRNH", "Moses Frase", "GTX Basic", "Codehow", "Lost", "10/25/2016", "3/9/2017", "0"],
    ["PE84CX4O", "Zane Levy", "GTX Basic", "Codehow", "Engaging", "10/25/2016", "", ""],
    ["ZNBS69V1", "Anna Snelling", "MG Special", "", "Prospecting", "", "", ""],
    ["9ME3374G", "Vicki Laflamme", "MG Special", "Nobody Inc", "Prospecting", "", "", ""],
]


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def run(crm: Crm, *args: str) -> tuple[int, dict[str, Any], str]:
    result = crm("import", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}, result.stderr


@pytest.fixture
def accounts(crm: Crm) -> dict[str, str]:
    return {n: crm.ok("add", n, "--phone", p, "--owner", "wang").strip()
            for n, p in (("Cancity", "13800000001"), ("Isdom", "13800000002"), ("Codehow", "13800000003"))}  # fmt: skip


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_another_crms_table_keyed_by_account_name(crm: Crm, accounts: dict[str, str], tmp_path: Path) -> None:
    src = write_csv(tmp_path / "sales_pipeline.csv", PIPELINE)
    before = counts(TABLES)
    code, out, err = run(crm, str(src))  # 3/1/2017 is ambiguous, Engaging unknown: every row is rejected
    assert code == 1 and out["table"] == "deals" and out["created"] == 0 and out["rejected"] == 7 and out["batch"] is None
    assert "ambiguous" in out["rejected_rows"][0] and "Error: nothing imported" in err
    assert out["unknown_values"] == [{"field": "stage", "value": "Engaging", "rows": 1,
                                      "map_value": "--map-value 'stage:Engaging=KEY' (KEY: potential, intent, negotiating, won, lost)"}]  # fmt: skip
    assert counts(TABLES) == before
    code, out, _ = run(crm, str(src), "--map-value", "stage:Engaging=intent", "--date-order", "mdy")
    assert code == 3 and (out["created"], out["rejected"], out["products"], out["stage_changes"]) == (5, 2, 3, 3)
    reasons = out["rejected_rows"]
    assert "row 7: names no customer (column account is empty)" in reasons[0]
    assert "row 8, column account: no customer named 'Nobody Inc'" in reasons[1]
    rejects = list(csv.reader((tmp_path / "sales_pipeline.csv.rejects.csv").open(encoding="utf-8-sig")))
    assert [r[0] for r in rejects[1:]] == ["ZNBS69V1", "9ME3374G"] and rejects[0][-1] == "reject_reason"
    deals = {d["code"]: d for d in crm.json("deal", "list")}
    assert set(deals) == {"1C1I7A6R", "Z063OYW0", "EC4QE1BX", "MV1LWRNH", "PE84CX4O"}  # their ids fit as codes
    won = deals["Z063OYW0"]
    assert (won["stage"], won["amount"], won["owner"], won["created_at"], won["closed_at"], won["products"]) == (
        "won", 4514, "Darcel Schlecht", "2016-10-25", "2017-03-11", "GTXPro:1:4514")  # fmt: skip
    lost = deals["MV1LWRNH"]
    assert (lost["stage"], lost["amount"], lost["probability"]) == ("lost", 0, 0)
    assert deals["EC4QE1BX"]["customer_code"] == accounts["Cancity"]  # names compare normalised
    assert deals["EC4QE1BX"]["products"] == "GTXPro:1:4500"  # GTX Pro = GTXPro
    assert [p["name"] for p in crm.json("product", "list")] == ["GTX Basic", "GTX Plus Basic", "GTXPro"]
    stages = {c["name"]: (c["stage"], c["orders"], c["total_amount"], c["last_order_at"]) for c in crm.json("list")}
    assert stages == {"Cancity": ("won", 2, 5554, "2017-03-07"), "Isdom": ("won", 1, 4514, "2017-03-11"),
                      "Codehow": ("intent", 0, 0, None)}  # fmt: skip
    assert crm.json("show", "Cancity")["stage_changes"][0]["date"] == "2017-03-01"  # when it was first won
    assert crm.json("report", "pipeline")["avg_cycle_days"] == 134.0  # (132 + 137 + 133) / 3, by hand
    # the same file again changes nothing
    snapshot = counts(TABLES)
    code, again, _ = run(crm, str(src), "--map-value", "stage:Engaging=intent", "--date-order", "mdy")
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 5)
    assert {k: v for k, v in counts(TABLES).items() if k != "import_batch"} == {k: v for k, v in snapshot.items() if k != "import_batch"}


@pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL (spec §16)
def test_update_updates_by_code_and_undo_puts_it_back(crm: Crm, accounts: dict[str, str], tmp_path: Path) -> None:
    rows = [r[:] for r in PIPELINE[:6]]
    src = write_csv(tmp_path / "p.csv", rows)
    common = ("--map-value", "stage:Engaging=intent", "--date-order", "mdy")
    run(crm, str(src), *common)
    rows[5][4], rows[5][6], rows[5][7] = "Won", "11/20/2026", "8800"  # PE84CX4O is won since
    rows[2][7] = "4600"  # Z063OYW0's value corrected
    write_csv(src, rows)
    assert run(crm, str(src), *common)[1]["updated"] == 0  # skip (the default) changes nothing
    code, out, _ = run(crm, str(src), *common, "--on-duplicate", "update")
    assert (out["created"], out["updated"], out["skipped"], out["stage_changes"]) == (0, 2, 3, 1)
    assert "row 6: PE84CX4O: stage, amount, closed_at" in out["updated_rows"][1]
    codehow = crm.json("show", "Codehow")
    assert (codehow["stage"], codehow["total_amount"]) == ("won", 8800)
    crm.ok("import", "--undo", str(out["batch"]))
    deals = {d["code"]: d for d in crm.json("deal", "list")}
    assert (deals["PE84CX4O"]["stage"], deals["PE84CX4O"]["closed_at"], deals["Z063OYW0"]["amount"]) == ("intent", None, 4514)
    codehow = crm.json("show", "Codehow")
    assert (codehow["stage"], codehow["total_amount"]) == ("intent", 0)


def test_seed_004_layout_and_table_deals(crm: Crm, tmp_path: Path) -> None:
    crm.ok("add", "科技有限公司", "--phone", "13800000009", "--code", "C20240501001", "--owner", "王磊")
    sheet = write_csv(tmp_path / "销售机会阶段表.csv", [
        ["Opportunity_ID", "Customer_ID", "Opportunity_Name", "Stage", "Amount", "Probability", "Expected_Date", "Responsible"],
        ["O20240501001", "C20240501001", "科技有限公司2024年设备采购", "方案报价", "500000", "60%", "2026-12-30", "*销售"],
        ["旧系统-17", "C20240501001", "维保", "意向", "5万", "0.4", "2027-03-01", ""],
        ["O20240501003", "C20240501001", "培训", "意向", "-100", "", "", ""],
        ["O20240501004", "C20240501001", "培训", "意向", "100", "120", "", ""],
    ])  # fmt: skip
    code, out, _ = run(crm, str(sheet))
    assert code == 3 and out["created"] == 2 and out["rejected"] == 2
    assert "column Amount" in out["rejected_rows"][0] and "negative" in out["rejected_rows"][0]
    assert "column Probability" in out["rejected_rows"][1] and "0 to 100" in out["rejected_rows"][1]
    deals = crm.json("deal", "list")
    assert [(d["code"], d["stage"], d["probability"], d["owner"], d["external_id"]) for d in deals] == [
        ("O20240501001", "negotiating", 60, "*销售", None),
        ("O202611001", "intent", 40, "王磊", "旧系统-17"),  # an id that does not fit is kept as external_id
    ]  # fmt: skip
    assert run(crm, str(sheet))[1]["skipped"] == 2  # the external id names it again
    plain = write_csv(tmp_path / "plain.csv", [["客户名称", "金额", "阶段"], ["科技有限公司", "3000", "won"]])
    forced = run(crm, str(plain), "--table", "deals")[1]  # no opportunity column: --table says what the rows are
    assert forced["table"] == "deals" and forced["created"] == 1
    assert crm.json("show", "科技有限公司")["total_amount"] == 3000
    result = crm("import", str(plain), "--map-value", "stage:x=won")  # a customer table reads value maps too (issue 16)
    assert result.exit_code == 0
    assert crm("import", str(plain), "--table", "products").exit_code == 2


def test_the_export_opportunities_sheet_imports_back(crm: Crm, accounts: dict[str, str], tmp_path: Path, crm_env: Path) -> None:
    src = write_csv(tmp_path / "p.csv", PIPELINE[:6])
    run(crm, str(src), "--map-value", "stage:Engaging=intent", "--date-order", "mdy")
    crm.ok("deal", "add", "Isdom", "--name", "二期", "--amount", "2万", "--stage", "谈判", "--expected-close", "2027-02-01")
    out = tmp_path / "export.xlsx"
    assert "6 opportunities" in crm.ok("export", str(out))
    before = crm.json("deal", "list")
    code, again, _ = run(crm, str(out), "--sheet", "Opportunities", "--on-duplicate", "update")
    assert code == 0 and (again["table"], again["created"], again["updated"], again["skipped"]) == ("deals", 0, 0, 6)
    # into a new database: the customers sheet, then the opportunities sheet, give the same opportunities
    fresh = tmp_path / "fresh.db"
    crm.ok("--db", str(fresh), "import", str(out))
    crm.ok("--db", str(fresh), "import", str(out), "--sheet", "Opportunities")
    by_code = sorted(json.loads(crm.ok("--db", str(fresh), "deal", "list", "--format", "json")), key=lambda d: d["code"])
    assert by_code == sorted(before, key=lambda d: d["code"])
    shown = json.loads(crm.ok("--db", str(fresh), "show", "Cancity", "--format", "json"))
    assert (shown["orders"], shown["total_amount"]) == (2, 5554)


def test_bad_cells_are_rejected_rows_naming_row_column_and_value(crm: Crm, tmp_path: Path, crm_env: Path) -> None:
    """Issue 17's bad input on import: each a rejected row; the good rows are imported, the bad ones leave nothing."""
    crm.ok("add", "科技有限公司", "--phone", "13800000009", "--code", "C20240501001")
    head = ["Opportunity_ID", "Customer_ID", "Opportunity_Name", "Stage", "Amount", "Probability", "Product", "Quantity", "Unit Price"]
    sheet = write_csv(tmp_path / "机会.csv", [
        head,
        ["O202601001", "C20240501001", "好", "意向", "", "30", "GTX", "2", "50"],  # amount: the line, 2 x 50
        ["O202601002", "C20249999999", "b", "意向", "100", "30", "", "", ""],
        ["O202601003", "C20240501001", "c", "maybe", "100", "30", "", "", ""],
        ["O202601004", "C20240501001", "d", "意向", "100", "30", "GTX", "0", "50"],
        ["O202601005", "C20240501001", "e", "意向", "100", "30", "GTX", "abc", "50"],
        ["O202601006", "C20240501001", "f", "意向", "100", "30", "GTX:-1", "", ""],
        ["O202601007", "C20240501001", "g", "意向", "100", "-5", "", "", ""],
        ["O202601008", "C20240501001", "h", "意向", "100", "101", "", "", ""],
        ["O202601009", "C20240501001", "i", "意向", "-100", "30", "", "", ""],
        ["O202601010", "C20240501001", "j", "意向", "100", "30", "Pro", "1", "-50"],
        ["O202601011", "", "k", "意向", "100", "30", "", "", ""],
    ])  # fmt: skip
    code, out, _ = run(crm, str(sheet))
    assert code == 3 and (out["created"], out["rejected"], out["products"]) == (1, 10, 1)
    assert out["rejected_rows"] == [
        "row 3, column Customer_ID: no customer C20249999999 (import the customers first)",
        "row 4, column Stage: unknown stage 'maybe'; accepted: potential, intent, negotiating, won, lost (or map the value to one of them when importing)",
        "row 5, column Quantity: quantity '0' must be a positive number",
        "row 6, column Quantity: quantity 'abc' is not a number",
        "row 7, column Product: product 'GTX:-1': quantity '-1' must be a positive number",
        "row 8, column Probability: probability -5.0 is out of range; a probability is 0 to 100",
        "row 9, column Probability: probability 101.0 is out of range; a probability is 0 to 100",
        "row 10, column Amount: amount '-100' is negative",
        "row 11, column Unit Price: unit price '-50' is negative",
        "row 12: names no customer (column Customer_ID is empty)",
    ]  # fmt: skip
    (deal,) = crm.json("deal", "list")
    assert (deal["code"], deal["amount"], deal["products"]) == ("O202601001", 100, "GTX:2:50")  # the Quantity and Unit Price columns
    assert [p["name"] for p in crm.json("product", "list")] == ["GTX"]  # Pro's row was rejected: no product made for it
    rejects = list(csv.reader((tmp_path / "机会.csv.rejects.csv").open(encoding="utf-8-sig")))
    assert [r[0] for r in rejects[1:]] == [f"O2026010{n:02d}" for n in range(2, 12)]


def test_example_opportunities_workbook(crm: Crm, tmp_path: Path) -> None:
    """examples/opportunities.xlsx (seed 004's layout) imports onto examples/customers.xlsx, and is what
    make_examples.py writes."""
    import importlib.util

    root = Path(__file__).resolve().parents[1] / "examples"
    assert run(crm, str(root / "customers.xlsx"))[0] == 0
    code, out, err = run(crm, str(root / "opportunities.xlsx"))
    assert code == 0 and (out["table"], out["created"], out["rejected"]) == ("deals", 18, 0), err
    pipeline = crm.json("report", "pipeline")
    # by hand from the workbook: 7 won (186,000 + 320,000 + 96,000 + 520,000 + 68,000 + 240,000 + 58,000),
    # 2 lost at 0, 9 open worth 1,299,000, weighted 583,600 (450,000 x 30% + 280,000 x 60% + ...)
    assert [(r["stage"], r["count"], r["amount"]) for r in pipeline["rows"]] == [
        ("potential", 1, 40000), ("intent", 4, 621000), ("negotiating", 4, 638000), ("won", 7, 1488000), ("lost", 2, 0),
    ]  # fmt: skip
    assert (pipeline["open"], pipeline["open_amount"], pipeline["weighted"], pipeline["win_rate"]) == (9, 1299000, 583600, 0.7778)
    shenzhen = crm.json("show", "C202608005")
    assert (shenzhen["stage"], shenzhen["orders"], shenzhen["total_amount"], shenzhen["last_order_at"]) == ("won", 1, 520000, "2026-10-16")
    assert [d["owner"] for d in crm.json("deal", "list", "--customer", "C202606005")] == ["李娜"]  # the row's Responsible
    assert run(crm, str(root / "opportunities.xlsx"))[1]["skipped"] == 18  # again: nothing changes

    spec = importlib.util.spec_from_file_location("make_examples", root / "make_examples.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    make.opportunities(tmp_path / "again.xlsx")
    assert (tmp_path / "again.xlsx").read_bytes() == (root / "opportunities.xlsx").read_bytes()
