"""Column headers -> import fields (spec §9).

Every header name used by the seed templates (客户信息总表, the 关键联系人/跟进记录 sheet, the
统计表, the English Customer_* / Follow_* tables) and by our own export (zh and en) is known here:
the fields' own headers come from the field registry (``crmcli.fields``). Headers are compared normalised: NFKC, case-folded, without spaces,
``_``, ``-`` or invisible characters (``normalize.drop_invisible``), and without a trailing ``*``, ``(*)``, ``（必填）`` or ``(元)``.

A few fields are special:

* ``stage`` can come from several columns, in order of preference (``STAGE_RANK``); the
  importer applies the "at least half are stages" rule to each.
* ``contact_title`` (关键联系人(姓名/职位)) is split into contact and title.
* ``follow_log`` (跟进记录(时间-方式-内容-下一步计划)) is a follow-up written as one text cell.
* ``last_follow_at`` / ``next_follow_at`` are derived columns of our export: information only
  (the first is the date of a follow-up that has none, the second the next date of the row's
  follow-up when it has one).
* ``info`` columns are recognised but not imported (reported as unused); ``ignore`` columns
  (序号, the rejects file's reject_reason) are dropped silently: they are not user data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from crmcli import fields
from crmcli.errors import UsageError
from crmcli.hanzi import simplify
from crmcli.i18n import N_
from crmcli.normalize import drop_invisible

# Headers of what an import reads that is not a field of its own: a contact and title in one
# cell, a follow-up written as one text, a deal, columns recognised but not imported (reported as
# unused) and columns that are not user data (dropped without a word).
_IMPORT_ONLY: dict[str, tuple[str, ...]] = {
    "contact_title": ("关键联系人(姓名/职位)", "关键联系人", "联系人(姓名/职位)", "联系人(姓名+职位)"),
    # A person: the customer's name where the row names no company (a 个人客户), else the contact.
    "person": ("客户姓名", "姓名", "个人客户", "Full Name", "FullName", "Person", "Lead Name"),
    "first_name": ("First Name", "FirstName", "First_Name", "Given Name", "名"),
    "last_name": ("Last Name", "LastName", "Last_Name", "Surname", "Family Name", "姓"),
    "province": ("省", "省份", "State", "Province", "Billing State"),
    "city": ("市", "城市", "City", "Billing City"),
    "district": ("区", "区县", "区/县", "District", "County"),
    "follow_log": ("跟进记录(时间-方式-内容-下一步计划)", "跟进记录"),
    "deal_date": ("成交日期", "Deal date", "签约日期", "DealDate"),
    "deal_amount": ("成交金额", "Deal amount", "合同金额", "签约金额", "DealAmount"),
    "info": (
        "Update_Date", "最后更新日期", "Follow_ID", "Opportunity_ID", "Opportunity_Name", "Probability",
        "成交概率", "Status_Change", "逾期天数", "Days overdue", "最后跟进方式", "Last method", "已归档", "Archived",
        "原阶段", "新阶段",
        "From", "To", "原因", "Reason",
    ),
    "ignore": ("序号", "No", "No.", "#", "reject_reason", "拒绝原因", "行号"),
}  # fmt: skip


def _aliases() -> dict[str, tuple[str, ...]]:
    """Import field -> the header names it is read from, from the field registry.

    The first name is what the rejects file and messages call the field when the file gave it no
    header of its own. A follow-up field ``KEY`` is the import field ``follow_KEY``.
    """
    out: dict[str, tuple[str, ...]] = {}
    for f in fields.CUSTOMER:
        if f.imported or f.derived:
            out[f.key] = f.names
        if f.key == "title":
            out["contact_title"] = _IMPORT_ONLY["contact_title"]
    for f in fields.FOLLOW_UP:
        if f.imported:
            out["follow_" + f.key] = f.names
    for f in fields.TICKET:  # a row's service ticket (services/importer/tickets.py)
        if f.imported:
            out["ticket_" + f.key] = f.names
    for key, names in _IMPORT_ONLY.items():
        out.setdefault(key, names)
    return out


ALIASES = _aliases()

# Stage columns in order of preference (spec §9): in each row the first that has a value wins.
STAGE_RANK: dict[str, int] = {
    "当前销售阶段": 0, "Stage": 0, "销售阶段": 0, "客户销售阶段": 0, "当前阶段": 0, "阶段": 0,
    "客户类型": 1, "合作状态": 2, "Status": 3, "Lead Status": 3, "客户状态": 4,
}  # fmt: skip

# What --map accepts on the right of '=' (besides any header name above, which maps to its field).
MAP_FIELDS = tuple(f for f in ALIASES if f not in ("info",))

# Fields whose cells become a follow-up of the row's customer.
FOLLOW_FIELDS = ("follow_date", "follow_by", "follow_method", "follow_content", "follow_feedback", "follow_next_plan")

_TRAILERS = re.compile(r"(?:\*|\(\*\)|\(必填\)|\(元\)|\(人民币\))+$")
_DROP = re.compile(r"[\s_\-]+")


def norm_header(text: object) -> str:
    """The comparison form of a header cell: NFKC, case-folded, no spaces/_/-, no trailing '*'."""
    if text is None:
        return ""
    value = str(text) if not isinstance(text, str) else text
    if isinstance(text, float) and text.is_integer():
        value = str(int(text))
    value = simplify(unicodedata.normalize("NFKC", drop_invisible(value)).strip().casefold())  # 客戶編號 = 客户编号
    value = _DROP.sub("", value)
    prev = None
    while prev != value:
        prev = value
        value = _TRAILERS.sub("", value)
    return value


def _build() -> tuple[dict[str, str], dict[str, int]]:
    table: dict[str, str] = {}
    ranks: dict[str, int] = {}
    for fld, names in ALIASES.items():
        for name in names:
            key = norm_header(name)
            table.setdefault(key, fld)
    for name, rank in STAGE_RANK.items():
        ranks[norm_header(name)] = rank
    return table, ranks


_TABLE, _RANKS = _build()


def header_table() -> dict[str, str]:
    """Every header an import reads, normalised, with the field it names."""
    return dict(_TABLE)


def field_of(header: object) -> str | None:
    """The field a header names, or None."""
    return _TABLE.get(norm_header(header))


def parse_map(specs: list[str] | tuple[str, ...], *, extra: dict[str, str] | None = None) -> dict[str, str]:
    """``['HEADER=field', ...]`` -> {normalised header: field}; a bad spec is a usage error.

    The field is a field name (``name``, ``phone``, ``follow_content``, ... or ``ignore``) or any
    header name this module knows (``--map '公司=客户名称'``).
    """
    out: dict[str, str] = {}
    for spec in specs:
        header, eq, target = spec.partition("=")
        if not eq or not header.strip() or not target.strip():
            raise UsageError(N_("--map {spec!r}: write it as 'HEADER=field'"), spec=spec)
        t = target.strip()
        fld = t if t in MAP_FIELDS else _TABLE.get(norm_header(t)) or (extra or {}).get(norm_header(t))
        if fld is None or fld == "info":
            raise UsageError(N_("--map {spec!r}: unknown field '{t}'; fields: {map_fields}"), spec=spec, t=t, map_fields=', '.join(MAP_FIELDS))
        out[norm_header(header)] = fld
    return out


@dataclass
class Column:
    index: int  # position in the row
    header: str  # as written in the file (or "column F" when it has none)
    field: str | None  # None: unknown column
    rank: int = 0  # stage columns: preference (lower wins); -1 when given by --map
    mapped: bool = False  # given by --map
    ignored: bool = False  # not user data (序号, reject_reason): dropped without a word


@dataclass
class Header:
    """The header row: where it is and what each column holds."""

    row_index: int  # 0-based index of the header row among the rows read
    width: int  # cells up to the last non-empty header cell
    columns: list[Column] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # headers we do not know
    unused: list[str] = field(default_factory=list)  # known but not imported (info, duplicates)

    def first(self, fld: str) -> Column | None:
        for col in self.columns:
            if col.field == fld:
                return col
        return None

    def stage_columns(self) -> list[Column]:
        return sorted((c for c in self.columns if c.field == "stage"), key=lambda c: (c.rank, c.index))


def column_letter(index: int) -> str:
    n, out = index + 1, ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return " ".join(str(cell).split())


def build_table(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Normalised header -> field, for another table's columns (an opportunity table's)."""
    table: dict[str, str] = {}
    for fld, names in aliases.items():
        for name in names:
            table.setdefault(norm_header(name), fld)
    return table


def score(cells: list[object], mapping: dict[str, str], known: dict[str, str] | None = None) -> int:
    """How many cells of a row are known header names (the header row scores highest)."""
    table = _TABLE if known is None else known
    n = 0
    for cell in cells:
        key = norm_header(cell) if isinstance(cell, str) else ""
        if key and (key in mapping or key in table):
            n += 1
    return n


# Fields whose second column is read too: text is joined ("; "), never one column dropped.
JOINABLE = frozenset(
    {f.key for f in fields.CUSTOMER if f.kind in ("text", "prose", "tags") and f.imported}
    | {"person", "follow_content", "follow_next_plan", "follow_log"}
) - {"name", "code"}


def match(cells: list[object], mapping: dict[str, str], *, col_offset: int = 0, known: dict[str, str] | None = None) -> Header:
    """Map each header cell to a field (spec §9, §12).

    A second phone column (手机 + 座机) holds other phones; a second column of a text field is
    joined to the first; a second column of any other field (a code, a date, an amount, a level)
    is reported unused -- a value cannot be two dates. ``known``: the header table of another kind
    of row (``build_table``); customers' by default.
    """
    table = _TABLE if known is None else known
    texts = [_text(c) for c in cells]
    width = max((i + 1 for i, t in enumerate(texts) if t), default=0)
    header = Header(row_index=0, width=width)
    seen: set[str] = set()
    for i in range(width):
        text = texts[i]
        if not text:
            header.columns.append(Column(i, f"column {column_letter(i + col_offset)}", None))
            continue
        key = norm_header(text)
        mapped = key in mapping
        fld = mapping[key] if mapped else table.get(key)
        col = Column(i, text, fld, mapped=mapped)
        if fld == "stage":
            col.rank = -1 if mapped else _RANKS.get(key, 0)
        if fld is None:
            header.unknown.append(text)
        elif fld == "info":
            header.unused.append(text)
            col.field = None
        elif fld == "ignore":
            col.field = None
            col.ignored = True
        elif fld == "phone" and fld in seen:
            col.field = "other_phones"
        elif fld != "stage" and fld in seen and fld not in JOINABLE:
            header.unused.append(f"{text} (second {fld} column)")
            col.field = None
        else:
            seen.add(fld)
        header.columns.append(col)
    return header
