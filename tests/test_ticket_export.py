"""Issue 20: the export's tickets sheet (工单 / Tickets, spec §15)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from crmcli import fields
from tests.conftest import Crm


def _tickets(crm: Crm) -> None:
    crm.ok("add", "ABC科技", "--phone", "13800000001")
    crm.ok("add", "星辰物流", "--phone", "13800000002")
    crm.ok(
        "ticket",
        "add",
        "ABC科技",
        "--type",
        "物流延迟",
        "--content",
        "到货晚",
        "--handler",
        "客服甲",
        "--date",
        "2026-11-20",
    )
    crm.ok("ticket", "add", "星辰物流", "--type", "产品质量", "--content", "=外壳开裂", "--date", "2026-11-21")
    crm.ok("ticket", "update", "T202611001", "--status", "resolved", "--satisfaction", "4", "--note", "已补发")


def test_xlsx_export_has_a_tickets_sheet_with_the_ticket_fields(crm: Crm, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _tickets(crm)
    out = tmp_path / "客户.xlsx"
    assert (
        crm.ok("--lang", "zh", "export", str(out)).strip()
        == f"已导出 2 个客户、0 条跟进记录和2 个工单 到 {out}"
    )
    en = tmp_path / "customers.xlsx"
    assert crm.ok("--lang", "en", "export", str(en)).strip() == f"Exported 2 customers, 0 follow-ups and 2 tickets to {en}"
    ws = load_workbook(out)["工单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == tuple(f.zh for f in fields.TICKET)
    assert rows[0][:3] == ("工单编号", "客户编号", "客户名称")
    assert rows[1:] == [
        (
            "T202611001",
            "C202611001",
            "ABC科技",
            "物流时效",
            "已解决",
            4,
            "客服甲",
            dt.datetime(2026, 11, 20),
            dt.datetime(2026, 11, 26),
            "到货晚",
            "已补发",
        ),
        (
            "T202611002",
            "C202611002",
            "星辰物流",
            "产品质量",
            "待处理",
            None,
            None,
            dt.datetime(2026, 11, 21),
            None,
            "=外壳开裂",
            None,
        ),
    ]
    assert ws["J3"].data_type == "s"  # a formula-like text stays text
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists == {"E2:E1048576": '"待处理,处理中,已解决"'}


def test_english_tickets_sheet_and_filters(crm: Crm, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _tickets(crm)
    out = tmp_path / "c.xlsx"
    crm.ok("--lang", "en", "export", str(out), "--search", "星辰")
    rows = list(load_workbook(out)["Tickets"].iter_rows(values_only=True))
    assert rows[0] == (
        "Ticket",
        "Customer code",
        "Customer name",
        "Issue type",
        "Ticket status",
        "Satisfaction",
        "Handler",
        "Opened",
        "Resolved",
        "Issue",
        "Resolution note",
    )
    assert [r[:5] for r in rows[1:]] == [("T202611002", "C202611002", "星辰物流", "产品质量", "Open")]
