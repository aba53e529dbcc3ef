"""Merging two customers into one, and taking a merge back (spec §14).

``merge`` runs inside one logged write transaction, so the merge *is* one change set of the
change log (spec §18): every row it moves or fills is recorded there with its fields before
and after by the same triggers as any other command. The ``merge`` table only names that
change set (merge id, KEEP, OTHER, when, who); ``merge --undo`` is ``crm undo`` of that change set (the rows a table moves are one ``move``
change, ``changelog.move_rows``),
and whether a merge is undone is read from the change set, so the two can never disagree.

What a merge does, KEEP keeping its own values:

* OTHER's follow-ups, stage changes, opportunities and tickets (``MOVED``) are moved to KEEP, whose
  purchase history then counts them and whose stage follows them when they take it further;
* OTHER's tags are moved to KEEP (those KEEP has already are dropped from OTHER);
* KEEP's empty fields (``FILLED``) and custom values are filled in from OTHER's, never overwritten;
* OTHER is marked ``merged_into`` KEEP and archived: hidden from every list, report and export,
  while its code and phone still name KEEP (``customer_query.resolve``) -- its phone is one of
  KEEP's phones for ``dupes`` and REF lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError, NotFound
from crmcli.i18n import N_, Text
from crmcli.store.changelog import MOVABLE

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.store.reader import Reader

# Tables whose rows belong to one customer and move with a merge (an opportunity table joins
# there): the change log's, whose triggers leave a move to ``changelog.move_rows``.
MOVED = MOVABLE
# Customer fields a merge fills in on KEEP when KEEP has none (identity fields never: name, phone, code).
FILLED = ("contact", "title", "email", "industry", "source", "owner", "need", "notes", "amount", "expected_close", "lost_reason")


def _sql(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """``sql`` with named parameters through the driver (``Reader.over``: the same text on either
    database): a merge is a dozen short statements, and SQLAlchemy's compiling of each was as much
    CPU as the statements themselves."""
    from crmcli.store.reader import Reader

    return Reader.over(conn).cursor(sql, params)


def _row(conn: Connection, cid: int) -> dict[str, Any]:
    cur = _sql(conn, "SELECT * FROM customer WHERE id = :id", {"id": cid})
    try:
        row = cur.fetchone()
        if row is None:
            raise NotFound(N_("customer #{cid} does not exist"), cid=cid)
        return dict(zip([d[0] for d in cur.description], row, strict=True))
    finally:
        cur.close()


def _all(conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """The rows of a statement (an empty list for one that returns none)."""
    cur = _sql(conn, sql, params)
    try:
        return cur.fetchall() if cur.description is not None else []
    finally:
        cur.close()


def check(keep: dict[str, Any], other: dict[str, Any], into: str | None = None) -> None:
    """Refuse a merge that cannot be: into itself, or of or into a customer already merged
    (``into``: the code of the customer the merged one went into, for the message)."""
    if keep["id"] == other["id"]:
        raise CrmError(N_("cannot merge {code} {name} into itself; nothing written"), code=keep['code'], name=keep['name'])
    for who in (keep, other):
        if who.get("merged_into") is not None:
            raise CrmError(N_("{code} {name} was merged into {value} already (crm merges lists merges; crm merge {undo} takes one back); nothing written"), options=["undo"], code=who['code'], name=who['name'], value=into or Text(N_("another customer")))


def plan(conn: Connection, keep_id: int, other_id: int) -> dict[str, Any]:
    """What merging ``other_id`` into ``keep_id`` moves and fills: counts per table, fields, tags."""
    keep, other = _row(conn, keep_id), _row(conn, other_id)
    gone = keep if keep["merged_into"] is not None else other
    into = _row(conn, gone["merged_into"])["code"] if gone["merged_into"] is not None else None
    check(keep, other, into)
    counts = _all(conn, "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t} WHERE customer_id = :o)" for t in MOVED), {"o": other_id})
    moved = dict(zip(MOVED, (int(n or 0) for n in counts[0]), strict=True))
    fill = {f: other[f] for f in FILLED if keep[f] in (None, "") and other[f] not in (None, "")}
    tags = [r[0] for r in _all(conn, "SELECT name FROM tag WHERE customer_id = :o ORDER BY name", {"o": other_id})]
    custom = [
        r[0]
        for r in _all(
            conn,
            "SELECT field_key FROM custom_value WHERE customer_id = :o AND field_key NOT IN "
            "(SELECT field_key FROM custom_value WHERE customer_id = :k) ORDER BY field_key",
            {"o": other_id, "k": keep_id},
        )
    ]
    return {
        "keep": keep["code"], "keep_name": keep["name"], "other": other["code"], "other_name": other["name"],
        "moved": moved, "filled": sorted(fill), "tags": tags, "custom": custom, "_fill": fill,
        "keep_id": keep_id, "other_id": other_id,
    }  # fmt: skip


def merge(conn: Connection, keep_id: int, other_id: int, *, user: str, at: str) -> dict[str, Any]:
    """Merge ``other_id`` into ``keep_id`` inside ``conn``'s change set; returns the plan and the merge id."""
    from crmcli.services.followups import refresh_summary
    from crmcli.store import changelog

    set_id = conn.info.get("change_set")
    if set_id is None:  # pragma: no cover - programming error: a merge must be undoable
        raise RuntimeError("a merge runs inside a logged write transaction")
    p = plan(conn, keep_id, other_id)
    fill = p.pop("_fill")
    if fill:
        _all(conn, f"UPDATE customer SET {', '.join(f'{k} = :f_{k}' for k in fill)} WHERE id = :k",
             {**{f"f_{k}": v for k, v in fill.items()}, "k": keep_id})  # fmt: skip
    for table in MOVED:
        if p["moved"][table]:
            changelog.move_rows(conn, set_id, table, other_id, keep_id)
    # tags: a row's key is (customer, name), so a move is a delete and an insert (each logged)
    _all(conn, "DELETE FROM tag WHERE customer_id = :o", {"o": other_id})
    has = {r[0] for r in _all(conn, "SELECT name FROM tag WHERE customer_id = :k", {"k": keep_id})}
    for t in p["tags"]:  # those KEEP has already are dropped
        if t not in has:
            _all(conn, "INSERT INTO tag (customer_id, name) VALUES (:k, :t)", {"k": keep_id, "t": t})
    if p["custom"]:
        keys = {f"key{i}": k for i, k in enumerate(p["custom"])}
        _all(
            conn,
            "INSERT INTO custom_value (customer_id, field_key, value) SELECT :k, field_key, value FROM custom_value "
            f"WHERE customer_id = :o AND field_key IN ({', '.join(':' + k for k in keys)})",
            {"k": keep_id, "o": other_id, **keys},
        )
    _all(conn, "UPDATE customer SET merged_into = :k, archived = :yes WHERE id = :o", {"k": keep_id, "yes": True, "o": other_id})
    if p["moved"]["follow_up"]:
        refresh_summary(conn, [keep_id, other_id])
    if p["moved"]["deal"]:
        _follow_opportunities(conn, keep_id, other_id, user=user, on=at[:10])
    merge_id = _all(
        conn,
        "INSERT INTO merge (keep_id, other_id, set_id, at, by) VALUES (:k, :o, :s, :at, :by) RETURNING id",
        {"k": keep_id, "o": other_id, "s": set_id, "at": at, "by": user},
    )[0][0]
    return {**p, "merge": merge_id, "change": set_id}


def _follow_opportunities(conn: Connection, keep_id: int, other_id: int, *, user: str, on: str) -> None:
    """KEEP's purchase history counts the opportunities it gained, and its stage follows them
    (spec §13) when they take it further -- a won one makes KEEP won -- never back."""
    from crmcli.services import opportunities, purchases

    purchases.refresh(conn, [keep_id, other_id])
    stages = {r[0] for r in _all(conn, "SELECT DISTINCT stage FROM deal WHERE customer_id = :k", {"k": keep_id})}
    target = opportunities.derived_stage(stages)
    current = _all(conn, "SELECT stage FROM customer WHERE id = :k", {"k": keep_id})[0][0]
    rank = opportunities._RANK
    if target in rank and current in rank and rank[target] > rank[current]:
        opportunities.sync_stage(conn, keep_id, on=on, by=user)


_UNDONE = "(s.undone_by IS NOT NULL AND (SELECT u.undone_by FROM change_set u WHERE u.id = s.undone_by) IS NULL)"


def listing(reader: Reader) -> list[dict[str, Any]]:
    """Every merge, newest first: {id, keep, other, at, by, undone} (+ names and change set)."""
    rows = reader.all(
        f"SELECT m.id, k.code, o.code, m.at, m.by, {_UNDONE}, k.name, o.name, m.set_id FROM merge m "
        "JOIN change_set s ON s.id = m.set_id LEFT JOIN customer k ON k.id = m.keep_id "
        "LEFT JOIN customer o ON o.id = m.other_id ORDER BY m.id DESC"
    )
    keys = ("id", "keep", "other", "at", "by", "undone", "keep_name", "other_name", "change")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    for m in out:
        m["undone"] = bool(m["undone"])
    return out


def undo(conn: Connection, merge_id: int, *, force: bool = False) -> dict[str, Any]:
    """Take merge ``merge_id`` back: ``crm undo`` of its change set (inside ``conn``'s own change set)."""
    from crmcli.services import history
    from crmcli.store.reader import Reader

    reader = Reader.over(conn)
    row = reader.one(
        f"SELECT m.set_id, {_UNDONE}, k.code, o.code FROM merge m JOIN change_set s ON s.id = m.set_id "
        "LEFT JOIN customer k ON k.id = m.keep_id LEFT JOIN customer o ON o.id = m.other_id WHERE m.id = :id",
        {"id": merge_id},
    )
    if row is None:
        raise NotFound(N_("no merge {merge_id} (crm merges lists them)"), merge_id=merge_id)
    set_id, undone, keep, other = row
    if undone:
        raise CrmError(N_("merge {merge_id} ({other} into {keep}) was already undone"), merge_id=merge_id, other=other, keep=keep)
    p = history.plan(reader, set_id, current=conn.info.get("change_set"))
    try:
        out = history.apply(conn, p, force=force)
    except CrmError as exc:
        if exc.message != history.CONFLICT:
            raise
        raise CrmError(N_("cannot undo merge {merge_id} (change {change_set}): {value}; run again with {force} to undo it anyway"),
                       options=exc.options, merge_id=merge_id, **exc.values) from None
    return {**out, "merge": merge_id, "keep": keep, "other": other}
