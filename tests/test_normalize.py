"""crmcli.normalize: examples for every case of spec §2, §3, §5 and §9, plus properties.

The fuzz tests at the end check the one promise every parser makes: whatever a cell
holds, it returns or raises ParseError, never anything else.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import crmcli
from crmcli.errors import ParseError
from crmcli.normalize import (
    EMPTY_MARKERS,
    clean_phone,
    clean_text,
    is_empty,
    looks_sensitive,
    mask_email,
    mask_phone,
    name_key,
    parse_date,
    parse_money,
    phone_key,
)

TODAY = dt.date(2026, 11, 26)

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
dates = st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31))


def fullwidth(text: str) -> str:
    """ASCII -> its full-width form, as a Chinese IME types it."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def returns_or_parse_error(fn: Callable[..., object], *args: object) -> None:
    try:
        fn(*args)
    except ParseError:
        pass


# --------------------------------------------------------------------------- module


def test_import_is_cheap() -> None:
    src = str(Path(crmcli.__file__).resolve().parent.parent)
    code = (
        "import sys, crmcli.normalize; "
        "heavy = [m for m in ('dateutil', 'phonenumbers', 'decimal') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src},
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- empty / text


@pytest.mark.parametrize(
    "value",
    [None, "", " ", "\t\n", "\u3000", "-", "—", "——", "/", "无", "N/A", "n/a", "N/a", " n/A ",
     "－", "／", "Ｎ／Ａ", "\u200b", " \ufeff "],
)  # fmt: skip
def test_is_empty_true(value: object) -> None:
    assert is_empty(value)


@pytest.mark.parametrize(
    "value",
    [0, 0.0, 1, "0", "a", "--", "无锡", "n/a/", "NA", False, float("nan"), b"", dt.date(2024, 1, 1)],
)
def test_is_empty_false(value: object) -> None:
    assert not is_empty(value)


def test_empty_markers() -> None:
    assert {"-", "—", "/", "无", "N/A"} <= EMPTY_MARKERS
    assert isinstance(EMPTY_MARKERS, frozenset)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  张三  ", "张三"),
        ("a   b\t\tc", "a b c"),
        ("line one  \n   line  two ", "line one\nline two"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("ＡＢＣ　１２３", "ABC 123"),
        ("\u200bvalue\ufeff", "value"),
        ("", None),
        ("   ", None),
        ("-", None),
        (" N/A ", None),
        ("无", None),
        (None, None),
        (12, "12"),
        (12.0, "12"),
        (-3.0, "-3"),
        (12.5, "12.5"),
        (0.1, "0.1"),
        (1.5e-07, "0.00000015"),
        (1e20, "100000000000000000000"),
        (13812345678.0, "13812345678"),
        (dt.date(2024, 5, 8), "2024-05-08"),
        (dt.datetime(2024, 5, 8), "2024-05-08"),
        (dt.datetime(2024, 5, 8, 14, 30), "2024-05-08 14:30:00"),
        ("备注".encode(), "备注"),
    ],
)
def test_clean_text(value: object, expected: str | None) -> None:
    assert clean_text(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), b"\xff\xfe"])
def test_clean_text_rejects(value: object) -> None:
    with pytest.raises(ParseError):
        clean_text(value)


@given(st.text())
def test_clean_text_idempotent_and_agrees_with_is_empty(text: str) -> None:
    cleaned = clean_text(text)
    assert (cleaned is None) == is_empty(text)
    if cleaned is not None:
        assert clean_text(cleaned) == cleaned
        assert cleaned == cleaned.strip()
        assert "  " not in cleaned and "\t" not in cleaned and "\r" not in cleaned


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_clean_text_float_never_exponent(x: float) -> None:
    text = clean_text(x)
    assert text is not None
    assert "e" not in text.lower()
    assert float(text) == x


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ABC贸易", "abc贸易"),
        ("  ＡＢＣ　贸易 ", "abc贸易"),
        ("A B C\t贸 易\n", "abc贸易"),
        ("Straße GmbH", "strassegmbh"),
        ("张\u200b三", "张三"),
        ("XYZ", "xyz"),
        ("ＸＹＺ贸易", "xyz贸易"),
    ],
)
def test_name_key(value: str, expected: str) -> None:
    assert name_key(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "\u3000", "-", "N/A", "\u200b"])
def test_name_key_empty(value: str) -> None:
    with pytest.raises(ParseError, match="name is empty"):
        name_key(value)


@given(st.text())
def test_name_key_idempotent(text: str) -> None:
    try:
        key = name_key(text)
    except ParseError:
        return
    assert key
    assert name_key(key) == key
    assert not any(c.isspace() for c in key)


names = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789&.-()张三李四贸易有限公司科技"
    ),
    min_size=1,
)


@given(names, st.lists(st.sampled_from([" ", "\t", "\u3000", "\n", "\u00a0"]), min_size=1), st.randoms())
def test_name_key_ignores_whitespace_width_and_case(name: str, spaces: list[str], rnd: object) -> None:
    assume(not is_empty(name))
    key = name_key(name)
    chars = list(name)
    for space in spaces:
        chars.insert(rnd.randrange(len(chars) + 1), space)  # type: ignore[attr-defined]
    assert name_key("".join(chars)) == key
    assert name_key(fullwidth(name)) == key
    assert name_key(name.upper()) == key
    assert name_key(name.lower()) == key
    assert name_key(f"  {name}  ") == key


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        (" 13812345678 ", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("(+86) 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("86 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        (13812345678, "13812345678"),
        (13812345678.0, "13812345678"),
        ("13812345678.0", "13812345678"),
        ("13812345678.00", "13812345678"),
        ("138.1234.5678", "13812345678"),
        ("8888.0000", "88880000"),
        (1.3812345678e10, "13812345678"),
        ("1.3812345678E+10", "13812345678"),
        ("1.3812345678e10", "13812345678"),
        (8613812345678.0, "13812345678"),
        ("'13812345678", "13812345678"),
        ("010-12345678", "01012345678"),
        ("(010) 1234 5678", "01012345678"),
        ("0755-1234567", "07551234567"),
        ("0755-12345678", "075512345678"),
        ("010-12345678 转 123", "01012345678"),
        ("010-12345678转123", "01012345678"),
        ("010-12345678 ext 123", "01012345678"),
        ("010-12345678 EXT. 123", "01012345678"),
        ("010-12345678ext.123", "01012345678"),
        ("010-12345678x123", "01012345678"),
        ("010-12345678 X 123", "01012345678"),
        ("010-12345678分机123", "01012345678"),
        ("010-12345678 分机：123", "01012345678"),
        ("010-12345678#123", "01012345678"),
        ("010-12345678-123", "01012345678"),
        ("0755-12345678-8001", "075512345678"),
        ("010-1234-5678", "01012345678"),  # dash groups inside a number are not an extension
        ("0755-1234-5678", "075512345678"),
        ("+86 10 1234 5678", "01012345678"),
        ("+86 (0)10 1234 5678", "01012345678"),
        ("+86-10-12345678-123", "01012345678"),
        ("013812345678", "13812345678"),
        ("+1 415 555 0100", "0014155550100"),
        ("001 415 555 0100", "0014155550100"),
        ("400-820-8820", "4008208820"),
        ("1234567", "1234567"),
    ],
)
def test_phone_key(value: object, expected: str) -> None:
    assert phone_key(value) == expected


@pytest.mark.parametrize("value", ["138", "12345", "+86 138", "010-123", 138.0, 123456])
def test_phone_key_too_short(value: object) -> None:
    with pytest.raises(ParseError, match="has fewer than 7 digits"):
        phone_key(value)


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "138abc45678",
        "手机13812345678",
        "tel 13812345678",
        "13812345678/13912345678",
        "13812345678、13912345678",
        "13812345678 13912345678",
        "1.38123E+10",  # Excel showed it rounded: digits are lost
        "1.5",
        1.5,
        -13812345678,
        float("nan"),
        float("inf"),
        True,
        None,
        "",
        "-",
        "转123",
        "010-12345678 转",
        "010-12345678 转 abc",
        "+86+13812345678",
        "٣٣٣٣٣٣٣٣",  # other scripts' digits are not read as digits
        dt.date(2024, 1, 1),
    ],
)
def test_phone_key_rejects(value: object) -> None:
    with pytest.raises(ParseError):
        phone_key(value)


def test_phone_errors_name_the_value() -> None:
    with pytest.raises(ParseError, match="phone '138' has fewer than 7 digits"):
        phone_key("138")
    with pytest.raises(ParseError, match="cannot read phone 'abc'"):
        phone_key("abc")
    with pytest.raises(ParseError, match="more than one number"):
        phone_key("13812345678/13912345678")
    with pytest.raises(ParseError, match="phone '138\\*\\*\\*\\*5678' is masked"):
        phone_key("138****5678")


def _spaced(n: str, sep: str) -> str:
    return f"{n[:3]}{sep}{n[3:7]}{sep}{n[7:]}"


@given(mobiles)
def test_phone_key_mobile_formats(n: str) -> None:
    variants: list[object] = [
        n,
        f" {n} ",
        "+86" + n,
        "+86 " + _spaced(n, " "),
        "+86-" + _spaced(n, "-"),
        "(+86)" + n,
        "0086" + n,
        "0086 " + n,
        "86" + n,
        "86 " + n,
        _spaced(n, " "),
        _spaced(n, "-"),
        fullwidth(n),
        fullwidth("+86 " + n),
        int(n),
        float(n),
        repr(float(n)),
        f"{float(n)}",
        f"{float(n):.10E}",
        f"{float(n):.10e}",
        float("86" + n),
        "'" + n,
    ]
    for v in variants:
        assert phone_key(v) == n, v


landlines = st.from_regex(r"0[1-9][0-9]{1,2}-[0-9]{7,8}", fullmatch=True)
extensions = st.sampled_from(["转{}", " 转 {}", "ext {}", "ext.{}", "x{}", " X{}", "分机{}", "-{}"])


@given(landlines, extensions, st.integers(1, 99999))
def test_phone_key_landline_extension_dropped(number: str, ext: str, ext_no: int) -> None:
    digits = number.replace("-", "")
    assume(re.fullmatch(r"0(?:[12][0-9]{9}|[3-9][0-9]{9,10})", digits))  # a complete landline
    assert phone_key(number) == digits
    assert phone_key(number + ext.format(ext_no)) == digits


phone_like = st.one_of(
    mobiles,
    landlines,
    st.from_regex(r"\+?[0-9 ()\-]{0,20}([ ]?(转|ext|x|-)[0-9]{1,5})?", fullmatch=True),
    st.text(alphabet="0123456789 +-().xX转分机#:eE'", max_size=30),
    st.text(),
)


@given(phone_like)
def test_phone_key_idempotent(value: str) -> None:
    try:
        key = phone_key(value)
    except ParseError:
        return
    assert key.isdigit() and key.isascii()
    assert 7 <= len(key) <= 17
    assert phone_key(key) == key


@given(phone_like)
def test_clean_phone_agrees_with_phone_key(value: str) -> None:
    try:
        key = phone_key(value)
    except ParseError as e:
        with pytest.raises(ParseError) as info:
            clean_phone(value)
        assert str(info.value) == str(e)
        return
    shown = clean_phone(value)
    assert phone_key(shown) == key
    assert shown == shown.strip()
    assert clean_phone(shown) == shown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("  +86  138 1234 5678 ", "+86 138 1234 5678"),
        ("010-12345678 转 123", "010-12345678 转 123"),
        ("０１０－１２３４５６７８", "010-12345678"),
        (13812345678.0, "13812345678"),
        (1.3812345678e10, "13812345678"),
        ("13812345678.0", "13812345678"),
        ("1.3812345678E+10", "13812345678"),
        (13812345678, "13812345678"),
        ("'13812345678", "13812345678"),
    ],
)
def test_clean_phone(value: object, expected: str) -> None:
    assert clean_phone(value) == expected


@pytest.mark.parametrize("value", ["138", "abc", "", "-", float("nan"), 1.5])
def test_clean_phone_rejects(value: object) -> None:
    with pytest.raises(ParseError):
        clean_phone(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("010-12345678 转 123", "010****5678"),
        ("0755-12345678", "075*****5678"),
        ("1234567", "123****"),
        ("12345678", "123****8"),
        ("12345", "1****"),
        ("138", "****"),
        ("", "****"),
        ("garbage", "****"),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@given(mobiles, st.sampled_from(["{}", "+86 {}", "+86{}", "0086-{}", " {} ", "{}.0"]))
def test_mask_phone_hides_the_middle(n: str, form: str) -> None:
    out = mask_phone(form.format(n))
    assert out == f"{n[:3]}****{n[-4:]}"
    middle = n[3:7]
    if middle != n[-4:]:
        assert middle not in out


@given(st.text())
def test_mask_phone_never_shows_a_whole_number(text: str) -> None:
    out = mask_phone(text)
    assert "****" in out
    digits = re.sub(r"[^0-9]", "", unicode_nfkc(text))
    if len(digits) >= 5:
        assert digits not in out


def unicode_nfkc(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhang@example.com", "z***@example.com"),
        (" Zhang.San@example.com.cn ", "Z***@example.com.cn"),
        ("z@x.cn", "z***@x.cn"),
        ("@example.com", "***@example.com"),
        ("not-an-email", "n***"),
        ("", "***"),
    ],
)
def test_mask_email(value: str, expected: str) -> None:
    assert mask_email(value) == expected


@given(st.emails())
def test_mask_email_hides_the_local_part(email: str) -> None:
    local, _, domain = email.rpartition("@")
    # Only the first character of the local part survives, and the star count does
    # not tell its length.
    assert mask_email(email) == f"{local[0]}***@{domain}"


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-08", dt.date(2024, 5, 8)),
        (" 2024-05-08 ", dt.date(2024, 5, 8)),
        ("2024-5-8", dt.date(2024, 5, 8)),
        ("2024/5/8", dt.date(2024, 5, 8)),
        ("2024/05/08", dt.date(2024, 5, 8)),
        ("2024.5.8", dt.date(2024, 5, 8)),
        ("２０２４－０５－０８", dt.date(2024, 5, 8)),
        ("2024年5月8日", dt.date(2024, 5, 8)),
        ("2024年05月08日", dt.date(2024, 5, 8)),
        ("2024 年 5 月 8 日", dt.date(2024, 5, 8)),
        ("2024年5月8号", dt.date(2024, 5, 8)),
        ("5月8日", dt.date(2026, 5, 8)),
        ("12月31日", dt.date(2026, 12, 31)),
        ("2024年5月8日 14:30", dt.date(2024, 5, 8)),
        ("20240508", dt.date(2024, 5, 8)),
        ("today", TODAY),
        ("Today", TODAY),
        ("TOMORROW", dt.date(2026, 11, 27)),
        ("yesterday", dt.date(2026, 11, 25)),
        ("今天", TODAY),
        ("明天", dt.date(2026, 11, 27)),
        ("昨天", dt.date(2026, 11, 25)),
        ("+3d", dt.date(2026, 11, 29)),
        ("-1d", dt.date(2026, 11, 25)),
        ("+2w", dt.date(2026, 12, 10)),
        ("+1m", dt.date(2026, 12, 26)),
        ("-12m", dt.date(2025, 11, 26)),
        ("+1y", dt.date(2027, 11, 26)),
        ("+0d", TODAY),
        ("2024-05-08 14:30", dt.date(2024, 5, 8)),
        ("2024-05-08T14:30:00", dt.date(2024, 5, 8)),
        ("2024-05-08T23:30:00+08:00", dt.date(2024, 5, 8)),
        ("2024-05-08T23:30:00Z", dt.date(2024, 5, 8)),
        ("2024/5/8 9:05:59", dt.date(2024, 5, 8)),
        ("May 8 2024", dt.date(2024, 5, 8)),
        ("May 8, 2024", dt.date(2024, 5, 8)),
        ("8 May 2024", dt.date(2024, 5, 8)),
        ("08/25/2024", dt.date(2024, 8, 25)),
        ("25/08/2024", dt.date(2024, 8, 25)),
        ("25.08.2024", dt.date(2024, 8, 25)),
        ("Wed, 08 May 2024 10:00:00 GMT", dt.date(2024, 5, 8)),
        (dt.date(2024, 5, 8), dt.date(2024, 5, 8)),
        (dt.datetime(2024, 5, 8, 23, 59), dt.date(2024, 5, 8)),
        (45000, dt.date(2023, 3, 15)),
        (45000.0, dt.date(2023, 3, 15)),
        (45000.99, dt.date(2023, 3, 15)),
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),
        (2958465, dt.date(9999, 12, 31)),
    ],
)
def test_parse_date(value: object, expected: dt.date) -> None:
    assert parse_date(value, TODAY) == expected


def test_parse_date_month_end_clamps() -> None:
    assert parse_date("+1m", dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)
    assert parse_date("-1m", dt.date(2024, 3, 31)) == dt.date(2024, 2, 29)
    assert parse_date("+1y", dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("05/08/2024", "date '05/08/2024' is ambiguous (May 8 or August 5?); write it as 2024-05-08"),
        ("01/02/03", "date '01/02/03' is ambiguous"),
        ("8.5.2024", "is ambiguous"),
        ("2024-05", "date '2024-05' is incomplete"),
        ("May", "date 'May' is incomplete"),
        ("May 8", "incomplete"),
        ("14:30", "incomplete"),
        ("Monday", "incomplete"),
        ("2024年5月", "cannot read date"),
        ("2024-02-30", "date '2024-02-30' is not a real date"),
        ("2023-02-29", "date '2023-02-29' is not a real date"),
        ("2024/13/1", "is not a real date"),
        ("2月30日", "date '2月30日' is not a real date"),
        ("20241332", "is not a real date"),
        ("2024-05-08 25:00", "bad time of day"),
        ("xyz", "cannot read date 'xyz'"),
        ("Feb 30 2024", "cannot read date 'Feb 30 2024'"),
        ("45000", "cannot read date '45000'"),
        ("2024", "cannot read date '2024'"),
        ("+3", "cannot read date"),
        ("+3x", "cannot read date"),
        ("+99999y", "out of range"),
        ("-99999d", "out of range"),
        ("0999-01-01", "out of range"),
        ("", "date is empty"),
        ("   ", "date is empty"),
        (0, "not an Excel date"),
        (0.5, "not an Excel date"),
        (-1, "not an Excel date"),
        (2958466, "not an Excel date"),
        (60, "1900-02-29"),
        (float("nan"), "cannot read date"),
        (float("inf"), "cannot read date"),
        (True, "cannot read date"),
        (None, "cannot read date"),
        (b"2024-05-08", "cannot read date"),
        (dt.date(1800, 1, 1), "out of range"),
    ],
)
def test_parse_date_rejects(value: object, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_date(value, TODAY)


@given(dates)
def test_parse_date_round_trips(d: dt.date) -> None:
    assert parse_date(d.isoformat(), TODAY) == d
    assert parse_date(f"{d.year}年{d.month}月{d.day}日", TODAY) == d
    assert parse_date(f"{d.year}/{d.month}/{d.day}", TODAY) == d
    assert parse_date(f"{d.year}.{d.month}.{d.day}", TODAY) == d
    assert parse_date(f"{d:%Y%m%d}", TODAY) == d
    assert parse_date(d, TODAY) == d
    assert parse_date(dt.datetime(d.year, d.month, d.day, 13, 45), TODAY) == d
    assert parse_date(f"{d.isoformat()} 13:45", TODAY) == d


@given(dates)
def test_parse_date_excel_serial(d: dt.date) -> None:
    assume(d >= dt.date(1900, 3, 1))
    serial = (d - dt.date(1899, 12, 30)).days
    assert parse_date(serial, TODAY) == d
    assert parse_date(serial + 0.75, TODAY) == d


@settings(deadline=None)
@given(dates)
def test_parse_date_day_month_order(d: dt.date) -> None:
    text = f"{d.month:02d}/{d.day:02d}/{d.year}"
    if d.day > 12 or d.day == d.month:
        assert parse_date(text, TODAY) == d
    else:
        with pytest.raises(ParseError, match="ambiguous"):
            parse_date(text, TODAY)


@given(dates, st.integers(-1200, 1200))
def test_parse_date_relative_months_match_relativedelta(today: dt.date, n: int) -> None:
    from dateutil.relativedelta import relativedelta

    expected = today + relativedelta(months=n)
    assume(expected.year >= 1900)
    assert parse_date(f"{n:+d}m", today) == expected


@given(dates, st.integers(-5000, 5000))
def test_parse_date_relative_days(today: dt.date, n: int) -> None:
    expected = today + dt.timedelta(days=n)
    assume(expected.year >= 1900)
    assert parse_date(f"{n:+d}d", today) == expected


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50000", 50000.0),
        ("50,000", 50000.0),
        ("1,234,567.89", 1234567.89),
        ("¥1,200.50", 1200.5),
        ("￥1200", 1200.0),
        ("¥ 1200", 1200.0),
        ("RMB 1200", 1200.0),
        ("rmb1200", 1200.0),
        ("CNY 1200", 1200.0),
        ("1200 RMB", 1200.0),
        ("人民币1200元", 1200.0),
        ("5万", 50000.0),
        ("5千", 5000.0),
        ("3.5千元", 3500.0),
        ("3百万", 3000000.0),
        ("1.5百万", 1500000.0),
        ("2亿", 200000000.0),
        ("1.25亿元", 125000000.0),
        ("8百", 800.0),
        ("5K", 5000.0),
        ("5w", 50000.0),
        ("1.2万", 12000.0),
        ("5万元", 50000.0),
        ("5 万元", 50000.0),
        ("0.5万", 5000.0),
        ("1.5亿", 150000000.0),
        ("1200元", 1200.0),
        ("５００００", 50000.0),
        ("５，０００．５", 5000.5),
        ("+100", 100.0),
        ("0", 0.0),
        ("-0", 0.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1200.505", 1200.51),
        ("1200.504", 1200.5),
        ("1.2E+06", 1200000.0),
        (50000, 50000.0),
        (1200.5, 1200.5),
        (1200.505, 1200.51),
        (0.001, 0.0),
        (-0.0, 0.0),
        (1.2e6, 1200000.0),
    ],
)
def test_parse_money(value: object, expected: float) -> None:
    assert parse_money(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "amount '-5' is negative"),
        ("-¥1,200", "is negative"),
        ("¥-1200", "is negative"),
        ("−1200", "is negative"),
        (-5, "is negative"),
        (-0.01, "is negative"),
        ("abc", "cannot read amount 'abc'"),
        ("5万万", "cannot read amount '5万万'"),
        ("万", "cannot read amount"),
        ("1,2", "cannot read amount"),
        ("1,2345", "cannot read amount"),
        ("$100", "cannot read amount"),
        ("1 000", "cannot read amount"),
        ("--5", "cannot read amount"),
        (".", "cannot read amount"),
        ("-", "cannot read amount"),
        ("", "amount is empty"),
        ("  ", "amount is empty"),
        ("1e20", "too large"),
        ("1e9999", "too large"),
        (10**20, "too large"),
        (1e300, "too large"),
        (float("nan"), "cannot read amount"),
        (float("inf"), "cannot read amount"),
        (True, "cannot read amount"),
        (None, "cannot read amount"),
    ],
)
def test_parse_money_rejects(value: object, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_money(value)


@given(st.integers(0, 10**14))
def test_parse_money_integers(n: int) -> None:
    assert parse_money(f"{n:,}") == n
    assert parse_money(str(n)) == n
    assert parse_money(n) == n
    assert parse_money(f"¥{n:,}元") == n


@given(st.integers(0, 10**9).map(lambda c: c / 100))
def test_parse_money_wan(x: float) -> None:
    assert parse_money(f"{x}万") == round(x * 10000, 2)
    assert parse_money(f"{x}万元") == round(x * 10000, 2)


@given(st.floats(min_value=0, max_value=1e13, allow_nan=False, allow_infinity=False))
def test_parse_money_cell_and_text_agree(x: float) -> None:
    value = parse_money(x)
    assert value == parse_money(repr(x))
    assert abs(value - x) <= 0.005 + 1e-9 * x
    assert value == round(value, 2)


# --------------------------------------------------------------------------- sensitive


def _id_check(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        digits = [int(c) for c in body + check][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return body + check
    raise AssertionError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11010519491231002X", "id_number"),
        ("身份证号：11010519491231002x，请保密", "id_number"),
        ("110101199003074514", "id_number"),
        ("110101199003074518", None),  # wrong check digit
        ("4111111111111111", "bank_card"),
        ("卡号 6222 0212 3456 7890 128 开户行", "bank_card"),
        ("6222021234567890128", "bank_card"),
        ("card 4111 1111 1111 1111 exp 12/28", "bank_card"),
        ("4111-1111-1111-1111", "bank_card"),
        ("4111111111111112", None),  # fails Luhn
        ("13812345678", None),
        ("电话 13812345678 13912345678", None),
        ("订单 2024050812345", None),
        ("", None),
        ("no numbers at all", None),
    ],
)
def test_looks_sensitive(text: str, expected: str | None) -> None:
    assert looks_sensitive(text) == expected


@given(st.from_regex(r"[1-9][0-9]{16}", fullmatch=True), st.text(max_size=5), st.text(max_size=5))
def test_looks_sensitive_finds_ids(first17: str, before: str, after: str) -> None:
    number = first17 + _id_check(first17)
    assume(not re.search(r"[0-9]$", unicode_nfkc(before)) and not re.match(r"[0-9]", unicode_nfkc(after)))
    assert looks_sensitive(f"{before}{number}{after}") == "id_number"


@given(st.integers(15, 18).flatmap(lambda n: st.from_regex(rf"[1-9][0-9]{{{n - 1}}}", fullmatch=True)))
def test_looks_sensitive_finds_cards(body: str) -> None:
    card = _luhn_complete(body)
    assert looks_sensitive(f"卡号 {card} 谢谢") in ("bank_card", "id_number")


@given(st.lists(mobiles, min_size=1, max_size=4), st.sampled_from([" ", ", ", "/", "；"]))
def test_looks_sensitive_ignores_phones(phones: list[str], sep: str) -> None:
    assert looks_sensitive(sep.join(phones)) is None


# --------------------------------------------------------------------------- fuzz

anything = st.one_of(
    st.text(),
    st.text(alphabet="0123456789+-−()./:, 年月日号转xX万元¥eETt分机#'", max_size=25),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.binary().map(lambda b: b.decode("gb18030", "replace")),
    st.floats(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.none(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.binary(),
    st.decimals(allow_nan=True),
    st.lists(st.integers(), max_size=2),
)

PARSERS: list[Callable[[object], object]] = [
    clean_text,
    name_key,  # type: ignore[list-item]
    phone_key,
    clean_phone,
    parse_money,
    lambda v: parse_date(v, TODAY),
]


@settings(deadline=None)
@given(anything)
def test_fuzz_parsers_raise_only_parse_error(value: object) -> None:
    for parser in PARSERS:
        returns_or_parse_error(parser, value)
    assert isinstance(is_empty(value), bool)
    assert "****" in mask_phone(value)  # type: ignore[arg-type]


@given(st.text())
def test_fuzz_total_functions_on_text(text: str) -> None:
    assert isinstance(mask_email(text), str)
    assert looks_sensitive(text) in (None, "id_number", "bank_card")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_parse_errors(value: float) -> None:
    for parser in PARSERS:
        with pytest.raises(ParseError):
            parser(value)
    assert not math.isfinite(value)


def test_every_name_of_the_package_resolves_to_its_module() -> None:
    """crmcli.normalize imports a job's module when one of its names is first used (normalize/__init__.py)."""
    import importlib

    from crmcli import normalize

    assert sorted(normalize.__all__) == sorted(normalize._WHERE)
    for name, module in normalize._WHERE.items():
        assert getattr(normalize, name) is getattr(importlib.import_module(f"crmcli.normalize.{module}"), name)
