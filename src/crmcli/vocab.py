"""The enumerated fields: canonical keys, zh/en labels and accepted aliases (spec §2).

Stored values are always the canonical English keys. Input accepts the key, the
English label, the zh label or any alias, compared case-, width- and
whitespace-insensitively.
"""

from __future__ import annotations

import unicodedata

from crmcli.errors import ParseError

STAGES = ("potential", "intent", "negotiating", "won", "lost")
LEVELS = ("key", "normal", "potential")
METHODS = ("phone", "visit", "email", "wechat", "meeting", "other")
FEEDBACKS = ("positive", "hesitant", "negative")

FIELDS: dict[str, tuple[str, ...]] = {
    "stage": STAGES,
    "level": LEVELS,
    "method": METHODS,
    "feedback": FEEDBACKS,
}

ZH_LABELS: dict[str, dict[str, str]] = {
    "stage": {
        "potential": "潜在客户",
        "intent": "意向客户",
        "negotiating": "谈判中",
        "won": "成交客户",
        "lost": "流失客户",
    },
    "level": {"key": "重点客户", "normal": "普通客户", "potential": "潜力客户"},
    "method": {
        "phone": "电话沟通",
        "visit": "现场拜访",
        "email": "邮件",
        "wechat": "微信",
        "meeting": "会议",
        "other": "其他",
    },
    "feedback": {"positive": "积极", "hesitant": "犹豫", "negative": "消极"},
}

EN_LABELS: dict[str, dict[str, str]] = {
    "stage": {k: k.capitalize() for k in STAGES},
    "level": {k: k.capitalize() for k in LEVELS},
    "method": {
        "phone": "Phone",
        "visit": "Visit",
        "email": "Email",
        "wechat": "WeChat",
        "meeting": "Meeting",
        "other": "Other",
    },
    "feedback": {k: k.capitalize() for k in FEEDBACKS},
}

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "stage": {
        "potential": ("潜在", "线索", "lead"),
        "intent": ("意向",),
        "negotiating": ("谈判", "方案报价", "报价"),
        "won": ("成交", "已成交", "老客户", "新客户", "复购客户"),
        "lost": ("流失", "已流失"),
    },
    "level": {"key": ("重点", "A"), "normal": ("普通", "B"), "potential": ("潜力", "C")},
    "method": {
        "phone": ("电话",),
        "visit": ("拜访", "线下拜访", "上门"),
        "email": ("邮件发送", "邮件沟通"),
        "wechat": (),
        "meeting": ("线上会议", "视频会议", "行业会议"),
        "other": (),
    },
    "feedback": {"positive": (), "hesitant": ("观望",), "negative": ()},
}

FIELD_NAMES_ZH = {"stage": "阶段", "level": "等级", "method": "跟进方式", "feedback": "客户反馈"}


def fold(text: str) -> str:
    """Case-, width-, whitespace- and script-insensitive form used to compare vocabulary."""
    from crmcli.hanzi import simplify

    return simplify("".join(unicodedata.normalize("NFKC", text).split()).casefold())


def _build_lookup() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for field, keys in FIELDS.items():
        lookup: dict[str, str] = {}
        for key in keys:
            names = (key, EN_LABELS[field][key], ZH_LABELS[field][key], *ALIASES[field][key])
            for name in names:
                lookup[fold(name)] = key
        table[field] = lookup
    return table


_LOOKUP = _build_lookup()


def lookup(field: str, value: str) -> str | None:
    """Return the canonical key for ``value`` or None when it is not a known value."""
    return _LOOKUP[field].get(fold(value))


def parse(field: str, value: str) -> str:
    """Return the canonical key for ``value``; an unknown value is a ParseError."""
    key = lookup(field, value)
    if key is None:
        accepted = ", ".join(f"{k} ({ZH_LABELS[field][k]})" for k in FIELDS[field])
        raise ParseError(f"unknown {field} '{value}'; accepted: {accepted}")
    return key


def label(field: str, key: str | None, lang: str) -> str:
    """The display label of ``key`` in ``lang`` (``zh`` or ``en``)."""
    if key is None:
        return ""
    labels = ZH_LABELS if lang == "zh" else EN_LABELS
    return labels[field].get(key, key)


# Column headers shared by list/show output, export and import (spec §9), zh / en.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "code": ("客户编号", "Code"),
    "name": ("客户名称", "Name"),
    "contact": ("联系人", "Contact"),
    "title": ("联系人职位", "Title"),
    "phone": ("联系电话", "Phone"),
    "email": ("邮箱", "Email"),
    "industry": ("所属行业", "Industry"),
    "source": ("客户来源", "Source"),
    "level": ("客户等级", "Level"),
    "stage": ("当前销售阶段", "Stage"),
    "owner": ("负责人", "Owner"),
    "need": ("核心需求", "Need"),
    "tags": ("标签", "Tags"),
    "notes": ("备注", "Notes"),
    "amount": ("预计成交金额", "Expected amount"),
    "expected_close": ("预计成交日期", "Expected close"),
    "lost_reason": ("流失原因", "Lost reason"),
    "created_at": ("创建日期", "Created"),
    "last_follow_at": ("最后跟进日期", "Last follow-up"),
    "next_follow_at": ("下次跟进日期", "Next follow-up"),
    "overdue_days": ("逾期天数", "Days overdue"),
    "last_method": ("最后跟进方式", "Last method"),
    "next_plan": ("下次跟进计划", "Next plan"),
    "archived": ("已归档", "Archived"),
    "date": ("日期", "Date"),
    "method": ("跟进方式", "Method"),
    "feedback": ("客户反馈", "Feedback"),
    "content": ("跟进内容", "Content"),
    "by": ("跟进人", "By"),
    "next_date": ("下次跟进日期", "Next date"),
    "from_stage": ("原阶段", "From"),
    "to_stage": ("新阶段", "To"),
    "reason": ("原因", "Reason"),
    "batch": ("批次", "Batch"),
    "file": ("文件", "File"),
    "started_at": ("导入时间", "Started"),
    "created": ("新建", "Created"),
    "updated": ("更新", "Updated"),
    "skipped": ("跳过", "Skipped"),
    "rejected": ("拒绝", "Rejected"),
    "follow_ups": ("跟进记录", "Follow-ups"),
    "undone_at": ("撤销时间", "Undone"),
}


def column_label(key: str, lang: str) -> str:
    zh, en = COLUMN_LABELS.get(key, (key, key))
    return zh if lang == "zh" else en


# Which vocabulary a column's values belong to, for display labels.
COLUMN_FIELD = {
    "stage": "stage", "level": "level", "method": "method", "last_method": "method",
    "feedback": "feedback", "from_stage": "stage", "to_stage": "stage",
}  # fmt: skip
