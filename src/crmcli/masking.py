"""``--mask`` (spec §7): how contact data is shown when masking is on, decided in one place.

Every output that can carry a phone or an e-mail goes through here when ``--mask`` is given:
list and show records (``render.mask_records``), export rows and objects
(``services.exporter``), and the messages of errors that name customers or echo a REF
(``errors.CrmError.masked``, called by the CLI's error boundary). A new output that masks
with these cannot mask differently, and a new contact field is one entry in ``MASKERS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from typing import Any

from crmcli.normalize import mask_email, mask_phone

# field -> how its value is shown masked ("13812345678" -> "138****5678", "z***@example.com")
MASKERS: dict[str, Callable[[str], str]] = {"phone": mask_phone, "email": mask_email}

# A run of digits that may be a phone: 7 digits or more, with the separators people type.
_PHONE_RUN_RE = re.compile(r"\+?[0-9][0-9 ()\-]*[0-9]")


def mask_value(field: str, value: Any) -> Any:
    """``value`` as shown for ``field`` with ``--mask``: masked when it is contact data."""
    masker = MASKERS.get(field)
    return masker(value) if masker is not None and value else value


def mask_record(record: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask the contact fields of one record, in place; returns it."""
    for field in MASKERS.keys() & record.keys():
        record[field] = mask_value(field, record[field])
    return record


def _mask_run(m: re.Match[str]) -> str:
    run = m.group()
    return mask_phone(run) if sum(c.isdigit() for c in run) >= 7 else run


def mask_text(text: str) -> str:
    """Free text (a REF echoed in a message) with every phone-like run of 7+ digits masked."""
    return _PHONE_RUN_RE.sub(_mask_run, text)
