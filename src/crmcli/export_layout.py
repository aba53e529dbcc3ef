"""What an export is made of, as facts both sides read: the format's name and version, each
table's columns, sheet titles and headers, how enum values and lists are written in a cell.

``services.export_tables`` builds the rows from these; ``io.bundles`` and ``io.file_kinds`` read
an export back (or recognise one) from the same facts, without importing the services.
"""

from __future__ import annotations

from crmcli import fields, vocab

# What the JSON document and the workbook say they are: an import refuses a newer version.
EXPORT_FORMAT = "crmcli-export"
EXPORT_VERSION = 1
# A directory of CSV files says it in a small file beside its tables (``manifest``).
MANIFEST = "crmcli-export.json"

# The customer columns of spec §9, in order (the registry's exported fields). The last two are
# derived (import reads them as information).
SPEC_COLUMNS = (
    "code", "name", "contact", "title", "phone", "email", "industry", "source", "level", "stage",
    "owner", "need", "tags", "notes", "amount", "created_at", "last_follow_at", "next_follow_at",
)  # fmt: skip
# Spec §9's columns in its order, then every other exported field of the registry (lossless).
CUSTOMER_COLUMNS = (*SPEC_COLUMNS, *(k for k in fields.customer_keys(where="export") if k not in SPEC_COLUMNS))
FOLLOW_UP_COLUMNS = ("code", "name", *(f.key for f in fields.FOLLOW_UP))
# The opportunities sheet (spec §13): `crm import FILE --sheet 销售机会` reads it back.
DEAL_FIELDS = (*fields.OPPORTUNITY, fields.DEAL_BY)
DEAL_COLUMNS = tuple(f.key for f in DEAL_FIELDS)
# The service tickets sheet (spec §15), keyed by 客户编号: the ticket import reads it back.
TICKET_COLUMNS = tuple(f.key for f in fields.TICKET)
STAGE_COLUMNS = tuple(f.key for f in fields.STAGE_CHANGE)
CUSTOM_FIELD_COLUMNS = tuple(f.key for f in fields.CUSTOM_FIELD)
# The template: the customer columns a person fills in, then one follow-up on the same row.
TEMPLATE_COLUMNS = (
    *(k for k in CUSTOMER_COLUMNS if not fields.CUSTOMER_BY_KEY[k].derived), *(f.key for f in fields.FOLLOW_UP),
)  # fmt: skip
REQUIRED = frozenset({"name", "phone"})
_ALL = (*fields.CUSTOMER, *fields.FOLLOW_UP)
ENUMS = {f.key: f.enum for f in _ALL if f.enum}
DATES = frozenset(f.key for f in _ALL if f.kind == "date")
CODES = frozenset(f.key for f in _ALL if f.kind in ("code", "phone"))  # Text cells: what is typed in later stays text
NUMBERS = frozenset(f.key for f in fields.CUSTOMER if f.kind in ("money", "number"))  # number cells
PRODUCT_JOIN = "、"  # main_products in a cell: 软件授权、技术支持, as seed 003 writes them
TAG_JOIN = ";"
CHOICE_JOIN = ","  # a choice field's values in one cell, as `crm field add --choices` takes them

# Each table: its JSON key (also the CSV file's name in English), sheet titles (zh, en), fields.
TABLES: dict[str, tuple[str, str, tuple[fields.Field, ...]]] = {
    "customers": ("客户信息总表", "Customers", fields.CUSTOMER),
    "follow_ups": ("跟进记录", "Follow-ups", fields.FOLLOW_UP),
    "stage_changes": ("阶段变更", "Stage changes", fields.STAGE_CHANGE),
    "deals": ("销售机会", "Opportunities", DEAL_FIELDS),
    "tickets": ("工单", "Tickets", fields.TICKET),
    "custom_fields": ("自定义字段", "Custom fields", fields.CUSTOM_FIELD),
}
SHEET_TITLES = {key: (zh, en) for key, (zh, en, _) in TABLES.items()} | {"help": ("说明", "Instructions")}


def manifest(files: dict[str, str]) -> dict[str, object]:
    """What a directory export's MANIFEST holds: format, version and each table's file name."""
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "tables": files}


def header(key: str, lang: str) -> str:
    """A column's header: the follow-up's own label for its fields (跟进日期), else the customer's."""
    f = fields.FOLLOW_UP_BY_KEY.get(key) or fields.CUSTOMER_BY_KEY[key]
    return f.label(lang)


def title(key: str, lang: str) -> str:
    zh, en = SHEET_TITLES[key]
    return zh if lang == "zh" else en


def enum_value(field: str, key: str, lang: str, fmt: str) -> str:
    """How an enum value is written: zh labels in zh; English labels in en xlsx; canonical keys in
    en csv and in JSON."""
    if fmt == "json" or (lang == "en" and fmt == "csv"):
        return key
    return vocab.label(field, key, lang)
