"""The enumerated fields: canonical keys, zh/en labels and accepted aliases (spec §2).

Stored values are always the canonical English keys. Input accepts the key, the
English label, the zh label or any alias, compared case-, width- and
whitespace-insensitively.
"""

from __future__ import annotations

import unicodedata

from crmcli.errors import ParseError
from crmcli.i18n import N_, Text

STAGES = ("potential", "intent", "negotiating", "won", "lost")
LEVELS = ("key", "normal", "potential")
METHODS = ("phone", "visit", "email", "wechat", "meeting", "other")
FEEDBACKS = ("positive", "hesitant", "negative")
STATUSES = ("open", "in_progress", "resolved")  # a service ticket's (spec §15)

FIELDS: dict[str, tuple[str, ...]] = {
    "stage": STAGES,
    "level": LEVELS,
    "method": METHODS,
    "feedback": FEEDBACKS,
    "status": STATUSES,
    "deal_stage": STAGES,  # an opportunity's stage (spec §13): the customer stages, named for a deal
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
    "status": {"open": "待处理", "in_progress": "处理中", "resolved": "已解决"},
    "deal_stage": {"potential": "潜在", "intent": "意向", "negotiating": "谈判中", "won": "成交", "lost": "丢单"},
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
    "status": {"open": "Open", "in_progress": "In progress", "resolved": "Resolved"},
    "deal_stage": {k: k.capitalize() for k in STAGES},
}

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "stage": {
        # the English names other CRMs give an opportunity's stages (spec §13) too
        "potential": ("潜在", "线索", "lead", "Prospecting", "Prospect"),
        "intent": ("意向", "Qualification", "Qualified"),
        "negotiating": ("谈判", "方案报价", "报价", "Proposal", "Negotiation"),
        "won": ("成交", "已成交", "老客户", "新客户", "复购客户", "Closed Won"),
        "lost": ("流失", "已流失", "Closed Lost"),
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
    "status": {
        "open": ("未处理", "待办", "未解决", "new"),
        "in_progress": ("进行中", "跟进中", "in-progress", "processing"),
        "resolved": ("解决", "已处理", "已完成", "完成", "closed", "done"),
    },
}
# An opportunity's stage takes every name of the customer's, and a deal's own words.
ALIASES["deal_stage"] = {
    k: (*ALIASES["stage"][k], ZH_LABELS["stage"][k], *{"won": ("赢单",), "lost": ("输单", "丢单", "失败")}.get(k, ()))
    for k in STAGES
}
# what a message calls a vocabulary ("unknown stage '待定'"), in the display language when shown
NAMES = {
    "stage": Text(N_("stage")), "deal_stage": Text(N_("stage")), "level": Text(N_("level")),
    "method": Text(N_("method")), "feedback": Text(N_("feedback")), "status": Text(N_("status")),
}  # fmt: skip

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
        raise ParseError(N_("unknown {value} '{value2}'; accepted: {accepted}"), value=NAMES.get(field, field), value2=value, accepted=accepted)
    return key


def label(field: str, key: str | None, lang: str) -> str:
    """The display label of ``key`` in ``lang`` (``zh`` or ``en``)."""
    if key is None:
        return ""
    labels = ZH_LABELS if lang == "zh" else EN_LABELS
    return labels[field].get(key, key)

# The flags of `report alerts` (spec §8), in column order: the report's SQL and its sheet read them.
ALERT_FLAGS = ("dormant", "stale", "overdue", "complaints", "quiet")
