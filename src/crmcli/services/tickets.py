"""Service tickets (客户服务, spec §15): add, update, list, and a customer's tickets for ``show``.

A ticket has a code ``T`` + YYYYMM of the day it was opened + a serial, a type (free text, the
seed's 产品质量 / 物流时效 / 售后响应 as suggestions, grouped through the alias table of
``settings.ticket_aliases``: 物流延迟 is 物流时效), a status key (open 待处理, in_progress 处理中,
resolved 已解决) and, once resolved, a satisfaction score 1-5. Writes take a SQLAlchemy
``Connection`` (the caller's change set); reads a ``Reader``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from crmcli import normalize, vocab
from crmcli.errors import CrmError, NotFound, ParseError, UsageError
from crmcli.i18n import N_
from crmcli.store.codes import ticket_codes

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.store.reader import Reader

SUGGESTED_TYPES = ("产品质量", "物流时效", "售后响应", "其他")
OTHER_TYPE = "其他"
COLUMNS = (
    "code", "customer", "name", "type", "status", "satisfaction", "handler", "opened_at", "resolved_at", "content", "note",
)  # fmt: skip
_CODE_RE = re.compile(r"^T\d{6}\d{3,}$")
_SCORE_RE = re.compile(r"^\s*([0-9]+(?:\.0+)?)\s*(?:分|points?|/\s*5)?\s*$", re.IGNORECASE)


def canonical_type(text: object, aliases: dict[str, str]) -> str:
    """The stored type of ``text``: trimmed and NFKC-normalised, then through the alias table."""
    value = normalize.clean_text(text)
    if value is None:
        raise ParseError(N_("ticket type is empty"))
    if len(value) > 100:
        raise ParseError(N_("ticket type is too long ({value} characters; at most 100)"), value=len(value))
    folded = {vocab.fold(k): normalize.clean_text(v) or v for k, v in aliases.items()}
    seen = {value}
    while (target := folded.get(vocab.fold(value))) is not None and target not in seen:  # an alias of an alias
        seen.add(target)
        value = target
    for suggestion in SUGGESTED_TYPES:  # 产品质量 typed as 产品 质量 or in full width
        if vocab.fold(suggestion) == vocab.fold(value):
            return suggestion
    return value


def parse_satisfaction(value: object) -> int:
    """A satisfaction score: a whole number 1-5 (``4``, ``4分``, ``4.0`` from a spreadsheet)."""
    if isinstance(value, bool):
        raise ParseError(N_("satisfaction '{value}' is not a score from 1 to 5"), value=value)
    if isinstance(value, int | float):
        number = float(value)
    else:
        m = _SCORE_RE.match(normalize.clean_text(value) or "")
        if m is None:
            raise ParseError(N_("satisfaction '{value}' is not a score from 1 to 5"), value=value)
        number = float(m.group(1))
    if not number.is_integer() or not 1 <= number <= 5:
        raise ParseError(N_("satisfaction {value} is out of range; a score is 1 to 5"), value=value)
    return int(number)


def parse_status(value: str) -> str:
    return vocab.parse("status", value)


def check_code(code: str) -> str:
    value = (normalize.clean_text(code) or "").upper()
    if not _CODE_RE.match(value):
        raise NotFound(N_("no ticket {code!r}: a ticket code is T + YYYYMM + serial, e.g. T202405001 (crm ticket list shows them)"), code=code)
    return value


# --------------------------------------------------------------------------- writes


def add(
    conn: Connection,
    customer: dict[str, Any],
    *,
    type_: str,
    content: str,
    handler: str | None,
    on: dt.date,
    today: dt.date,
    user: str,
    aliases: dict[str, str],
) -> dict[str, Any]:
    """Open a ticket for ``customer``; returns it (code, type, ...)."""
    from sqlalchemy import insert

    from crmcli.models import Ticket

    kind = canonical_type(type_, aliases)
    text = normalize.keep_text(content)
    if not text:
        raise UsageError(N_("{content} is empty"), options=["content"])
    if on > today:
        raise UsageError(N_("{date} {value} is in the future; a ticket is recorded when it is raised"), options=["date"], value=on.isoformat())
    code = ticket_codes(conn).next(on)
    values = {
        "code": code, "customer_id": customer["id"], "type": kind, "content": text, "status": "open",
        "handler": normalize.clean_text(handler) if handler else None, "opened_at": on, "by": user,
    }  # fmt: skip
    conn.execute(insert(Ticket.__table__).values(**values))  # type: ignore[attr-defined]
    return {**values, "customer": customer["code"], "name": customer["name"]}


def _row(conn: Connection, code: str) -> dict[str, Any]:
    from sqlalchemy import text

    row = conn.execute(
        text(
            "SELECT t.id, t.code, t.status, t.satisfaction, t.note, t.resolved_at, c.code, c.name "
            "FROM ticket t JOIN customer c ON c.id = t.customer_id WHERE t.code = :code"
        ),
        {"code": code},
    ).first()
    if row is None:
        raise NotFound(N_("no ticket {code} (crm ticket list shows them)"), code=code)
    keys = ("id", "code", "status", "satisfaction", "note", "resolved_at", "customer", "name")
    return dict(zip(keys, row, strict=True))


def update(
    conn: Connection,
    code: str,
    *,
    status: str | None = None,
    satisfaction: str | int | None = None,
    note: str | None = None,
    handler: str | None = None,
    today: dt.date,
) -> dict[str, Any]:
    """Change a ticket's status, satisfaction, note or handler; returns it with ``changed``.

    Resolving sets ``resolved_at`` to today; reopening clears it and the score, since a score
    belongs to a resolved ticket only (spec §15).
    """
    code = check_code(code)
    new_status = parse_status(status) if status is not None else None
    score = parse_satisfaction(satisfaction) if satisfaction is not None else None
    cur = _row(conn, code)
    final = new_status or cur["status"]
    if score is not None and final != "resolved":
        label = vocab.label("status", final, "zh")
        raise CrmError(N_("ticket {code} is {final} ({label}): a satisfaction score goes only with a resolved ticket (add {status} resolved); nothing written"), options=["status"], code=code, final=final, label=label)
    values: dict[str, Any] = {}
    if new_status is not None and new_status != cur["status"]:
        values["status"] = new_status
        if new_status == "resolved":
            values["resolved_at"] = today.isoformat()
        else:
            values["resolved_at"] = None
            if cur["satisfaction"] is not None:
                values["satisfaction"] = None
    if score is not None and score != cur["satisfaction"]:
        values["satisfaction"] = score
    if note is not None:
        text = normalize.keep_text(note)
        if text != cur["note"]:
            values["note"] = text
    if handler is not None:
        values["handler"] = normalize.clean_text(handler)
    if values:
        from sqlalchemy import text as sql

        sets = ", ".join(f'"{k}" = :v_{k}' for k in values)
        conn.execute(sql(f"UPDATE ticket SET {sets} WHERE id = :id"), {**{f"v_{k}": v for k, v in values.items()}, "id": cur["id"]})
    return {**cur, **values, "changed": list(values)}


# --------------------------------------------------------------------------- reads


def listing(
    reader: Reader,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    type_: str | None = None,
    handler: str | None = None,
    aliases: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Tickets, newest first; without ``customer_id`` those of archived customers are left out."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if customer_id is not None:
        conds.append("t.customer_id = :cid")
        params["cid"] = customer_id
    else:
        conds.append("c.archived = FALSE")
    if status is not None:
        key = parse_status(status)
        conds.append("t.status = :status")
        params["status"] = key
    if type_ is not None:
        conds.append("t.type = :type")
        params["type"] = canonical_type(type_, aliases or {})
    if handler is not None:
        conds.append("t.handler = :handler")
        params["handler"] = normalize.clean_text(handler)
    sql = (
        "SELECT t.code, c.code, c.name, t.type, t.status, t.satisfaction, t.handler, t.opened_at, t.resolved_at, "
        f"t.content, t.note FROM ticket t JOIN customer c ON c.id = t.customer_id WHERE {' AND '.join(conds)} "
        "ORDER BY t.opened_at DESC, t.id DESC"
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in reader.all(sql, params)]


def of_customer(reader: Reader, customer_id: int) -> list[dict[str, Any]]:
    """A customer's tickets for ``show``, newest first."""
    return [
        {k: v for k, v in t.items() if k not in ("customer", "name")} for t in listing(reader, customer_id=customer_id)
    ]
