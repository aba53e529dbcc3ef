"""Rows that are not customers: totals and footers, and the examples a template ships (spec §12).

* A summary row (``summary_rows``): a name or first cell starting 合计 / 总计 / 小计 / 共计 / 汇总,
  a footer (制表人: ..., 审核: ..., 填表日期 ..., 共 12 户), ``Total`` / ``Sum`` / ``Grand total``
  (alone or with numbers), or a row without a name whose cells are only numbers and formulas
  (and whose phone cell is empty: a phone without a name is a row to fix, not a total).
* An example row (``example_rows``): our template's (客户编号 ``示例`` / ``EXAMPLE``), a marker
  (a code or first cell ``示例`` / ``例`` / ``Example``; a name starting ``示例`` / ``演示`` /
  ``测试数据`` / ``例:``, or with ``(示例)`` in it; a note saying the row is an example), or a
  placeholder name (``XXXXXXX有限公司``, ``北京XX科技``, a name made only of ``*`` or ``X``).
* A row whose only cells are in ignored columns (序号 numbered down an empty template) is blank.

Neither kind is imported nor rejected. The check must cost nothing on a 100k-row sheet: the
columns that can hold a marker are searched once per chunk as one joined text, and only the rows
of a chunk where that finds something, or with no name, are looked at one by one.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from crmcli.io import columns

_SUMMARY = re.compile(
    r"^\s*(?:合\s*计|总\s*计|小\s*计|共\s*计|汇\s*总\s*(?:[:：\d]|$)|制\s*表\s*(?:人|日期|时间|[:：])|审\s*[核批]\s*(?:人|日期|[:：]|$)"
    r"|填\s*表\s*(?:人|日期|[:：])|统\s*计\s*(?:人|日期)|共\s*\d+\s*(?:户|家|个|条|位|名|人|行)"
    r"|(?:grand\s*|sub\s*)?totals?\s*[:：]?\s*[-\d,.¥$￥元 ]*$|sum\s*[:：]?\s*[-\d,.¥$￥元 ]*$)",
    re.I | re.M,
)
_NAME_EXAMPLE = re.compile(
    r"^(?:示例|样例|范例|演示|测试数据|例\s*[:：\d(（]|(?:example|sample)\s*[:：\d])|[（(【\[<](?:示例|样例|范例|演示|测试|测试数据|例)[）)】\]>]"
    r"|(?<![A-Za-z])[Xx*＊×]{2,}(?![A-Za-z])|^[Xx*＊× ]+$",
    re.I | re.M,
)
_MARKERS_BASE = frozenset({"示例", "例", "样例", "范例", "演示", "测试数据", "示例数据", "示例行", "example", "sample", "demo", "eg", "e.g.", "例:", "例："})
_MARKERS = _MARKERS_BASE
_NOTE_EXAMPLE = re.compile(
    r"(?:此|本|该)行.{0,8}(?:示例|样例|演示)|(?:示例|样例|演示|测试)(?:数据|行)|示例.{0,10}(?:删除|勿)|^\s*(?:示例|样例|example|sample|demo)\s*$",
    re.I | re.M,
)
_MARKER_LINE = re.compile(r"^\s*(?:示例|例|样例|范例|演示|测试数据|示例数据|示例行|example|sample|demo|e\.?g\.?|例[:：])\s*$", re.I | re.M)
# Whole-column searches ("\n"-joined cells; a literal "\n" first keeps them at C speed: 100k rows
# cost milliseconds): a superset of the patterns above, so that only a chunk with a hit has its
# cells looked at one by one (``kind`` decides).
_LINE_RE = re.compile(
    r"\n\s*(?:合\s*计|总\s*计|小\s*计|共\s*计|共\s*\d|汇\s*总|制\s*表|审\s*[核批]|填\s*表|统\s*计|示例|样例|范例|演示|测试数据"
    r"|例\s*[:：\d(（]|[Tt]otal|TOTAL|[Ss]um|SUM|[Gg]rand|GRAND|[Ss]ub\s*[Tt]otal|SUBTOTAL|[Ee]xample|EXAMPLE|[Ss]ample|SAMPLE"
    r"|[Dd]emo|DEMO|[Ee]\.?[Gg]|[Xx*＊×][Xx*＊× ]*\n|例\n)"
)
# where _LINE_RE may match: a line starting with one of these (a charset after a literal: fast)
_LINE_START = re.compile("\n[合总小共汇制审填统示样范演测例TtSsGgEeDdXx*＊×\\s]")
_INLINE_RE = re.compile(r"XX|xx|Xx|xX|\*\*|＊|××|示例|样例|范例|演示|测试数据")
_NOTE_HINTS = ("示例", "样例", "演示", "测试", "xample", "XAMPLE", "ample", "AMPLE", "emo", "EMO")
_NUMBER_TEXT = re.compile(r"\s*[¥$￥]?\s*-?[\d,]+(?:\.\d+)?\s*(?:万|元|%)?\s*")

NAME_FIELDS = ("name", "person", "first_name", "last_name")


def _line_hit(joined: str) -> bool:
    """Does a line of the joined column match ``_LINE_RE``? Tried only where a line starts with
    one of its first characters (a few lines a chunk), not at every line."""
    match = _LINE_RE.match
    return any(match(joined, m.start()) for m in _LINE_START.finditer(joined))


def _looks(v: Any, *, name: bool) -> bool:
    """Does a cell look like a summary or an example (a name: or a placeholder)?"""
    t = _text(v)
    return bool(_SUMMARY.match(t) or t.casefold() in _MARKERS or (name and _NAME_EXAMPLE.search(t)))


def _text(v: Any) -> str:
    return unicodedata.normalize("NFKC", v).strip() if type(v) is str else ""


def _is_marker(v: Any) -> bool:
    return type(v) is str and _text(v).casefold() in _MARKERS


def _numberish(v: Any) -> bool:
    """A number, or a formula or number written as text (a totals row of a CSV)."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return True
    if type(v) is str:
        t = v.strip()
        return t.startswith("=") or bool(_NUMBER_TEXT.fullmatch(t))
    return isinstance(v, dt.timedelta)


class RowKinds:
    """Sorts a chunk of rows into the ones to import, and counts the examples and summaries."""

    def __init__(self, header: columns.Header, *, records: bool = False) -> None:
        self.records = records  # every row is a record (crm's own export): nothing to sort out
        self.names = [c.index for c in header.columns if c.field in NAME_FIELDS]
        self.codes = [c.index for c in header.columns if c.field == "code"]
        self.notes = [c.index for c in header.columns if c.field == "notes"]
        self.phones = [c.index for c in header.columns if c.field in ("phone", "other_phones")]
        self.ignored = {c.index for c in header.columns if c.ignored}
        # the first column, when it holds no customer field (序号, or a column without a header)
        first = header.columns[0] if header.columns else None
        self.first = [0] if first is not None and first.field in (None, "code") and 0 not in self.names else []
        # (column, its role): the columns a marker may be in
        roles = {i: "marker" for i in self.codes} | {i: "first" for i in self.first} | {i: "name" for i in self.names}
        self.checked = [*roles.items(), *((i, "notes") for i in self.notes)]

    def split(self, rows: list[tuple[int, list[Any]]]) -> tuple[list[tuple[int, list[Any]]], int, int, int]:
        """(rows to import, example rows, summary rows, blank rows) of a chunk."""
        if self.records:
            return rows, 0, 0, 0
        suspects = self._suspects(rows)
        if not suspects:
            return rows, 0, 0, 0
        kept: list[tuple[int, list[Any]]] = []
        examples = summaries = blanks = 0
        for k, item in enumerate(rows):
            kind = self.kind(item[1]) if k in suspects else None
            if kind is None:
                kept.append(item)
            elif kind == "example":
                examples += 1
            elif kind == "summary":
                summaries += 1
            else:
                blanks += 1
        return kept, examples, summaries, blanks

    def _suspects(self, rows: list[tuple[int, list[Any]]]) -> set[int]:
        """The rows of a chunk that may not be customers (a superset: ``kind`` decides). Each column
        that may hold a marker is searched as one "\n"-joined text first; its cells are looked at
        one by one only where that finds something."""
        import operator

        out: set[int] = set()
        cells_of = [r for _, r in rows]
        for i, role in self.checked:
            cells: list[Any] | None = None
            try:
                joined = "\n" + "\n".join(map(operator.itemgetter(i), cells_of)) + "\n"
            except (TypeError, IndexError):  # numbers, dates, short rows
                cells = [r[i] if i < len(r) and type(r[i]) is str else "" for r in cells_of]
                joined = "\n" + "\n".join(cells) + "\n"
            if role == "notes":
                hit = any(sub in joined for sub in _NOTE_HINTS) and _NOTE_EXAMPLE.search(joined) is not None
                pattern = _NOTE_EXAMPLE
            else:  # a name, code or first column: a marker (示例, EXAMPLE), a footer (合计, 制表人), a placeholder
                hit = _line_hit(joined) or (role == "name" and _INLINE_RE.search(joined) is not None)
                pattern = None
            if hit:
                if cells is None:
                    cells = list(map(operator.itemgetter(i), cells_of))
                if pattern is not None:
                    out.update(k for k, v in enumerate(cells) if v and pattern.search(v))
                else:
                    out.update(k for k, v in enumerate(cells) if v and _looks(v, name=role == "name"))
            if role == "name" and i == self.names[0]:
                if cells is None:
                    cells = list(map(operator.itemgetter(i), cells_of)) if "\n\n" in joined else []
                if "" in cells or None in cells:
                    nameless = [k for k, v in enumerate(cells) if v == "" or v is None]
                    for j in self.names[1:]:
                        nameless = [k for k in nameless if j >= len(cells_of[k]) or cells_of[k][j] == "" or cells_of[k][j] is None]
                    out.update(nameless)
        return out

    def kind(self, row: list[Any]) -> str | None:
        """'summary', 'example', 'blank' or None (a customer's row)."""
        cell = row.__getitem__
        n = len(row)
        names = [_text(cell(i)) for i in self.names if i < n]
        named = any(names)
        firsts = [_text(row[0])] if self.first and n else []
        for t in (*names, *firsts):
            if t and _SUMMARY.match(t):
                return "summary"
        for t in names:
            if t and (_NAME_EXAMPLE.search(t) or t.casefold() in _MARKERS):
                return "example"
        if any(_is_marker(cell(i)) for i in (*self.codes, *self.first) if i < n):
            return "example"
        if any(type(cell(i)) is str and _NOTE_EXAMPLE.search(cell(i)) for i in self.notes if i < n):
            return "example"
        if named:
            return None
        filled = [(i, v) for i, v in enumerate(row) if not (v == "" or v is None or (type(v) is str and not v.strip()))]
        if not filled:
            return "blank"
        if any(type(v) is str and _SUMMARY.match(_text(v)) for _, v in filled):
            return "summary"
        if any(_is_marker(v) for _, v in filled):
            return "example"
        if all(i in self.ignored for i, _ in filled):
            return "blank"  # 序号 numbered down an empty template
        if not any(i in self.phones for i, _ in filled) and all(_numberish(v) for i, v in filled if i not in self.ignored):
            return "summary"
        return None
