"""What one import is asked to do (``ImportOptions``) and what it reports (``ImportResult``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.i18n import N_

ON_DUPLICATE = ("skip", "update", "fail")
REASON_SAMPLES = 20  # how many rejected, updated, skipped and sensitive rows a result names

Progress = Callable[[int, int | None], None]  # (rows done, rows in total or None)


@dataclass
class ImportOptions:
    user: str
    today: dt.date
    on_duplicate: str = "skip"
    dry_run: bool = False
    strict: bool = False
    rejects: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    source: str | None = None
    sheet: str | None = None
    lang: str = "en"
    reject_sensitive: bool = False  # reject rows holding what looks like an ID or bank card number
    custom: tuple[Any, ...] = ()  # the database's custom fields (fields.Field): read by key or label
    keep_unknown: bool = False  # each unknown column becomes a text custom field
    command: str | None = None  # the command as typed, for the change log
    ticket_aliases: dict[str, str] = field(default_factory=dict)  # ticket types that group with another (settings)
    table: str | None = None  # --table: customers | deals (None: the header row decides)
    map_specs: tuple[str, ...] = ()  # --map as typed: an opportunity table reads them with its own fields
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # --map-value: field -> folded value -> key
    date_order: str | None = None  # --date-order ymd|dmy|mdy
    probability: dict[str, float] = field(default_factory=dict)  # an open stage's default probability (0-1)
    no_header: bool = False  # --no-header: columns are named by letter (--map A=name)
    match_email: bool = False  # --match email: an e-mail equal after case-folding identifies a customer too
    profile: str | None = None  # the mapping profile applied (--profile, or found by the header row)
    profiles: dict[str, Any] = field(default_factory=dict)  # saved profiles, for a header row that equals one's
    # the file is an export of crm (it carries the custom field definitions sheet only ours writes):
    # its rows are records, never a template's examples or a sheet's totals (a customer may be
    # named XX公司 or 合计贸易)
    own_export: bool = False


@dataclass
class ImportResult:
    file: str
    batch: int | None = None
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    follow_ups: int = 0
    deals: int = 0
    stage_changes: int = 0
    tickets: int = 0  # service tickets recorded from ticket columns (spec §15)
    likely_duplicates: list[str] = field(default_factory=list)  # new customers that look like existing ones (spec §14)
    blank_rows: int = 0
    example_rows: int = 0  # rows marked 示例 / EXAMPLE in the code column (the template's example)
    data_rows: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)
    stage_columns: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    rejects_error: str | None = None  # the batch landed but its rejects file could not be put in place
    new_fields: list[str] = field(default_factory=list)  # --keep-unknown: the custom fields made of unknown columns
    reasons: list[str] = field(default_factory=list)  # the first few reject reasons
    updated_rows: list[str] = field(default_factory=list)  # the first few updates: row, customer, fields
    skipped_rows: list[str] = field(default_factory=list)  # the first few duplicates skipped
    header_row: int = 0
    sheet: str | None = None
    encoding: str | None = None
    dry_run: bool = False
    strict_failed: bool = False
    # Accepted rows holding what looks like a resident ID or bank card number (seeds 003/004 forbid
    # storing them), and where: "row 5, column 备注: looks like a Chinese ID number" -- never the number.
    sensitive: int = 0
    sensitive_rows: list[str] = field(default_factory=list)
    table: str = "customers"  # what the rows were: customers | deals
    products: int = 0  # products an opportunity table created
    # values of an enum column nobody knows: {"field", "value", "rows", "map_value"} (spec §12)
    unknown_values: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user should know: no phone column, sheets not imported...
    summary_rows: int = 0  # totals and footer rows (合计, 制表人, 共N户...) skipped (spec §12)
    sheets: list[dict[str, Any]] = field(default_factory=list)  # a workbook of several sheets: each one's counts
    profile: str | None = None  # the mapping profile the import used
    profile_auto: bool = False  # ... found because the file's header row equals the profile's
    header_cells: list[str] = field(default_factory=list)  # the first sheet's header row, normalised (--save-profile)

    @property
    def status(self) -> int:
        """Exit status (spec §9): 0 all imported or skipped, 3 partial, 1 nothing valid."""
        if self.strict_failed:
            return 1
        if self.rejected == 0:
            return 0
        return 3 if (self.created + self.updated + self.skipped) > 0 else 1

    def summary(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "follow_ups": self.follow_ups,
            "blank_rows": self.blank_rows,
            "example_rows": self.example_rows,
            "sensitive": self.sensitive,
            "unknown_columns": self.unknown_columns,
            "new_fields": self.new_fields,
            "rejects_file": self.rejects_file,
            "unused_columns": self.unused_columns,
            "deals": self.deals,
            "stage_changes": self.stage_changes,
            "tickets": self.tickets,
            "likely_duplicates": self.likely_duplicates,
            "table": self.table,
            "products": self.products,
            "unknown_values": self.unknown_values,
            "summary_rows": self.summary_rows,
            "notes": self.notes,
            **({"sheets": self.sheets} if self.sheets else {}),
            "profile": self.profile,
            "dry_run": self.dry_run,
            "file": self.file,
            # the first few of each, with why: what a dry run is for
            "rejected_rows": self.reasons,
            "updated_rows": self.updated_rows,
            "skipped_rows": self.skipped_rows,
        }


VALUE_MAP_FIELDS = ("stage", "level", "method", "feedback", "status")  # the enum vocabularies an import reads
TABLES = ("customers", "deals", "followups", "tickets")  # what --table accepts (spec §12 names products too)


def unknown_values(counts: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    """The unknown values of enum columns, most frequent first, each with the ``--map-value`` that
    would take it (spec §12): ``{"field", "value", "rows", "map_value"}``."""
    from crmcli import vocab

    out = []
    for (fld, value), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        keys = ", ".join(vocab.FIELDS[fld])
        out.append({"field": fld, "value": value, "rows": n, "map_value": f"--map-value '{fld}:{value}=KEY' (KEY: {keys})"})
    return out


def parse_value_maps(specs: list[str] | tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``--map-value FIELD:VALUE=KEY`` (``stage:Engaging=intent``) -> {field: {folded value: key}}."""
    from crmcli import vocab
    from crmcli.errors import CrmError

    # exit 1 (spec §12: a value map naming an unknown field or key), before the file is read
    out: dict[str, dict[str, str]] = {}
    for spec in specs:
        head, eq, key = spec.partition("=")
        fld, colon, value = head.partition(":")
        fld = fld.strip().lower()
        if not eq or not colon or not value.strip() or not key.strip():
            raise CrmError(N_("--map-value {spec!r}: write it as FIELD:VALUE=KEY, e.g. stage:Engaging=intent"), spec=spec)
        if fld not in VALUE_MAP_FIELDS:
            raise CrmError(N_("--map-value {spec!r}: {fld} has no fixed values; fields: {value_map_fields}"), spec=spec, fld=fld, value_map_fields=', '.join(VALUE_MAP_FIELDS))
        try:
            canonical = vocab.parse(fld, key.strip())
        except Exception as exc:  # a ParseError naming the accepted keys
            raise CrmError(N_("--map-value {spec!r}: {exc}"), spec=spec, exc=exc) from None
        out.setdefault(fld, {})[vocab.fold(value)] = canonical
    return out
