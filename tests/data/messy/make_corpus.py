"""A corpus of messy, real-world-style customer files (issue 16), each with what a careful human
keying it in would get, row by row.

Shapes, as found in public Chinese CRM templates, WPS exports of lead lists, shop registers and
other CRMs' account and contact exports: company lists without any phone column; a person column
(客户姓名) next to an empty company column; 客户手机号 / 手机 headers; a headerless 客户公海 sheet of
phones stored as numbers; US-style dates and another tool's stage values; phone cells with a label
and a note (电话:13922220001(同微信)) or two numbers; First Name + Last Name; Mobile next to Phone;
title banners, totals and footer rows, template example rows; a shop register in GBK with
省/市/区, 详细地址 and 微信号; seed 003's statistics table; a workbook of several sheets.

    python tests/data/messy/make_corpus.py [DIR]     (default: tests/data/messy/files)

writes the files and ``expected.json``. ``build(dir)`` is what tests/test_messy_corpus.py calls.

Each case: ``file``, the options a first run takes (``args``: none for the files that must import
as they are) and ``rows``: one entry per row below the header, in file order --
``{"row": N, "customer": NAME, "fields": {...}}`` (a customer with these values, as
``crm list --format json`` shows them), ``{"row": N, "rejected": "reason text"}``, or
``{"row": N, "skipped": "example" | "summary" | "blank" | "duplicate"}``. A case may have a
``then``: the options of a second run (what the first run's messages suggest), with its own rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path
from typing import Any


def _csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _xlsx(path: Path, sheets: dict[str, list[list[Any]]], *, banner: str | None = None) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    first = True
    for title, rows in sheets.items():
        ws = wb.active if first else wb.create_sheet(title)
        assert ws is not None
        ws.title = title
        if banner and first:
            ws.append([banner])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(r) for r in rows))
        for row in rows:
            ws.append(row)
        first = False
    wb.save(path)


def build(out: Path) -> list[dict[str, Any]]:
    """Write every file of the corpus into ``out``; return the cases."""
    out.mkdir(parents=True, exist_ok=True)
    cases: list[dict[str, Any]] = []

    # 1. Another CRM's account export: no phone column at all, English headers, a website column.
    _csv(out / "accounts_export.csv", [
        ["Account Name", "Industry", "Website", "Billing City", "Account Owner", "Created Date"],
        ["Cancity", "Retail", "cancity.example", "Hangzhou", "Moses Frase", "2016-10-20"],
        ["Isdom", "Medical", "isdom.example", "Shanghai", "Darcel Schlecht", "2017-01-02"],
        ["Codehow", "Software", "", "", "Moses Frase", "2017-03-04"],
    ])  # fmt: skip
    cases.append({"file": "accounts_export.csv", "args": [], "rows": [
        {"row": 2, "customer": "Cancity", "fields": {"industry": "Retail", "region": "Hangzhou", "owner": "Moses Frase", "phone": None,
                                                     "created_at": "2016-10-20"}},
        {"row": 3, "customer": "Isdom", "fields": {"industry": "Medical", "region": "Shanghai", "created_at": "2017-01-02"}},
        {"row": 4, "customer": "Codehow", "fields": {"industry": "Software", "region": None}},
    ]})  # fmt: skip

    # 2. A lead list: a person column next to a company column that is often empty; 客户手机号.
    _csv(out / "leads_persons.csv", [
        ["客户姓名", "公司名称", "客户手机号", "来源", "备注"],
        ["张伟", "", "13800000001", "抖音", "想要报价"],
        ["李娜", "杭州云帆科技有限公司", "139 0000 0002", "展会", ""],
        ["王强", "", "+86 137-0000-0003", "", ""],
    ])  # fmt: skip
    cases.append({"file": "leads_persons.csv", "args": [], "rows": [
        {"row": 2, "customer": "张伟", "fields": {"contact": "张伟", "phone": "13800000001", "source": "抖音", "notes": "想要报价"}},
        {"row": 3, "customer": "杭州云帆科技有限公司", "fields": {"contact": "李娜", "phone": "139 0000 0002", "source": "展会"}},
        {"row": 4, "customer": "王强", "fields": {"contact": "王强", "phone": "+86 137-0000-0003"}},
    ]})  # fmt: skip

    # 3. A 客户公海 sheet without a header row: names, phones stored as numbers, a city.
    _xlsx(out / "public_pool.xlsx", {"客户公海": [
        ["赵敏", 13600000001, "苏州"],
        ["钱进", 13600000002, "无锡"],
        ["孙丽", 1.3600000003e10, ""],
    ]})  # fmt: skip
    cases.append({"file": "public_pool.xlsx", "args": [], "error": "--no-header --map A=name --map B=phone", "then": {
        "args": ["--no-header", "--map", "A=name", "--map", "B=phone", "--map", "C=region"], "rows": [
            {"row": 1, "customer": "赵敏", "fields": {"phone": "13600000001", "region": "苏州"}},
            {"row": 2, "customer": "钱进", "fields": {"phone": "13600000002", "region": "无锡"}},
            {"row": 3, "customer": "孙丽", "fields": {"phone": "13600000003", "region": None}},
        ]}})  # fmt: skip

    # 4. A pipeline export from an American tool: US dates, its own stage names.
    _csv(out / "us_pipeline_contacts.csv", [
        ["Company", "Phone", "Lead Status", "Created Date", "Title"],
        ["Acme Corp", "(415) 555-0101", "Prospecting", "3/11/2017", "CEO"],
        ["Globex", "415-555-0102", "Engaging", "12/1/2016", "CTO"],
        ["Initech", "415 555 0103", "Won", "2017-02-13", ""],
        ["Umbrella", "4155550104", "Engaging", "13/1/2017", ""],
    ])  # fmt: skip
    cases.append({"file": "us_pipeline_contacts.csv", "args": [], "rows": [
        {"row": 2, "rejected": "ambiguous"},
        {"row": 3, "rejected": "unknown stage 'Engaging'"},
        {"row": 4, "customer": "Initech", "fields": {"stage": "won", "created_at": "2017-02-13"}},
        {"row": 5, "rejected": "unknown stage 'Engaging'"},
    ], "unknown_values": {("stage", "Engaging"): 2}, "then": {
        "args": ["--date-order", "mdy", "--map-value", "stage:Engaging=intent"], "rows": [
            {"row": 2, "customer": "Acme Corp", "fields": {"stage": "potential", "created_at": "2017-03-11", "title": "CEO", "phone": "(415) 555-0101"}},
            {"row": 3, "customer": "Globex", "fields": {"stage": "intent", "created_at": "2016-12-01"}},
            {"row": 4, "skipped": "duplicate"},
            {"row": 5, "rejected": "13/1/2017"},  # no 13th month: --date-order mdy cannot read it
        ]}})  # fmt: skip

    # 5. Phone cells as people type them (seed 004's Contact_Info example among them).
    _csv(out / "phone_cells.csv", [
        ["客户名称", "联系人", "联系方式", "备注"],
        ["科技有限公司", "王经理", "电话:13922220001(同微信)", ""],
        ["贸易有限公司", "李经理", "手机：139 2222 0002 / 微信同号", "老客户"],
        ["物流有限公司", "赵经理", "13922220003, 13922220004", ""],
        ["建材有限公司", "钱经理", "010-62345678转123", ""],
        ["某某商行", "孙老板", "138", ""],
    ])  # fmt: skip
    cases.append({"file": "phone_cells.csv", "args": [], "rows": [
        {"row": 2, "customer": "科技有限公司", "fields": {"phone": "13922220001", "notes": "同微信"}},
        {"row": 3, "customer": "贸易有限公司", "fields": {"phone": "139 2222 0002", "notes": "老客户; 微信同号"}},
        {"row": 4, "customer": "物流有限公司", "fields": {"phone": "13922220003", "other_phones": "13922220004"}},
        {"row": 5, "customer": "建材有限公司", "fields": {"phone": "010-62345678转123"}},
        {"row": 6, "rejected": "138"},
    ]})  # fmt: skip

    # 6. A contact export: First + Last Name, Mobile next to Phone, an e-mail.
    _csv(out / "contacts_export.csv", [
        ["First Name", "Last Name", "Company", "Mobile", "Phone", "Email", "Lead Source"],
        ["Lei", "Li", "Bright Star Ltd", "13911110001", "010-88886666", "li.lei@brightstar.example", "Web"],
        ["Mei", "Han", "", "13911110002", "", "han.mei@example.com", "Referral"],
    ])  # fmt: skip
    cases.append({"file": "contacts_export.csv", "args": [], "rows": [
        {"row": 2, "customer": "Bright Star Ltd", "fields": {"contact": "Lei Li", "phone": "13911110001", "other_phones": "010-88886666",
                                                             "email": "li.lei@brightstar.example", "source": "Web"}},
        {"row": 3, "customer": "Mei Han", "fields": {"contact": "Mei Han", "phone": "13911110002", "source": "Referral"}},
    ]})  # fmt: skip

    # 7. A WPS export with a title banner, the template's example rows, totals and a footer.
    _xlsx(out / "wps_customer_list.xlsx", {"客户信息表": [
        ["序号", "客户名称", "联系人", "手机", "客户等级", "预计成交金额(元)", "备注"],
        ["例", "XXXXXXX有限公司", "XXX", "138XXXXXXXX", "重点客户", 100000, "示例行，导入前请删除"],
        [1, "宁波海纳电子有限公司", "周总", "13512340001", "重点客户", 200000, ""],
        [2, "温州百川鞋业有限公司", "吴总", "13512340002", "普通客户", 50000, ""],
        [3, "", "", "", "", "", ""],
        ["合计", "", "", "", "", 250000, ""],
        ["制表人：小陈", "", "审核：老王", "", "", "", ""],
        ["共2户", "", "", "", "", "", ""],
    ]}, banner="2024年客户信息登记表")  # fmt: skip
    cases.append({"file": "wps_customer_list.xlsx", "args": [], "rows": [
        {"row": 3, "skipped": "example"},
        {"row": 4, "customer": "宁波海纳电子有限公司", "fields": {"contact": "周总", "level": "key", "amount": 200000}},
        {"row": 5, "customer": "温州百川鞋业有限公司", "fields": {"level": "normal", "amount": 50000}},
        {"row": 6, "skipped": "blank"},
        {"row": 7, "skipped": "summary"},
        {"row": 8, "skipped": "summary"},
        {"row": 9, "skipped": "summary"},
    ]})  # fmt: skip

    # 8. A shop register saved as GBK CSV: 店铺名称, 省/市/区, 详细地址, 微信号, 录入日期.
    _csv(out / "shop_register_gbk.csv", [
        ["店铺名称", "店主", "手机号", "微信号", "省", "市", "区", "详细地址", "录入日期"],
        ["老街面馆", "陈师傅", "15800000001", "laojie_mian", "浙江省", "杭州市", "西湖区", "文三路100号", "2024/3/5"],
        ["便民超市", "刘阿姨", "15800000002", "", "江苏省", "南京市", "", "中山路8号", "2024年3月6日"],
    ], encoding="gb18030")  # fmt: skip
    cases.append({"file": "shop_register_gbk.csv", "args": [], "rows": [
        {"row": 2, "customer": "老街面馆", "fields": {"wechat": "laojie_mian", "region": "浙江省杭州市西湖区", "address": "文三路100号",
                                                   "created_at": "2024-03-05", "phone": "15800000001"}},
        {"row": 3, "customer": "便民超市", "fields": {"region": "江苏省南京市", "address": "中山路8号", "created_at": "2024-03-06"}},
    ]})  # fmt: skip

    # 9. Seed 003's statistics table: purchase history and service columns.
    _xlsx(out / "seed003_statistics.xlsx", {"客户管理信息统计表": [
        ["客户编号", "客户名称", "联系人", "联系电话", "最近合作时间", "合作次数", "累计消费金额(元)", "主要产品/服务", "反馈问题类型", "满意度评分"],
        ["KH001", "华东机电有限公司", "孙工", "13700001111", dt.date(2024, 4, 20), 12, 185000, "电机; 变频器", "物流时效", 4],
        ["KH002", "西南农资有限公司", "蒋工", "13700002222", dt.date(2024, 5, 2), 3, "2.5万", "化肥", "", ""],
    ]})  # fmt: skip
    cases.append({"file": "seed003_statistics.xlsx", "args": [], "rows": [
        {"row": 2, "customer": "华东机电有限公司", "fields": {"code": "KH001", "opening_orders": 12, "opening_amount": 185000,
                                                       "opening_last_order_at": "2024-04-20", "opening_products": "电机; 变频器"}},
        {"row": 3, "customer": "西南农资有限公司", "fields": {"opening_orders": 3, "opening_amount": 25000}},
    ], "tickets": 1})  # fmt: skip

    # 10. Levels from a spreadsheet of another team: values nobody knows, one re-run fixes all.
    _csv(out / "levels_vip.csv", [
        ["客户名称", "电话", "客户级别"],
        ["甲公司", "13300000001", "VIP"],
        ["乙公司", "13300000002", "VIP"],
        ["丙公司", "13300000003", "一般"],
        ["丁公司", "13300000004", "B"],
    ])  # fmt: skip
    cases.append({"file": "levels_vip.csv", "args": [], "rows": [
        {"row": 2, "rejected": "unknown level 'VIP'"},
        {"row": 3, "rejected": "unknown level 'VIP'"},
        {"row": 4, "rejected": "unknown level '一般'"},
        {"row": 5, "customer": "丁公司", "fields": {"level": "normal"}},
    ], "unknown_values": {("level", "VIP"): 2, ("level", "一般"): 1}, "then": {
        "args": ["--map-value", "level:VIP=key", "--map-value", "level:一般=normal"], "rows": [
            {"row": 2, "customer": "甲公司", "fields": {"level": "key"}},
            {"row": 3, "customer": "乙公司", "fields": {"level": "key"}},
            {"row": 4, "customer": "丙公司", "fields": {"level": "normal"}},
            {"row": 5, "skipped": "duplicate"},
        ]}})  # fmt: skip

    # 11. A workbook of several sheets: instructions, customers, the follow-up log keyed by code.
    _xlsx(out / "workbook_with_log.xlsx", {
        "填写说明": [["1. 客户编号必填"], ["2. 跟进记录按客户编号关联"]],
        "客户基本信息表": [
            ["Customer_ID", "Customer_Name", "Industry", "Contact_Person", "Contact_Info", "Level"],
            ["C20240501001", "科技有限公司", "制造业", "*经理", "电话:13922220001(同微信)", "重点客户"],
            ["C20240501002", "贸易有限公司", "零售业", "李经理", "13922220002", "普通客户"],
        ],
        "客户跟进记录表": [
            ["Follow_ID", "Customer_ID", "Follow_Date", "Follow_User", "Follow_Method", "Content", "Feedback", "Next_Plan", "Status_Change"],
            ["F001", "C20240501001", dt.date(2024, 5, 9), "*销售", "电话沟通", "客户确认了产品需求", "积极", "5月12日前发送3个行业案例", "否"],
            ["F002", "C20240509999", dt.date(2024, 5, 10), "*销售", "拜访", "面谈", "", "", "否"],
        ],
    })  # fmt: skip
    cases.append({"file": "workbook_with_log.xlsx", "args": [], "rows": [
        {"row": 3, "customer": "科技有限公司", "fields": {"code": "C20240501001", "last_follow_at": "2024-05-09", "level": "key",
                                                   "phone": "13922220001"}},
        {"row": 4, "customer": "贸易有限公司", "fields": {"code": "C20240501002", "last_follow_at": None, "level": "normal"}},
        {"row": 3, "sheet": "客户跟进记录表", "rejected": "no customer C20240509999"},
    ], "follow_ups": 1, "notes": ["sheet '填写说明' not imported: no header row with columns we know"]})  # fmt: skip
    return cases


def _jsonable(cases: list[dict[str, Any]]) -> Any:
    def fix(x: Any) -> Any:
        if isinstance(x, dict):
            return {("/".join(k) if isinstance(k, tuple) else k): fix(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fix(v) for v in x]
        return x

    return fix(cases)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "files"
    built = build(target)
    (target / "expected.json").write_text(json.dumps(_jsonable(built), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(built)} files in {target}")
