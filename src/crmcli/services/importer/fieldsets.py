"""The importer's field lists, derived from the field registry (``crmcli.fields``).

Which converter reads an import field's cells follows from its ``kind`` and ``repeats``; which
customer columns an import writes, from the customer's imported fields. An import field is a
customer field's key, ``follow_KEY`` for a follow-up field ``KEY`` (as in ``io.columns``), or one
of the import-only fields declared here, the one place they are.
"""

from __future__ import annotations

from itertools import chain

from crmcli import fields

# Import fields that are no field of the registry (``io.columns`` has their headers), and the kind
# of value their cells hold.
IMPORT_ONLY_KINDS: dict[str, str] = {
    "contact_title": "text",  # 关键联系人(姓名/职位): split into contact and title
    "follow_log": "prose",  # 跟进记录: follow-ups written as one text
    "deal_date": "date",
    "deal_amount": "money",
    "person": "text",  # 客户姓名: the name of a 个人客户, else the contact
    "first_name": "text",  # First Name + Last Name (名 + 姓): the person
    "last_name": "text",
    "province": "text",  # 省 + 市 + 区: the region
    "city": "text",
    "district": "text",
}


def _declared() -> list[tuple[str, str, bool]]:
    """Every import field as (key, kind, repeats)."""
    out = [(f.key, f.kind, f.repeats) for f in fields.CUSTOMER if f.imported or f.derived]
    out += [("follow_" + f.key, f.kind, f.repeats) for f in fields.FOLLOW_UP if f.imported]
    out += [(key, kind, False) for key, kind in IMPORT_ONLY_KINDS.items()]
    return out


_FIELDS = [f for f in _declared() if f[0] != "other_phones"]  # read as phones (cells._phone_conv)
_TEXT = ("code", "text", "tags")

# How cells are read (cells.converter): text is NFKC-cleaned, and memoised per cell value when a
# file holds few distinct values (industry, owner...); prose is kept as typed.
CLEAN = frozenset(k for k, kind, repeats in _FIELDS if kind in _TEXT and not repeats)
CLEAN_MEMO = frozenset(k for k, kind, repeats in _FIELDS if kind in _TEXT and repeats)
PROSE = frozenset(k for k, kind, _ in _FIELDS if kind == "prose")
DATES = frozenset(k for k, kind, _ in _FIELDS if kind == "date")
MONEY = frozenset(k for k, kind, _ in _FIELDS if kind == "money")
NUMBERS = frozenset(k for k, kind, _ in _FIELDS if kind == "number")
# The opening balance of a customer's purchase history (spec §13): a row that sets it has its
# purchase history worked out again.
OPENING = frozenset(k for k, _, _ in _FIELDS if k.startswith("opening_"))

# Who a row is (spec §3) comes first, each field followed by its key: the order of the INSERT's
# columns and of the fields an update reports as changed ("row 7: C001 甲公司: phone, level").
_IDENTITY = ("code", "name", "phone")
_KEY_OF = {"name": "name_key", "phone": "phone_key"}
# A customer's summary of its follow-ups: worked out from the rows' follow-ups, never read from a cell.
_SUMMARY = ("last_follow_at", "last_method", "next_date", "next_plan")

# Fields a row may set on an existing customer with --on-duplicate update.
UPDATE_FIELDS = (
    *_IDENTITY,
    *(f.key for f in fields.CUSTOMER if f.imported and not f.derived and f.kind != "tags" and f.key not in _IDENTITY),
)
# Customer columns an import writes, in INSERT order (archived takes its default, 0).
INSERT_COLUMNS = ("id", *chain.from_iterable((f, _KEY_OF[f]) if f in _KEY_OF else (f,) for f in UPDATE_FIELDS), *_SUMMARY)
# What the import reads back of a customer it meets again.
LOAD_COLUMNS = tuple(c for c in INSERT_COLUMNS if c not in _SUMMARY)
# Customer columns that take a row's converted cell as it is (name, phone and code are worked
# out across columns first; tags, follow-ups and deals are rows of their own).
CUSTOMER_COLUMNS = frozenset(UPDATE_FIELDS) - frozenset(_IDENTITY)
