from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli import vocab
from crmcli.errors import ParseError


@pytest.mark.parametrize(
    ("field", "text", "key"),
    [
        ("stage", "潜在客户", "potential"), ("stage", "线索", "potential"), ("stage", "LEAD", "potential"),
        ("stage", "意向", "intent"), ("stage", "方案报价", "negotiating"), ("stage", "报价", "negotiating"),
        ("stage", "老客户", "won"), ("stage", "复购客户", "won"), ("stage", "已流失", "lost"),
        ("stage", " Negotiating ", "negotiating"), ("level", "A", "key"), ("level", "ｂ", "normal"),
        ("level", "潜力客户", "potential"), ("method", "电话", "phone"), ("method", "上门", "visit"),
        ("method", "视频会议", "meeting"), ("method", "WeChat", "wechat"), ("method", "邮件发送", "email"),
        ("feedback", "观望", "hesitant"), ("feedback", "积 极", "positive"),
    ],
)  # fmt: skip
def test_aliases(field: str, text: str, key: str) -> None:
    assert vocab.parse(field, text) == key


def test_unknown_value_names_field_value_and_accepted() -> None:
    with pytest.raises(ParseError) as info:
        vocab.parse("stage", "沉睡")
    msg = str(info.value)
    assert "stage" in msg and "沉睡" in msg and "negotiating" in msg and "谈判中" in msg


@given(st.sampled_from(list(vocab.FIELDS)), st.data())
def test_labels_round_trip(field: str, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(vocab.FIELDS[field]))
    for lang in ("zh", "en"):
        assert vocab.parse(field, vocab.label(field, key, lang)) == key


@given(st.text(max_size=20))
def test_parse_never_raises_anything_else(text: str) -> None:
    for field in vocab.FIELDS:
        try:
            vocab.parse(field, text)
        except ParseError:
            pass


@pytest.mark.parametrize(
    ("field", "text", "key"),
    [("stage", "潛在客戶", "potential"), ("stage", "談判中", "negotiating"), ("stage", "成交客戶", "won"),
     ("level", "重點客戶", "key"), ("method", "電話溝通", "phone"), ("method", "現場拜訪", "visit"),
     ("feedback", "猶豫", "hesitant"), ("feedback", "積極", "positive")],
)  # fmt: skip
def test_traditional_script_is_accepted(field: str, text: str, key: str) -> None:
    assert vocab.parse(field, text) == key
