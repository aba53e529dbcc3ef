"""Identity keys ignore characters that show nothing (spec §3, §4, §9).

Two names that differ only by a format character (category Cf: zero-width spaces and joiners,
direction marks and isolates, the soft hyphen, the BOM, tag characters), a variation selector
or a blank-looking filler (Hangul fillers, the braille blank, the combining grapheme joiner)
are one customer, whether added or imported; phones, REF lookup and import headers are not
fooled by them either.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from crmcli import normalize
from crmcli.errors import ParseError
from crmcli.io.columns import field_of
from crmcli.normalize import drop_invisible, name_key, phone_key
from crmcli.services.importer import cells
from tests.conftest import Crm
from tests.test_import import csv_file, run_import, xlsx

# Every character or range the adversarial report listed.
LISTED = [
    *map(chr, range(0x200B, 0x2010)), *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2060, 0x2065)),
    *map(chr, range(0x2066, 0x206A)), "\u034f", *map(chr, range(0xFE00, 0xFE10)), "\u3164", "\u115f", "\u1160",
    "\uffa0", "\u180e", "\u2800", "\u061c", "\u00ad", "\ufeff", *map(chr, range(0xE0000, 0xE0080)),
]  # fmt: skip
# The same class, beyond the list: every Cf of this Python, and the other variation selectors.
CF = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
MORE = ["\u180b", "\u180c", "\u180d", "\u180f", "\U000e0100", "\U000e01ef", "\u17b4", "\u17b5"]
INVISIBLE = sorted(set(LISTED) | set(CF) | set(MORE))

invisible = st.sampled_from(INVISIBLE)
name_text = st.text(
    st.one_of(
        st.sampled_from(list("abcXYZ 0123&.()-张三李四贸易有限公司科技（）ＡＢ　é\u0301ｶﾞ가각")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    min_size=1,
    max_size=12,
)


def _old_name_key(text: str) -> str:
    """The 0001 release's rule, for names it already handled: the new key must not move them."""
    import re

    drop = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+")
    key = text
    for _ in range(4):
        new = drop.sub("", unicodedata.normalize("NFKC", key)).casefold()
        if new == key:
            break
        key = new
    return key


def _insert(text: str, chars: list[str], positions: list[int]) -> str:
    out = list(text)
    for ch, pos in zip(chars, positions, strict=False):
        out.insert(pos % (len(out) + 1), ch)
    return "".join(out)


# --------------------------------------------------------------------------- normalize


def test_the_class_covers_every_format_character_of_this_python() -> None:
    assert all(drop_invisible(f"a{ch}b") == "ab" for ch in INVISIBLE)
    # and nothing a person can see
    for visible in ("a", " ", "\u3000", "é", "\u0301", "中", "ｶ", "\ufffc", "\u2801", "\u3165", "😀", "\U000e1000"):
        assert drop_invisible(visible) == visible


@pytest.mark.parametrize("ch", LISTED, ids=lambda c: f"U+{ord(c):04X}")
def test_each_listed_character_leaves_the_name_key_alone(ch: str) -> None:
    assert name_key(f"星辰{ch}贸易") == name_key(f"{ch}星辰贸易{ch}") == "星辰贸易"
    assert name_key(f"ABC{ch}{ch}Trading") == "abctrading"


@settings(max_examples=400, deadline=None)
@given(name_text, st.lists(invisible, min_size=1, max_size=4), st.lists(st.integers(0, 99), min_size=4, max_size=4))
@example("e\u0301", ["\u034f"], [1, 0, 0, 0])  # the grapheme joiner blocks composition until dropped
@example("가", ["\u200d"], [0, 0, 0, 0])
@example("-", ["\u200e"], [1, 0, 0, 0])  # an empty marker stays empty
@example("N/A", ["\ufe0f"], [1, 0, 0, 0])
def test_inserting_invisible_characters_never_changes_the_key(text: str, chars: list[str], positions: list[int]) -> None:
    try:
        key = name_key(text)
    except ParseError:
        with pytest.raises(ParseError):
            name_key(_insert(text, chars, positions))
        return
    assert name_key(_insert(text, chars, positions)) == key
    assert not any(ch in key for ch in INVISIBLE)


@settings(max_examples=400, deadline=None)
@given(name_text)
def test_keys_of_names_without_them_are_unchanged(text: str) -> None:
    assume(drop_invisible(text) == text and not any(ch in unicodedata.normalize("NFKC", text) for ch in INVISIBLE))
    try:
        key = name_key(text)
    except ParseError:
        return
    assert key == _old_name_key(text)


def test_drop_invisible_returns_ascii_as_it_is() -> None:
    text = "Plain ASCII name"
    assert drop_invisible(text) is text


@pytest.mark.parametrize("ch", ["\u200e", "\u2063", "\ufe0f", "\u3164", "\u2800", "\U000e0041", "\u00ad"])
def test_phones_and_headers_are_not_fooled(ch: str) -> None:
    assert phone_key(f"138{ch}1234{ch}5678") == "13812345678"
    assert normalize.clean_phone(f"{ch}138 1234 5678{ch}") == "138 1234 5678"
    assert phone_key(f"010-{ch}12345678") == "01012345678"
    assert field_of(f"客户{ch}名称") == "name" and field_of(f"{ch}Phone{ch}") == "phone"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["13812345678", "+86 138 1234 5678", "010-12345678", "0755-1234567转8", "+1 415 555 0199", "138"]),
    st.lists(invisible, min_size=1, max_size=3),
    st.lists(st.integers(0, 99), min_size=3, max_size=3),
)
def test_inserting_invisible_characters_never_changes_a_phone_key(phone: str, chars: list[str], positions: list[int]) -> None:
    try:
        key = phone_key(phone)
    except ParseError:
        with pytest.raises(ParseError):
            phone_key(_insert(phone, chars, positions))
        return
    assert phone_key(_insert(phone, chars, positions)) == key


def test_a_name_of_invisible_characters_only_is_empty() -> None:
    for text in ("\u200e", "\u3164\u2800", "\ufe0f", "\U000e0041\U000e007f"):
        with pytest.raises(ParseError, match="name is empty"):
            name_key(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("ab中Xé가\u200e\ufe0f\u3164\u2800\u034f\u00ad ")), min_size=1, max_size=6), min_size=1, max_size=5))
def test_importer_name_key_fast_path_equals_name_key(names: list[str]) -> None:
    for name in names:
        try:
            expected = name_key(name)
        except ParseError:
            with pytest.raises(ParseError):
                cells._name_key(name)
            continue
        assert cells._name_key(name) == expected


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize("ch", ["\u200e", "\u202e", "\u2063", "\u2066", "\ufe0f", "\u3164", "\u2800", "\u034f", "\U000e0041"])
def test_add_refuses_an_invisible_twin(crm: Crm, ch: str) -> None:
    code = crm.ok("add", "星辰贸易", "--phone", "13811112222").strip()
    for name in (f"星辰{ch}贸易", f"{ch}星辰贸易", f"星辰贸易{ch}"):
        result = crm("add", name, "--phone", "13811112222")
        assert result.exit_code == 1, name
        assert result.stderr.count("Error:") == 1 and code in result.stderr
    assert len(crm.json("list")) == 1


def test_clean_add_refused_after_an_invisible_one(crm: Crm) -> None:
    crm.ok("add", "蓝天\u3164物流", "--phone", "13844445555")
    result = crm("add", "蓝天物流", "--phone", "138 4444 5555")
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert crm("edit", "蓝天物流", "--name", "蓝天\u2800物流").exit_code == 0
    assert len(crm.json("list")) == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_matches_invisible_twins(crm: Crm, crm_env: Path, tmp_path: Path, fmt: str) -> None:
    crm.ok("add", "星辰贸易", "--phone", "13811112222")
    crm.ok("add", "云端科技", "--phone", "13822223333")
    rows = [
        ["客户名称", "联系电话"],
        ["星辰\u200e贸易", "13811112222"],  # a direction mark: not printable, cell by cell
        ["云端\ufe0f科技", "13822223333"],  # a variation selector: printable, whole-column fast path
        ["海纳\u3164百川", "13833334444"],
        ["海纳百川", "138\u200b3333\u20634444"],  # the same customer again, phone too
    ]
    path = csv_file(tmp_path / "a.csv", rows) if fmt == "csv" else xlsx(tmp_path / "a.xlsx", rows)
    status, out, _ = run_import(crm, path)
    assert status == 0 and out["created"] == 1 and out["skipped"] == 3
    # the new customer's name is stored as typed (NFKC: U+3164 is U+1160)
    assert sorted(drop_invisible(c["name"]) for c in crm.json("list")) == ["云端科技", "星辰贸易", "海纳百川"]


def test_import_header_with_invisible_characters(crm: Crm, tmp_path: Path) -> None:
    rows = [["\u200b客户\u200e名称", "联系\u2060电话\ufe0f"], ["甲公司", "13800000001"]]
    status, out, _ = run_import(crm, csv_file(tmp_path / "h.csv", rows))
    assert status == 0 and out["created"] == 1 and out["unknown_columns"] == []


def test_ref_lookup_ignores_invisible_characters(crm: Crm) -> None:
    code = crm.ok("add", "星辰贸易", "--phone", "13811112222").strip()
    crm.ok("add", "其他公司", "--phone", "13900000000")
    for ref in (f"{code}\u200b", f"\u2066{code}\u2069", "星辰\u200e贸易", "星\ufe0f辰", "138\u200e1111\u200e2222"):
        assert crm.json("show", ref)["code"] == code, ref
    assert [c["code"] for c in crm.json("list", "--search", "星\u2063辰")] == [code]
