"""The field registry: every field a user sees, declared once (spec §11).

A ``Field`` says what a field is called (its JSON key, zh and en labels, the column headers an
import accepts), what kind of value it holds, and where it appears. Everything else is derived
from these declarations: import header matching (``io.columns``), validation (``kind``), export
columns, table headers, JSON keys and ``show``. Adding a built-in field is one entry here plus a
migration that adds its column.

Kinds: ``code`` (an identifier, kept as text), ``text`` (NFKC, trimmed), ``prose`` (kept as
typed: need, notes, content), ``phone``, ``email``, ``enum`` (a vocabulary of ``vocab``),
``money``, ``number``, ``date``, ``tags``, ``bool``.

Custom fields (``crm field add``) are ``Field`` objects too, made from their stored definition
(``custom_field(...)``), so the import, export, list and show code treats both alike.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("code", "text", "prose", "phone", "email", "enum", "money", "number", "date", "tags", "bool", "choice", "custom")
CUSTOM_TYPES = ("text", "number", "money", "date", "choice")


@dataclass(frozen=True)
class Field:
    key: str  # JSON key and stored column
    zh: str  # label in zh (also the export header in zh)
    en: str  # label in en
    kind: str = "text"
    headers: tuple[str, ...] = ()  # other column headers an import reads this field from
    enum: str | None = None  # the vocabulary of an enum field (vocab.FIELDS)
    imported: bool = True  # an import writes it
    exported: bool = True  # a column of `crm export`
    in_json: bool = True  # a key of `list --format json` (and of the customer object)
    in_show: bool = True  # a line of the `show` card
    derived: bool = False  # computed by crm; import reads it as information only
    repeats: bool = False  # few distinct values in a file (industry, owner): worth memoising when parsed
    custom: bool = False
    choices: tuple[str, ...] = ()  # a custom `choice` field's values

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def typed(self, text: str | None) -> object:
        """A stored custom value as JSON shows it: numbers as numbers, the rest as text."""
        if text is None or self.kind not in ("number", "money"):
            return text
        number = float(text)
        return int(number) if number.is_integer() else number

    @property
    def names(self) -> tuple[str, ...]:
        """Every header that names this field: key, labels, then the other accepted headers."""
        return (self.zh, self.en, self.key, *self.headers) if self.custom else (self.zh, self.en, *self.headers)


# The customer, in the order of spec §9's columns (then what only JSON and show carry).
CUSTOMER: tuple[Field, ...] = (
    Field("code", "客户编号", "Code", "code", ("Customer_ID", "客户ID", "客户代码", "编号", "CustomerCode")),
    Field(
        "name", "客户名称", "Name", "text",
        ("Customer_Name", "客户名称(单位/个人)", "客户公司全称", "公司名称", "企业名称", "单位名称", "客户全称", "客户",
         "Company", "CompanyName", "Company Name", "Customer", "Account", "Account Name", "Account_Name", "Organization",
         "店铺名称", "店名", "门店名称", "商户名称", "商家名称", "客户单位"),
    ),  # fmt: skip
    Field("contact", "联系人", "Contact", "text", ("Contact_Person", "联系人姓名", "主要联系人", "ContactName", "对接人")),
    Field("title", "联系人职位", "Title", "text", ("Contact_Job", "职位", "职务", "JobTitle", "Position"), repeats=True),
    Field(
        "phone", "联系电话", "Phone", "phone",
        ("Contact_Info", "联系方式(手机*)", "联系方式(手机)", "联系方式", "电话", "手机", "手机号", "手机号码", "电话号码",
         "客户手机号", "客户手机", "客户电话", "移动电话", "座机", "固定电话", "办公电话", "Mobile", "Mobile Phone", "Tel",
         "Telephone", "PhoneNumber", "Phone Number", "Work Phone", "Cell"),
    ),  # fmt: skip
    # A second phone column (手机 + 座机), or a second number in the phone cell: matched and looked up too.
    Field("other_phones", "其他电话", "Other phones", "text", ("其它电话", "备用电话", "OtherPhones", "Other Phone")),
    Field("email", "邮箱", "Email", "email", ("电子邮箱", "电子邮件", "邮件地址", "E-mail", "Mail", "Email Address")),
    Field("wechat", "微信", "WeChat", "text", ("微信号", "微信账号", "WeChat ID", "Wechat")),
    Field("industry", "所属行业", "Industry", "text", ("行业", "Sector", "Industry Type"), repeats=True),
    Field("source", "客户来源", "Source", "text", ("来源", "来源渠道", "获客渠道", "Channel", "Lead Source", "Lead_Source"), repeats=True),
    Field("region", "区域", "Region", "text", ("客户所属区域", "所属区域", "地区", "省市区", "所在地区", "所在地", "Territory", "Area"), repeats=True),
    Field("address", "地址", "Address", "prose", ("详细地址", "客户地址", "公司地址", "联系地址", "通讯地址", "Street", "Billing Street", "Mailing Street")),
    Field("level", "客户等级", "Level", "enum", ("等级", "客户级别", "Grade"), enum="level"),
    Field(
        "stage", "当前销售阶段", "Stage", "enum",
        ("销售阶段", "客户销售阶段", "当前阶段", "阶段", "客户类型", "合作状态", "Status", "客户状态", "Lead Status", "Lead Stage"), enum="stage",
    ),  # fmt: skip
    Field(
        "owner", "负责人", "Owner", "text",
        ("Create_User", "创建人", "负责销售", "销售负责人", "Responsible", "销售人员", "业务员", "Account Owner", "Lead Owner",
         "Sales Agent", "Sales Rep"),
        repeats=True,
    ),  # fmt: skip
    Field("need", "核心需求", "Need", "prose", ("客户需求描述", "客户需求", "需求描述", "需求", "初始需求")),
    Field("tags", "标签", "Tags", "tags", ("客户标签", "自定义标签", "Tag"), repeats=True),
    Field("notes", "备注", "Notes", "prose", ("客户备注", "Note", "Remark", "Remarks", "Comments")),
    Field(
        "amount", "预计成交金额", "Expected amount", "money",
        ("预计成交金额(元)", "预估金额", "预估金额(元)", "Amount", "预计金额", "ExpectedAmount"),
    ),  # fmt: skip
    Field("expected_close", "预计成交日期", "Expected close", "date", ("Expected_Date", "预计成交时间", "ExpectedClose")),
    Field("lost_reason", "流失原因", "Lost reason", "prose", ("LostReason",)),
    Field(
        "created_at", "创建日期", "Created", "date",
        ("首次接触时间", "首次接触日期", "First_Date", "创建时间", "首次合作时间", "CreatedAt", "录入日期", "录入时间", "登记日期",
         "添加时间", "Created Date", "Create Date", "Created Time"),
    ),  # fmt: skip
    Field(
        "last_follow_at", "最后跟进日期", "Last follow-up", "date",
        ("最近跟进时间", "最近跟进日期", "最后跟进时间", "LastFollowUp"), derived=True,
    ),  # fmt: skip
    Field(
        "next_follow_at", "下次跟进日期", "Next follow-up", "date", ("Next date", "下次跟进时间", "NextFollowUp"),
        derived=True,
    ),  # fmt: skip
    # Purchase history (seed 003, spec §13): worked out from the won opportunities plus the opening
    # balance below; an import reads these columns of our export as information only.
    Field("orders", "成交次数", "Orders", "number", ("Orders",), derived=True),
    Field("total_amount", "累计成交金额", "Total amount", "money", ("TotalAmount",), derived=True),
    Field("last_order_at", "最近成交日期", "Last order", "date", ("LastOrder",), derived=True),
    Field("main_products", "主要成交产品", "Main products", "tags", ("MainProducts",), derived=True),
    # The opening balance: 合作次数 / 累计消费金额 / 最近合作时间 / 主要产品 of an imported sheet, kept as
    # they were; later won opportunities add to them (185,000 + a 10,000 deal = 195,000).
    Field("opening_orders", "期初合作次数", "Opening orders", "number", ("合作次数", "合作次数(次)", "OpeningOrders")),
    Field(
        "opening_amount", "期初累计消费金额", "Opening amount", "money",
        ("累计消费金额", "累计消费", "累计消费额", "累计合作金额", "OpeningAmount"),
    ),  # fmt: skip
    Field(
        "opening_last_order_at", "期初最近合作时间", "Opening last order", "date",
        ("最近合作时间", "最近合作日期", "最后合作时间", "OpeningLastOrder"),
    ),  # fmt: skip
    Field(
        "opening_products", "期初主要产品", "Opening products", "prose",
        ("主要产品/服务", "主要产品", "主要采购产品/服务", "主要采购产品", "主营产品", "OpeningProducts"),
    ),  # fmt: skip
    Field("archived", "已归档", "Archived", "bool", imported=False, exported=False, in_show=False),
    # The customer's custom fields (spec §11), one JSON object: {KEY: VALUE}.
    Field("fields", "自定义字段", "Custom fields", "custom", imported=False, exported=False, in_show=False),
)

# One follow-up (跟进记录), as the export's second sheet and an import row's follow-up columns.
FOLLOW_UP: tuple[Field, ...] = (
    Field("date", "跟进日期", "Follow-up date", "date", ("Follow_Date", "跟进时间", "Date", "日期", "FollowUpDate")),
    Field("method", "跟进方式", "Method", "enum", ("Follow_Method", "沟通方式"), enum="method"),
    Field("content", "跟进内容", "Content", "prose", ("沟通内容", "跟进情况", "FollowUp")),
    Field("feedback", "客户反馈", "Feedback", "enum", (), enum="feedback"),
    Field("by", "跟进人", "By", "text", ("Follow_User", "跟进人员"), repeats=True),
    Field("next_date", "下次跟进日期", "Next follow-up", "date", imported=False),  # the customer's next_follow_at reads it
    Field("next_plan", "下次跟进计划", "Next plan", "prose", ("Next_Plan", "下一步计划", "下一步", "跟进计划")),
)

# A service ticket (客户服务, spec §15): `crm ticket list`, the export's third sheet, and the ticket
# columns an import reads (seed 003's 统计表: 反馈问题类型, 处理状态, 满意度评分, 处理负责人).
TICKET: tuple[Field, ...] = (
    Field("code", "工单编号", "Ticket", "code", ("Ticket_ID", "工单号", "TicketCode")),
    Field("customer", "客户编号", "Customer code", "code", imported=False),
    Field("name", "客户名称", "Customer name", "text", imported=False),
    Field("type", "反馈问题类型", "Issue type", "text", ("问题类型", "反馈类型", "投诉类型", "IssueType", "TicketType"), repeats=True),
    Field("status", "处理状态", "Ticket status", "enum", ("问题处理状态", "工单状态", "TicketStatus"), enum="status"),
    Field("satisfaction", "满意度评分", "Satisfaction", "number", ("满意度", "客户满意度", "CSAT")),
    Field("handler", "处理负责人", "Handler", "text", ("处理人", "负责处理人", "TicketHandler"), repeats=True),
    Field("opened_at", "反馈日期", "Opened", "date", ("投诉日期", "工单日期", "OpenedAt")),
    Field("resolved_at", "解决日期", "Resolved", "date", ("处理完成日期", "ResolvedAt")),
    Field("content", "问题描述", "Issue", "prose", ("反馈内容", "投诉内容", "问题内容", "IssueDescription")),
    Field("note", "处理备注", "Resolution note", "prose", ("处理结果", "TicketNote")),
)
TICKET_BY_KEY = {f.key: f for f in TICKET}
# An opportunity (销售机会, spec §13), in the order of `crm deal list --format csv` and the export's
# opportunities sheet (which import back: seed 004's 销售机会阶段表 and other CRMs' headers are read).
OPPORTUNITY: tuple[Field, ...] = (
    Field(
        "code", "机会编号", "Opportunity", "code",
        ("Opportunity_ID", "Opportunity ID", "机会ID", "商机编号", "OpportunityCode", "Deal ID", "DealID"),
    ),  # fmt: skip
    Field("customer_code", "客户编号", "Customer code", "code", ("Customer_ID", "客户ID", "CustomerCode", "Account ID", "AccountID")),
    Field(
        "customer_name", "客户名称", "Customer", "text",
        ("Account", "Account Name", "Customer_Name", "Customer Name", "客户", "客户全称", "公司名称", "企业名称", "单位名称", "Company"),
        repeats=True,
    ),  # fmt: skip
    Field("name", "机会名称", "Name", "text", ("Opportunity_Name", "Opportunity Name", "商机名称", "项目名称", "Deal Name", "DealName")),
    Field(
        "stage", "阶段", "Stage", "enum", ("deal_stage", "Deal Stage", "当前阶段", "机会阶段", "商机阶段", "销售阶段", "当前销售阶段"),
        enum="deal_stage",
    ),  # fmt: skip
    Field(
        "amount", "金额", "Amount", "money",
        ("预估金额", "预估金额(元)", "close_value", "Close Value", "Deal Value", "成交金额", "预计金额", "预计成交金额", "合同金额", "Value"),
    ),  # fmt: skip
    Field("probability", "成交概率", "Probability", "number", ("成交概率(%)", "Probability(%)", "Win Probability", "赢率")),
    Field("expected_close", "预计成交日期", "Expected close", "date", ("Expected_Date", "Expected Date", "Expected Close Date", "预计成交时间")),
    Field("owner", "负责人", "Owner", "text", ("Responsible", "sales_agent", "Sales Agent", "销售人员", "负责销售", "销售负责人", "销售"), repeats=True),
    Field("products", "产品", "Products", "text", ("Product", "产品名称"), repeats=True),  # NAME[:QTY[:PRICE]]; ...
    Field("created_at", "创建日期", "Created", "date", ("engage_date", "Engage Date", "Created Date", "创建时间", "开始日期")),
    Field("closed_at", "关闭日期", "Closed", "date", ("close_date", "Close Date", "成交日期", "Closed Date", "签约日期")),
    Field("lost_reason", "流失原因", "Lost reason", "prose", ("LostReason", "丢单原因", "输单原因")),
    Field("external_id", "外部编号", "External ID", "code", ("ExternalID",)),
)
# Who recorded an opportunity: a column of the export's 销售机会 sheet (not of `deal list`), so an
# import into another database keeps it instead of naming the importing user.
DEAL_BY = Field("by", "录入人", "Recorded by", "text", ("RecordedBy",), repeats=True)
# A stage change (spec §5, §18), as the export's 阶段变更 sheet: an import reads it back as the
# customer's stage history (its current stage is the customer sheet's), so the dates derived from
# it (a stage change counts as contact) survive a round trip.
STAGE_CHANGE: tuple[Field, ...] = (
    Field("customer", "客户编号", "Customer code", "code"),
    Field("name", "客户名称", "Customer name", "text"),
    Field("date", "变更日期", "Changed on", "date", ("阶段变更日期", "Change date", "ChangedOn")),
    Field("from_stage", "原阶段", "From stage", "enum", ("From", "FromStage"), enum="stage"),
    Field("to_stage", "新阶段", "To stage", "enum", ("To", "ToStage"), enum="stage"),
    Field("by", "操作人", "Changed by", "text", ("ChangedBy",), repeats=True),
    Field("reason", "原因", "Reason", "prose", ("变更原因", "流失原因")),
    Field("deal", "机会编号", "Opportunity", "code", ("Opportunity_ID",)),
)
# A custom field's definition (spec §11), as the export's 自定义字段 sheet: an import into another
# database defines the fields it lacks before it reads the customers' columns of them.
CUSTOM_FIELD: tuple[Field, ...] = (
    Field("key", "字段键", "Key", "code"),
    Field("label", "字段名称", "Label", "text"),
    Field("type", "字段类型", "Type", "text"),
    Field("choices", "可选值", "Choices", "text"),
)
# A line of an opportunity (`crm deal show`), and a product (`crm product list`).
DEAL_LINE: tuple[Field, ...] = (
    Field("product", "产品", "Product", "text"),
    Field("quantity", "数量", "Quantity", "number", ("Qty",)),
    Field("unit_price", "单价", "Unit price", "money", ("Price",)),
    Field("amount", "金额", "Amount", "money"),
)
PRODUCT: tuple[Field, ...] = (
    Field("code", "产品编号", "Code", "code"),
    Field("name", "产品名称", "Name", "text"),
    Field("price", "单价", "Price", "money"),
)

# What lists and reports show besides the customer's own fields.
DISPLAY: tuple[Field, ...] = (
    Field("overdue_days", "逾期天数", "Days overdue", "number"),
    Field("last_method", "最后跟进方式", "Last method", "enum", enum="method"),
    Field("next_plan", "下次跟进计划", "Next plan", "prose"),
    Field("from_stage", "原阶段", "From", "enum", enum="stage"),
    Field("to_stage", "新阶段", "To", "enum", enum="stage"),
    Field("reason", "原因", "Reason", "prose"),
    Field("batch", "批次", "Batch", "number"),
    Field("file", "文件", "File", "text"),
    Field("started_at", "导入时间", "Started", "code"),  # a time: never folded
    Field("created", "新建", "Created", "number"),
    Field("updated", "更新", "Updated", "number"),
    Field("skipped", "跳过", "Skipped", "number"),
    Field("rejected", "拒绝", "Rejected", "number"),
    Field("follow_ups", "跟进记录", "Follow-ups", "number"),
    Field("undone_at", "撤销时间", "Undone", "text"),
)

CUSTOMER_BY_KEY = {f.key: f for f in CUSTOMER}
FOLLOW_UP_BY_KEY = {f.key: f for f in FOLLOW_UP}
OPPORTUNITY_BY_KEY = {f.key: f for f in OPPORTUNITY}

_BY_KEY: dict[str, Field] = {}
# the customer's own labels win (next_follow_at, ...); an opportunity's table names its own (``labels``)
for _f in (*PRODUCT, *DEAL_LINE, *OPPORTUNITY, *DISPLAY, *FOLLOW_UP, *CUSTOMER):
    _BY_KEY[_f.key] = _f
# A follow-up's own date reads 日期 in a timeline, and its next date 下次跟进日期.
_BY_KEY["date"] = Field("date", "日期", "Date", "date")


def get(key: str) -> Field | None:
    return _BY_KEY.get(key)


def label(key: str, lang: str) -> str:
    """The column header of ``key`` in ``lang`` (the key itself for a field nobody declared)."""
    f = _BY_KEY.get(key)
    return key if f is None else f.label(lang)


def enum_of(key: str) -> str | None:
    """The vocabulary whose labels a column ``key`` shows (stage, level, method, feedback), or None."""
    f = _BY_KEY.get(key)
    return None if f is None else f.enum


def customer_keys(*, where: str) -> tuple[str, ...]:
    """The customer's field keys that appear ``where``: json | show | export | import."""
    attr = {"json": "in_json", "show": "in_show", "export": "exported", "import": "imported"}[where]
    return tuple(f.key for f in CUSTOMER if getattr(f, attr))


def due_keys() -> tuple[str, ...]:
    """The keys of a due-list row (spec §6): the customer's, then what the due list adds."""
    return (*customer_keys(where="json"), "overdue_days", "last_method", "next_plan")


def labels(of: tuple[Field, ...], lang: str) -> dict[str, str]:
    """Key -> column header in ``lang`` for a record that is not a customer (an opportunity, a product)."""
    return {f.key: f.label(lang) for f in of}


def custom_field(key: str, label_: str, type_: str, choices: tuple[str, ...] = ()) -> Field:
    """A custom field (``crm field add``) as a Field: one label in both languages."""
    kind = {"text": "prose", "number": "number", "money": "money", "date": "date", "choice": "choice"}[type_]
    return Field(key, label_, label_, kind, custom=True, choices=choices)
