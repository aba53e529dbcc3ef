"""The import template: an empty workbook with the customer columns, drop-downs and an example row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crmcli import fields, vocab
from crmcli.io import writers
from crmcli.services.export_sheets import columns, custom_columns
from crmcli.services.export_tables import ENUMS, TEMPLATE_COLUMNS, title
from crmcli.services.exporter import ExportResult, output

_EXAMPLE = {
    "zh": {
        "code": "示例", "name": "ABC科技有限公司", "contact": "张伟", "title": "采购经理",
        "phone": "13812345678", "email": "zhangwei@abc.com", "industry": "互联网", "source": "展会推广",
        "owner": "李娜", "need": "企业定制化办公软件", "tags": "高预算;华东", "notes": "",
        "content": "电话沟通方案, 客户要求报价", "by": "李娜", "next_plan": "发送报价单",
    },
    "en": {
        "code": "EXAMPLE", "name": "ABC Technology Co., Ltd.", "contact": "Zhang Wei", "title": "Purchasing manager",
        "phone": "13812345678", "email": "zhangwei@abc.com", "industry": "Internet", "source": "Trade show",
        "owner": "Li Na", "need": "Custom office software", "tags": "big budget;east", "notes": "",
        "content": "Walked through the proposal; asked for a quote", "by": "Li Na", "next_plan": "Send the quote",
    },
}  # fmt: skip
_EXAMPLE_ENUMS = {"level": "key", "stage": "intent", "method": "phone", "feedback": "positive"}
_EXAMPLE_DATES = {"created_at": dt.date(2024, 5, 8), "date": dt.date(2024, 5, 10), "next_date": dt.date(2024, 5, 17)}

_HELP = {
    "zh": [
        "客户信息导入模板 (crm import 文件.xlsx)",
        "",
        "1. 每行一个客户。带 * 的列必填: 客户名称、联系电话。",
        "2. 第 2 行 (灰色斜体, 客户编号为“示例”) 是示例: 导入时自动跳过, 也可以删除。",
        "3. 客户编号可以留空, 导入时自动生成 (C + 年月 + 3 位流水号, 如 C202405001)。",
        "4. 客户等级、当前销售阶段、跟进方式、客户反馈: 请从下拉菜单选择。",
        "   客户等级: 重点客户 / 普通客户 / 潜力客户; 当前销售阶段: 潜在客户 / 意向客户 / 谈判中 / 成交客户 / 流失客户。",
        "5. 日期写成 2024-05-08; 金额可写 50000、5万 或 ¥1,200.50。",
        "6. 联系电话、客户编号两列是文本格式, 长号码不会变成科学计数法。",
        "7. 多个标签用分号 (;) 分隔。",
        "8. 填了跟进日期、跟进内容等列的行, 导入时同时记一条跟进记录。",
        "9. 同名同电话的客户不会重复创建; 用 --on-duplicate update 可以更新已有客户。",
    ],
    "en": [
        "Customer import template (crm import FILE.xlsx)",
        "",
        "1. One customer per row. Columns marked * are required: Name and Phone.",
        "2. Row 2 (grey italics, Code \"EXAMPLE\") is an example: import skips it; you may delete it.",
        "3. Code may be left empty: import gives one (C + year-month + 3-digit serial, e.g. C202405001).",
        "4. Level, Stage, Method and Feedback: pick a value from the drop-down list.",
        "   Level: Key / Normal / Potential; Stage: Potential / Intent / Negotiating / Won / Lost.",
        "5. Write dates as 2024-05-08; amounts as 50000, 5万 or ¥1,200.50.",
        "6. Phone and Code are Text columns, so long numbers never turn into scientific notation.",
        "7. Separate several tags with semicolons (;).",
        "8. A row with Follow-up date, Content, ... filled in also records that follow-up.",
        "9. A customer with the same name and phone is never created twice; "
        "--on-duplicate update updates the existing one.",
    ],
}


def write_template(target: Path, *, lang: str, custom: Sequence[fields.Field] = ()) -> ExportResult:
    """An empty import workbook: headers (* on required), drop-downs, an example row, instructions;
    the custom fields' columns after the built-in ones."""
    example: list[Any] = []
    for key in TEMPLATE_COLUMNS:
        if key in ENUMS:
            example.append(vocab.label(ENUMS[key], _EXAMPLE_ENUMS[key], lang))
        elif key in _EXAMPLE_DATES:
            example.append(_EXAMPLE_DATES[key])
        elif key == "amount":
            example.append(50000)
        else:
            example.append(_EXAMPLE[lang].get(key) or None)
    measured = {k: writers.display_width(str(v)) for k, v in zip(TEMPLATE_COLUMNS, example, strict=True) if v}
    measured["phone"] = 16.0
    measured["notes"] = max(measured.get("notes", 0), 20.0)
    help_lines = _HELP[lang]
    sheets = [
        writers.Sheet(
            title=title("customers", lang),
            columns=columns(TEMPLATE_COLUMNS, measured, lang, template=True) + custom_columns(custom),
            example_rows=[example + [None] * len(custom)],
        ),
        writers.Sheet(
            title=title("help", lang),
            columns=[writers.Column(header=title("help", lang), width=100.0)],
            rows=[[line or None] for line in help_lines],
            freeze=False,
            autofilter=False,
        ),
    ]
    with output(target, "xlsx") as fh:
        writers.write_xlsx(fh, sheets)
    return ExportResult(str(target), "xlsx", 0)
