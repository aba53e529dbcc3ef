"""Resolving identity: which customer a row names (spec §3, §9).

A code the database already has names that customer when the row's name or phone matches it
(a conflict otherwise); else normalised name + phone decides. Within the file, later rows see
the customers earlier rows created.

``_Known`` maps the hash of the identity (name key, phone key) and of the code to the id, for
every customer this import created or looked at; the database is asked, once per chunk, only
about the others whose phone key or code appears in the chunk -- and not at all when it had no
customers before. Hashes keep this to ~100 bytes a customer (a million-row file); a hit is
checked against the customer's current values before it counts.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crmcli.i18n import gettext as _
from crmcli.services.importer.fieldsets import LOAD_COLUMNS
from crmcli.store import in_list, sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.services.importer.rows import _Parsed

_IDENT = operator.attrgetter("ident")
_CODE = operator.attrgetter("code")


class _Known:
    """The customers this import knows, and for the chunk at hand (``rows``) their current values."""

    def __init__(self, conn: Connection, *, had_customers: bool, code_header: str, match_email: bool = False) -> None:
        self.conn = conn
        # --match email (spec §3): an e-mail equal after case-folding identifies a customer too
        self.match_email = match_email
        self.by_email: dict[str, int] = {}  # folded e-mail -> id (-1: several customers have it)
        self.had_customers = had_customers
        self.code_header = code_header  # the code column's header, for the reasons
        self.by_identity: dict[int, int] = {}
        self.by_code: dict[int, int] = {}
        self.rows: dict[int, dict[str, Any]] = {}  # id -> current values (DB form), this chunk's
        # Customers merged into another (spec §14) are never matched themselves: their phones and
        # code name the customer they went into (as REF does). Only asked when there were merges.
        self.has_merges = had_customers and sql(conn, "SELECT 1 FROM merge LIMIT 1").first() is not None
        self.merged_phone: dict[str, int] = {}  # a merged customer's phone key -> KEEP's id
        self.merged_code: dict[str, int] = {}  # a merged customer's code -> KEEP's id

    def _in(self, statement: str, values: list[Any]) -> Any:
        """``statement`` with its ``{}`` the list of ``values`` (``IN ({})``)."""
        marks, params = in_list(values)
        return sql(self.conn, statement.format(marks), params)

    def new_chunk(self) -> dict[int, dict[str, Any]]:
        self.rows = {}
        return self.rows

    def ident(self, ident: int, nk: str, pk: str) -> int | None:
        cid = self.by_identity.get(ident)
        if cid is not None:
            r = self.rows.get(cid)
            if r is None or r["name_key"] != nk or (r["phone_key"] != pk and pk not in r.get("other_keys", ())):
                return None
        return cid

    def _identify(self, p: _Parsed) -> int | None:
        """Name + any phone of the row against name + any phone of a customer (spec §3); a row
        with a phone also finds a customer of that name who has none (its phone is filled in)."""
        nk, pk = p.values["name_key"], p.values["phone_key"]
        cid = self.ident(p.ident, nk, pk)
        if cid is not None or not pk:
            return cid
        for other in p.other_keys:
            cid = self.ident(hash((nk, other)), nk, other)
            if cid is not None:
                return cid
        return self.ident(hash((nk, "")), nk, "")

    def coded(self, code: str) -> int | None:
        cid = self.by_code.get(hash(code))
        if cid is not None:
            r = self.rows.get(cid)
            if r is None or r["code"] != code:
                return None
        return cid

    def code_of(self, cid: int) -> str:
        code = self.rows[cid]["code"]
        return code if code and not code.startswith("~") else "(new, this file)"

    def resolve(self, p: _Parsed) -> tuple[int | None, str | None]:
        """The customer a row names: (its id, None), (None, None) for a new one, or (None, why
        the row is refused: a code that names someone else)."""
        v = p.values
        nk, pk = v["name_key"], v["phone_key"]
        ident = self._identify(p)
        if ident is None and self.match_email and v.get("email"):
            ident = self.by_email.get(v["email"].casefold())
            if ident == -1:
                return None, _("row {rowno}: several customers have the e-mail {email} (this import matches customers by e-mail)").format(rowno=p.rowno, email=v['email'])
            if ident is not None and ident not in self.rows:  # pragma: no cover - loaded with the chunk
                ident = None
        owner = self.coded(p.code) if p.code is not None else None
        if owner is None and (self.merged_code or self.merged_phone):
            keep = self._keep(p, ident, owner)
            if keep is not None:
                return keep
        if owner is None:
            return ident, None
        o = self.rows[owner]
        if o["name_key"] != nk and o["phone_key"] != pk:
            return None, (
                _("row {rowno}, column {code_header}: code conflict: {code} is {name} ({phone}), and neither the name nor the phone matches").format(rowno=p.rowno, code_header=self.code_header, code=p.code, name=o['name'], phone=o['phone'])
            )
        if ident is not None and ident != owner:
            x = self.rows[ident]
            return None, (
                _("row {rowno}, column {code_header}: code {code} is {name} ({phone}), but this name and phone are {ident} {name2}").format(rowno=p.rowno, code_header=self.code_header, code=p.code, name=o['name'], phone=o['phone'], ident=self.code_of(ident), name2=x['name'])
            )
        return owner, None

    def _keep(self, p: _Parsed, ident: int | None, owner: int | None) -> tuple[int | None, str | None] | None:
        """A row that names a merged customer -- by its code, or by its phone when nothing else
        matches -- is a row of the customer it went into; None when it names no merged one.

        The row attaches to KEEP as it is: its name, phone and code are the merged customer's,
        which KEEP answers to already, so they are not written over KEEP's own."""
        keep = self.merged_code.get(p.code) if p.code is not None and owner is None else None
        if keep is None and ident is None and owner is None:
            for pk in (p.values["phone_key"], *p.other_keys):
                keep = self.merged_phone.get(pk) if pk else None
                if keep is not None:
                    break
        if keep is None or keep not in self.rows:
            return None
        if ident is not None and ident != keep:
            x = self.rows[ident]
            return None, (
                _("row {rowno}, column {code_header}: code {code} was merged into {keep}, but this name and phone are {ident} {name}").format(rowno=p.rowno, code_header=self.code_header, code=p.code, keep=self.code_of(keep), ident=self.code_of(ident), name=x['name'])
            )
        k = self.rows[keep]
        p.code = None
        for fld in ("name", "name_key", "phone", "phone_key"):
            p.values[fld] = k[fld]
        p.ident = hash((k["name_key"], k["phone_key"]))
        return keep, None

    def add(self, cid: int, rec: dict[str, Any], ident: int, code: str | None) -> None:
        """A customer this import creates (``rec["other_keys"]``: its other phones' keys)."""
        if code is not None:
            self.by_code[hash(code)] = cid
        self.rows[cid] = rec
        self.by_identity[ident] = cid
        self._email(cid, rec)
        for other in rec.get("other_keys", ()):
            self.by_identity.setdefault(hash((rec["name_key"], other)), cid)

    def _email(self, cid: int, rec: dict[str, Any]) -> None:
        if self.match_email and rec.get("email"):
            key = rec["email"].casefold()
            self.by_email[key] = cid if self.by_email.get(key, cid) == cid else -1

    def change(self, cid: int, changes: dict[str, Any]) -> None:
        """Apply ``changes`` to a customer's current values; its identity and code follow."""
        cur = self.rows[cid]
        if "name_key" in changes or "phone_key" in changes:
            old = hash((cur["name_key"], cur["phone_key"]))
            if self.by_identity.get(old) == cid:
                del self.by_identity[old]
        if "code" in changes:
            old = hash(cur["code"])
            if self.by_code.get(old) == cid:
                del self.by_code[old]
            self.by_code[hash(changes["code"])] = cid
        cur.update(changes)
        self._email(cid, cur)
        self.by_identity[hash((cur["name_key"], cur["phone_key"]))] = cid
        for other in cur.get("other_keys", ()):
            self.by_identity.setdefault(hash((cur["name_key"], other)), cid)

    def load(self, chunk: list[_Parsed], wait: Callable[[], None]) -> None:
        """Into ``rows``: the customers the chunk's rows may name, from the database (``wait``
        first: the writer thread may be using the connection)."""
        cols = ", ".join(LOAD_COLUMNS)
        found: list[Any] = []
        if self.had_customers:
            wait()
            pks = {p.values["phone_key"] for p in chunk}
            pks.update(k for p in chunk for k in p.other_keys)
            pks.discard("")
            codes = list({p.code for p in chunk if p.code})
            # a name without a phone, or with a phone that a customer of that name may lack
            names = list({p.values["name_key"] for p in chunk})
            emails = list({p.values["email"].lower() for p in chunk if p.values.get("email")}) if self.match_email else []
            queries = (  # each "{}" is a list of parameters
                (f"SELECT {cols} FROM customer WHERE lower(email) IN ({{}}) AND merged_into IS NULL", emails),
                (f"SELECT {cols} FROM customer WHERE phone_key IN ({{}})", list(pks)),
                (f"SELECT {cols} FROM customer WHERE code IN ({{}})", codes),
                (f"SELECT {cols} FROM customer WHERE phone_key = '' AND name_key IN ({{}})", names),
                (f"SELECT {cols} FROM customer WHERE id IN (SELECT customer_id FROM customer_phone WHERE phone_key IN ({{}}))", list(pks)),
            )
            for statement, keys in queries:
                for i in range(0, len(keys), 900):
                    part = keys[i : i + 900]
                    found += self._in(statement, part).all()
        if self.has_merges and found:
            found = self._follow_merges(found)
        # customers this import saw in earlier chunks (set operations: most chunks meet none)
        by_identity, by_code = self.by_identity, self.by_code
        want = {by_identity[h] for h in by_identity.keys() & set(map(_IDENT, chunk))}
        want.update(by_code[h] for h in by_code.keys() & set(map(hash, filter(None, map(_CODE, chunk)))))
        if self.match_email:
            folded = {p.values["email"].casefold() for p in chunk if p.values.get("email")}
            want.update(cid for e in folded if (cid := self.by_email.get(e, -1)) >= 0)
        want -= {r[0] for r in found}
        ids_ = list(want)
        if ids_:
            wait()
        for i in range(0, len(ids_), 900):
            part = ids_[i : i + 900]
            found += self._in(f"SELECT {cols} FROM customer WHERE id IN ({{}})", part).all()
        other_keys: dict[int, set[str]] = {}
        new_ids = [r[0] for r in found if r[0] not in self.rows]
        for i in range(0, len(new_ids), 900):
            part = new_ids[i : i + 900]
            for cid, key in self._in("SELECT customer_id, phone_key FROM customer_phone WHERE customer_id IN ({})", part):
                other_keys.setdefault(cid, set()).add(key)
        for r in found:
            cid = r[0]
            if cid in self.rows:
                continue
            # dates as ISO text, as the row's cells are (and as SQLite's driver gives them)
            rec = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in zip(LOAD_COLUMNS, r, strict=True)}
            rec["other_keys"] = other_keys.get(cid, set())
            self.rows[cid] = rec
            by_identity[hash((rec["name_key"], rec["phone_key"]))] = cid
            for other in rec["other_keys"]:
                by_identity.setdefault(hash((rec["name_key"], other)), cid)
            by_code[hash(rec["code"])] = cid
            self._email(cid, rec)

    def _follow_merges(self, found: list[Any]) -> list[Any]:
        """``found`` without the customers merged into another, with the ones they went into;
        their phones (other phones too) and codes noted as KEEP's."""
        ids = list({r[0] for r in found})
        into: dict[int, int] = {}
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            into.update(self._in("SELECT id, merged_into FROM customer WHERE merged_into IS NOT NULL AND id IN ({})", part).all())
        if not into:
            return found
        keep_of: dict[int, int] = {}
        for cid, target in into.items():
            seen = {cid}
            while target not in seen:  # merged into one merged later: the last one
                seen.add(target)
                nxt = sql(self.conn, "SELECT merged_into FROM customer WHERE id = :id", {"id": target}).scalar()
                if nxt is None:
                    break
                target = nxt
            keep_of[cid] = target
        idx = LOAD_COLUMNS.index
        pk_at, code_at = idx("phone_key"), idx("code")
        for r in found:
            keep = keep_of.get(r[0])
            if keep is not None:
                if r[pk_at]:
                    self.merged_phone[r[pk_at]] = keep
                self.merged_code[r[code_at]] = keep
        for cid, key in self._in("SELECT customer_id, phone_key FROM customer_phone WHERE customer_id IN ({})", list(keep_of)):
            self.merged_phone[key] = keep_of[cid]
        have = {r[0] for r in found}
        missing = list({k for k in keep_of.values() if k not in have and k not in self.rows})
        cols = ", ".join(LOAD_COLUMNS)
        extra = self._in(f"SELECT {cols} FROM customer WHERE id IN ({{}})", missing).all() if missing else []
        return [r for r in found if r[0] not in keep_of] + extra

    def records(
        self, *, follow_ups: bool, deals: bool, tags: bool
    ) -> tuple[dict[int, set[tuple[Any, ...]]], dict[int, set[tuple[str, float]]], dict[int, set[str]]]:
        """What the customers in ``rows`` already have, so a row does not add it twice: their
        follow-ups (date, method, content), deals (date, amount) and tags -- each only when asked."""
        fu_sigs: dict[int, set[tuple[Any, ...]]] = {}
        deal_sigs: dict[int, set[tuple[str, float]]] = {}
        tags_of: dict[int, set[str]] = {}
        ids = list(self.rows)
        for i in range(0, len(ids), 900):
            part = ids[i : i + 900]
            if follow_ups:
                for cid, day, method, content in self._in("SELECT customer_id, date, method, content FROM follow_up WHERE customer_id IN ({})", part):
                    fu_sigs.setdefault(cid, set()).add((str(day), method, content))
            if deals:
                for cid, day, amount in self._in("SELECT customer_id, closed_at, amount FROM deal WHERE stage = 'won' AND customer_id IN ({})", part):
                    deal_sigs.setdefault(cid, set()).add((str(day), float(amount)))
            if tags:
                for cid, name in self._in("SELECT customer_id, name FROM tag WHERE customer_id IN ({})", part):
                    tags_of.setdefault(cid, set()).add(name)
        return fu_sigs, deal_sigs, tags_of
