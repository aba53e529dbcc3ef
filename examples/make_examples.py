"""(Re)generate the example files in this folder, deterministically (same bytes on every run).

    python examples/make_examples.py

* ``customers.xlsx``: the seed-000 template, sheet 客户信息总表: a merged title banner above
  the header, the template's 21 columns (序号 ... 备注), 40 customers with one follow-up each,
  dates as real date cells, some phones as number cells. Every row is valid, so
  ``crm import examples/customers.xlsx`` exits 0 (the README Quick start).
* ``followup-log.xlsx``: the seed-002 sheet: 关键联系人(姓名/职位), 联系方式(手机*),
  跟进记录(时间-方式-内容-下一步计划) text cells, 当前销售阶段, 预计成交金额(元) as "50,000"
  or "5万", 成交日期, 客户状态 活跃/沉睡/流失; one customer on several rows (a flat log), and
  three rows the importer must reject (a masked phone stub, an unknown stage, an impossible
  date), to show the rejects file (exit status 3).
* ``leads.csv``: English headers (seed 004's Customer_* / Follow_* names), UTF-8.
* ``opportunities.xlsx``: seed 004's 销售机会阶段表 (Opportunity_ID, Customer_ID, Opportunity_Name,
  Stage, Amount, Probability, Expected_Date, Responsible) under a title banner: 18 opportunities
  of customers in ``customers.xlsx`` (by 客户编号), open, won (closed on Expected_Date) and lost
  (amount 0), one owned by someone other than the account's owner. Every row is valid, so
  ``crm import examples/customers.xlsx && crm import examples/opportunities.xlsx`` exits 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED = dt.datetime(2026, 11, 1, 9, 0, 0)

SALES = ("王磊", "李娜", "张伟")
SOURCES = ("展会推广", "线上广告", "客户转介绍", "主动拜访", "官网咨询")
METHODS = ("电话沟通", "现场拜访", "邮件发送", "微信", "线上会议")
STAGES = ("潜在客户", "意向客户", "意向客户", "谈判中", "成交客户", "流失客户")
INDUSTRIES = {
    "互联网": ("科技", ("企业定制化办公软件", "小程序开发", "云服务器租赁服务")),
    "制造业": ("制造", ("定制化生产管理系统", "MES系统上线", "设备预测性维护方案")),
    "零售业": ("商贸", ("门店智能收银系统升级", "会员管理系统", "节日礼盒定制")),
    "教育培训": ("教育", ("在线课程平台", "教务管理系统")),
    "物流": ("物流", ("运输管理系统", "仓储外包服务")),
    "医疗健康": ("医疗", ("医院信息化系统", "员工体检套餐")),
}
CITIES = ("北京", "上海", "深圳", "广州", "杭州", "成都", "南京", "武汉", "苏州", "西安")
BRANDS = (
    "华信", "恒泰", "鑫源", "博睿", "智远", "瑞祥", "嘉鼎", "腾飞", "明辉", "星耀", "宏达", "天中", "永昌", "润泽",
    "启迪", "卓越", "精准", "捷迅", "合众", "融邦", "磊岩", "灵美", "雅尚", "悦欣", "荣富", "吉福", "同心", "驰骏",
    "麒麟", "凤鸣", "鹏程", "坤元", "晟昊", "昱晖", "琪瑾", "维纳", "迈普", "朗帆", "承诺", "百川",
)  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建华", "志强", "晓东", "海燕")
TITLES = ("采购经理", "总经理", "技术总监", "运营经理", "IT主管", "行政主管", "财务经理", "项目经理")
CONTENTS = {
    "积极": ("客户对方案很感兴趣，要求下周提供详细报价", "客户确认了需求范围，预算已批", "演示效果很好，客户准备内部立项"),
    "犹豫": ("客户觉得价格偏高，希望分期付款", "客户还在比较两家供应商", "决策人出差，暂缓推进"),
    "消极": ("客户已选择其他供应商", "客户预算取消，暂无需求"),
}
PLANS = ("发送定制方案并报价", "安排产品演示", "电话确认采购预算", "寄送样品", "约见决策人")
STATUS = ("活跃", "活跃", "沉睡")


def _fix_zip(path: Path) -> None:
    """openpyxl stamps the save time into the zip and docProps/core.xml; pin both."""
    data = path.read_bytes()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                import re

                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", r"\g<1>2026-11-01T09:00:00Z\g<2>", text)
                body = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    path.write_bytes(out.getvalue())


def _workbook():  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.creator = "crmcli examples"
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    return wb


def _phone(r: random.Random) -> str:
    return "1" + r.choice("3456789") + "".join(r.choice("0123456789") for _ in range(9))


def customers(path: Path) -> None:
    from openpyxl.styles import Alignment, Font

    r = random.Random(2024)
    wb = _workbook()
    ws = wb.active
    ws.title = "客户信息总表"
    headers = [
        "序号", "客户编号", "客户名称", "所属行业", "客户类型", "联系人(*)", "联系人职位", "联系电话(*)", "邮箱",
        "客户来源", "核心需求(*)", "跟进日期", "跟进人(*)", "跟进方式", "跟进内容(*)", "客户反馈", "合作状态",
        "下次跟进计划", "创建日期", "最后跟进日期", "备注",
    ]  # fmt: skip
    ws.append(["客户信息总表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(headers)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    start = dt.date(2026, 5, 6)
    serial: dict[str, int] = {}
    used: set[str] = set()
    for i in range(40):
        created = start + dt.timedelta(days=i * 4 + r.randrange(3))
        month = f"{created:%Y%m}"
        serial[month] = serial.get(month, 0) + 1
        industry = r.choice(list(INDUSTRIES))
        word, needs = INDUSTRIES[industry]
        while True:
            name = f"{r.choice(CITIES)}{r.choice(BRANDS)}{word}有限公司"
            if name not in used:
                used.add(name)
                break
        stage = r.choice(STAGES)
        feedback = "消极" if stage == "流失客户" else r.choice(("积极", "积极", "犹豫"))
        follow = created + dt.timedelta(days=r.randrange(1, 20))
        contact = r.choice(SURNAMES) + r.choice(GIVEN)
        phone: object = _phone(r)
        if i % 5 == 2:
            phone = int(str(phone))  # typed without a leading ', so Excel stored a number
        email = f"contact{i + 1:02d}@example.com" if i % 4 else None
        plan = None if stage == "流失客户" else r.choice(PLANS)
        notes = ("转介绍自老客户", "对价格敏感", "需要发票", None, None, None)[i % 6]
        ws.append([
            i + 1, f"C{month}{serial[month]:03d}", name, industry, stage, contact, r.choice(TITLES), phone, email,
            r.choice(SOURCES), r.choice(needs), follow, r.choice(SALES), r.choice(METHODS),
            r.choice(CONTENTS[feedback]), feedback, "流失" if stage == "流失客户" else r.choice(STATUS), plan,
            created, follow, notes,
        ])  # fmt: skip
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    widths = (6, 13, 26, 10, 10, 9, 11, 14, 24, 11, 22, 12, 9, 10, 34, 8, 8, 18, 12, 13, 16)
    for k, w in enumerate(widths):
        ws.column_dimensions[chr(65 + k)].width = w
    ws.freeze_panes = "A3"
    wb.save(path)
    _fix_zip(path)


def followup_log(path: Path) -> None:
    from openpyxl.styles import Font

    wb = _workbook()
    ws = wb.active
    ws.title = "客户关系管理"
    headers = [
        "序号", "客户名称", "所属行业", "客户来源", "关键联系人(姓名/职位)", "联系方式(手机*)", "客户需求描述",
        "首次接触时间", "最近跟进时间", "跟进记录(时间-方式-内容-下一步计划)", "当前销售阶段", "预计成交金额(元)",
        "成交日期", "客户状态", "备注",
    ]  # fmt: skip
    ws.append(["销售业务客户关系管理表格"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(headers)
    d = dt.date
    rows = [
        ["A科技有限公司", "IT服务", "展会推广", "张伟/采购经理", "13812345678", "需要云服务器租赁服务", d(2026, 8, 15), d(2026, 9, 20),
         "09-20电话沟通:客户对配置要求明确，预算5万/年，需10月前上线;下一步:9月25日前发送定制方案并报价。", "谈判中", "50,000", "-", "活跃", "客户对响应速度要求高"],
        ["B商贸公司", "零售业", "客户转介绍", "李娜/总经理", "13956781234", "寻找长期合作的供应商", d(2026, 7, 10), d(2026, 9, 18),
         "09-18跟进:客户已收到样品，反馈质量合格，需确认批量采购折扣;下一步:明日告知批量订单优惠政策。", "意向客户", "80,000", "-", "活跃", "转介绍自C客户，信任度高"],
        ["C制造集团", "制造业", "线上推广", "王强/技术总监", "13790123456", "需要定制化生产管理系统", d(2026, 6, 5), d(2026, 8, 30),
         "08-30拜访:客户提出需集成现有ERP系统，技术对接复杂;暂无明确预算，需持续跟进。", "潜在客户", "20万", "-", "沉睡", "预算需明年Q1确认"],
        ["D连锁超市", "零售业", "主动拜访", "赵敏/运营经理", "13634567890", "需要门店智能收银系统升级", d(2026, 5, 20), d(2026, 7, 15),
         "07-15电话:客户因内部调整暂停采购，后续需求暂缓。", "流失客户", "-", "-", "流失", "内部组织架构变动"],
        # the same customer A again: a flat log lists one customer on several rows
        ["A科技有限公司", "IT服务", "展会推广", "张伟/采购经理", "13812345678", "需要云服务器租赁服务", d(2026, 8, 15), d(2026, 9, 26),
         "09-26邮件沟通:已发送定制方案和报价单，客户内部评审中;下一步:10月8日电话确认评审结果。", "谈判中", "50,000", "-", "活跃", None],
        ["E物流有限公司", "物流", "线上广告", "陈杰/调度主管", "13512349876", "运输管理系统", d(2026, 9, 1), d(2026, 10, 9),
         "10-09现场拜访:签订合同，首付款已到账。", "成交客户", "12万", d(2026, 10, 9), "活跃", "复购潜力大"],
        ["F教育集团", "教育培训", "官网咨询", "周芳/教务主任", "18611112222", "在线课程平台", d(2026, 9, 12), d(2026, 10, 20),
         "10-20线上会议:演示了课程平台，客户关注并发人数;下一步:10月27日前提供压测报告。", "意向客户", "3.5万", "-", "活跃", None],
        # rows the importer must reject: a masked phone stub, an unknown stage, an impossible date
        ["G医疗器械公司", "医疗健康", "展会推广", "吴*/采购经理", "138", "医院信息化系统", d(2026, 8, 1), d(2026, 9, 2),
         "09-02电话沟通:客户要求提供资质文件。", "意向客户", "-", "-", "活跃", "手机号只记了前三位"],
        ["H建设工程公司", "建筑工程", "客户转介绍", "郑涛/项目经理", "13798765432", "工程项目管理软件", d(2026, 7, 3), d(2026, 9, 9),
         "09-09拜访:客户在比价。", "待定", "15万", "-", "沉睡", None],
        ["I文化传媒", "文化传媒", "线上广告", "孙丽/策划经理", "15011223344", "品牌宣传片拍摄", "2026-02-30", d(2026, 9, 15),
         "09-15微信:客户发来脚本初稿。", "潜在客户", "2万", "-", "活跃", None],
    ]  # fmt: skip
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    widths = (6, 16, 10, 11, 18, 15, 24, 13, 13, 60, 12, 16, 12, 9, 22)
    for k, w in enumerate(widths):
        ws.column_dimensions[chr(65 + k)].width = w
    wb.save(path)
    _fix_zip(path)


def leads(path: Path) -> None:
    header = [
        "Customer_ID", "Customer_Name", "Industry", "Contact_Person", "Contact_Job", "Contact_Info", "Source",
        "First_Date", "Status", "Level", "Create_User", "Follow_Date", "Follow_Method", "Content", "Feedback", "Next_Plan",
    ]  # fmt: skip
    rows = [
        ["", "Northwind Trading Co.", "Retail", "Nancy Davolio", "Purchasing Manager", "+86 138 0013 8000", "Trade show", "2026-10-12", "Intent", "Key", "lucy", "2026-10-20", "Phone", "Asked for a quote on 200 POS terminals", "Positive", "Send the quote"],
        ["", "Contoso Logistics", "Logistics", "Wang Fang", "Dispatch Lead", "13911112222", "Website", "2026-10-15", "Potential", "Normal", "lucy", "", "", "", "", ""],
        ["", "Fabrikam 制造有限公司", "Manufacturing", "刘洋", "厂长", "021-6234 5678 ext 801", "Referral", "2026-09-30", "Negotiating", "Key", "tom", "2026-10-28", "Visit", "On-site demo of the MES module; IT wants an integration plan", "Hesitant", "Integration plan by Friday"],
        ["", "Tailspin Toys", "Retail", "Mark Hassall", "Owner", "+86 186 0000 1234", "Online ad", "2026-11-02", "Lead", "Potential", "tom", "2026-11-03", "Email", "Sent the catalogue", "", "Call next week"],
        ["", "Adventure Works 教育", "Education", "陈静", "校长", "13577778888", "Cold call", "2026-08-18", "Won", "Key", "lucy", "2026-09-01", "Meeting", "Contract signed for the spring term", "Positive", ""],
        ["", "Litware Health", "Healthcare", "Dr. Zhou", "IT Director", "0755-8888 6666", "Trade show", "2026-07-22", "Lost", "Normal", "tom", "2026-08-05", "Phone", "Chose another vendor", "Negative", ""],
        ["", "Proseware Data", "Internet", "Li Lei", "CTO", "13300001111", "Website", "2026-11-10", "Intent", "Normal", "lucy", "2026-11-12", "WeChat", "Interested in the data backup plan", "Positive", "Demo on 11-20"],
        ["", "Wide World Importers", "Retail", "Han Meimei", "Buyer", "13800002222", "Referral", "2026-10-01", "Potential", "Potential", "tom", "", "", "", "", ""],
    ]  # fmt: skip
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


# (Opportunity_ID, Customer_ID, Opportunity_Name, Stage, Amount, Probability, Expected_Date, Responsible):
# written as seed 004 writes them (方案报价, 60 for 60%), amounts as numbers or 万 text.
OPPORTUNITIES = (
    ("O202605001", "C202605003", "苏州磊岩商贸门店收银系统升级", "成交", 186000, 100, (2026, 6, 18), "张伟"),
    ("O202606001", "C202606002", "武汉同心物流运输管理系统", "成交", 320000, 100, (2026, 7, 9), "张伟"),
    ("O202606002", "C202605001", "西安融邦制造MES系统上线", "意向", 450000, 30, (2027, 1, 20), "张伟"),
    ("O202607001", "C202607008", "北京卓越科技云服务器租赁", "成交", 96000, 100, (2026, 8, 28), "王磊"),
    ("O202607002", "C202607003", "杭州天中科技企业定制化办公软件", "方案报价", 280000, 60, (2026, 12, 15), "王磊"),
    ("O202607003", "C202607004", "上海瑞祥医疗医院信息化系统", "丢单", 0, 0, (2026, 9, 30), "张伟"),
    ("O202608001", "C202607006", "南京博睿商贸会员管理系统", "谈判", 150000, 70, (2026, 12, 5), "王磊"),
    ("O202608002", "C202608005", "深圳启迪制造设备预测性维护方案", "成交", 520000, 100, (2026, 10, 16), "张伟"),
    ("O202608003", "C202607007", "南京坤元教育在线课程平台", "方案报价", "12万", 50, (2027, 1, 10), "张伟"),
    ("O202609001", "C202608006", "成都恒泰商贸节日礼盒定制", "成交", 68000, 100, (2026, 9, 25), "王磊"),
    ("O202609002", "C202609001", "北京鑫源医疗员工体检套餐", "谈判", 88000, 60, (2026, 12, 20), "张伟"),
    ("O202609003", "C202606005", "南京维纳商贸门店收银系统", "意向", 60000, 30, (2027, 2, 28), "李娜"),
    ("O202609004", "C202608007", "西安坤元科技小程序开发", "丢单", 0, 0, (2026, 10, 20), "李娜"),
    ("O202610001", "C202609007", "武汉天中物流仓储外包服务", "成交", 240000, 100, (2026, 10, 30), "王磊"),
    ("O202610002", "C202609002", "广州华信教育教务管理系统", "意向", 75000, 40, (2027, 3, 15), "王磊"),
    ("O202610003", "C202610002", "苏州永昌商贸会员管理系统", "成交", 58000, 100, (2026, 10, 28), "李娜"),
    ("O202610004", "C202610003", "武汉鑫源科技云服务器租赁服务", "意向", "3.6万", 30, (2027, 1, 31), "王磊"),
    ("O202610005", "C202606003", "南京灵美科技小程序开发", "潜在", 40000, 10, (2027, 4, 30), "王磊"),
)


def opportunities(path: Path) -> None:
    from openpyxl.styles import Alignment, Font

    wb = _workbook()
    ws = wb.active
    ws.title = "销售机会阶段表"
    headers = ["Opportunity_ID", "Customer_ID", "Opportunity_Name", "Stage", "Amount", "Probability", "Expected_Date", "Responsible"]
    ws.append(["销售机会阶段表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(headers)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for code, customer, name, stage, amount, probability, (y, m, d), owner in OPPORTUNITIES:
        ws.append([code, customer, name, stage, amount, probability, dt.date(y, m, d), owner])
    for row in ws.iter_rows(min_row=3):
        row[4].number_format = "#,##0"
        row[6].number_format = "yyyy-mm-dd"
    for k, w in enumerate((15, 13, 34, 9, 11, 11, 13, 11)):
        ws.column_dimensions[chr(65 + k)].width = w
    ws.freeze_panes = "A3"
    wb.save(path)
    _fix_zip(path)


def main() -> None:
    customers(HERE / "customers.xlsx")
    followup_log(HERE / "followup-log.xlsx")
    leads(HERE / "leads.csv")
    opportunities(HERE / "opportunities.xlsx")
    for name in ("customers.xlsx", "followup-log.xlsx", "leads.csv", "opportunities.xlsx"):
        print(HERE / name)


if __name__ == "__main__":
    main()
