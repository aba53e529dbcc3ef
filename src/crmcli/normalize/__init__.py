"""Reading the values people type into cells and flags: text, names, phones, dates, money.

One module a job: ``text`` (free text, names, empty markers, sensitive numbers), ``phones``
(and e-mail), ``dates``, ``money``; everything is imported from here, ``normalize.parse_date``.

Spec §2, §3, §5 and §9. Every function is pure (no I/O, no clock: callers pass
``today``), and every parse failure is a ``ParseError`` whose message names the
value; no other exception escapes, whatever the input (the tests fuzz this).

These run once per cell on 100k-row imports, so the common shapes (a plain
11-digit mobile, an ISO date) return through a fast path before any general
machinery, and ``dateutil.parser`` is imported only when a date needs it.
``phonenumbers`` is not used: the dedup key in §3 is a digit string with a few
Chinese-specific rules, which a couple of regexes express exactly and ~30x faster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcli.normalize.dates import DATE_ORDERS, parse_date
    from crmcli.normalize.money import parse_money
    from crmcli.normalize.phones import EMAIL_RE, clean_phone, mask_email, mask_phone, phone_key
    from crmcli.normalize.text import (
        EMPTY_MARKERS,
        clean_text,
        drop_invisible,
        is_empty,
        keep_text,
        looks_sensitive,
        name_key,
    )

# name -> the module of its job, imported on first use: a report that reads no date pays for no
# date parsing (its regexes are compiled when the module loads)
_WHERE = {
    "DATE_ORDERS": "dates", "parse_date": "dates",
    "parse_money": "money",
    "EMAIL_RE": "phones", "clean_phone": "phones", "mask_email": "phones", "mask_phone": "phones", "phone_key": "phones",
    "EMPTY_MARKERS": "text", "clean_text": "text", "drop_invisible": "text", "is_empty": "text", "keep_text": "text",
    "looks_sensitive": "text", "name_key": "text",
}  # fmt: skip

__all__ = [
    "DATE_ORDERS", "EMAIL_RE", "EMPTY_MARKERS", "clean_phone", "clean_text", "drop_invisible", "is_empty", "keep_text",
    "looks_sensitive", "mask_email", "mask_phone", "name_key", "parse_date", "parse_money", "phone_key",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcli.normalize' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"crmcli.normalize.{module}"), name)
    globals()[name] = value  # once: later uses are a plain module attribute
    return value
