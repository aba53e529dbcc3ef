"""Products (产品): matched by normalised name, so ``GTX Pro`` and ``GTXPro`` are one product (spec §13).

``crm product add`` creates one; ``crm deal add --product`` names existing ones; an import creates
the ones it meets first (``Catalog``). Writes take a SQLAlchemy connection inside the command's
transaction; ``listing`` reads through the store's Reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcli import normalize
from crmcli.errors import Duplicate, NotFound, ParseError
from crmcli.i18n import N_

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crmcli.store.reader import Reader


def key(name: str) -> str:
    """A product's identity: its name without case, width or spaces (``normalize.name_key``)."""
    return normalize.name_key(name)


def clean_name(raw: str) -> str:
    name = normalize.clean_text(raw)
    if not name:
        raise ParseError(N_("product name is empty"))
    return name


def add(conn: Connection, name: str, *, price: float | None = None, code: str | None = None, batch_id: int | None = None) -> dict[str, Any]:
    """Create a product; one with the same normalised name (or code) is a Duplicate."""
    name = clean_name(name)
    k = key(name)
    same = _sql(conn, "SELECT code, name FROM product WHERE name_key = :k", {"k": k}).first()
    if same is not None:
        if same[0]:
            raise Duplicate(N_("product already exists: {name} ({code}); nothing written"), name=same[1], code=same[0])
        raise Duplicate(N_("product already exists: {name}; nothing written"), name=same[1])
    if code is not None:
        from crmcli.services.customers import check_code

        code = check_code(code)
        taken = _sql(conn, "SELECT name FROM product WHERE code = :c", {"c": code}).first()
        if taken is not None:
            raise Duplicate(N_("product code {code} is already used by {value}"), code=code, value=taken[0])
    if price is not None and price < 0:
        raise ParseError(N_("{price} {value:g}: a price cannot be negative"), options=["price"], value=price)
    new_id = _sql(
        conn,
        "INSERT INTO product (code, name, name_key, price, batch_id) VALUES (:c, :n, :k, :p, :b) RETURNING id",
        {"c": code, "n": name, "k": k, "p": price, "b": batch_id},
    ).scalar_one()
    return {"id": new_id, "code": code, "name": name, "price": price}


def _sql(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """``sql`` with named, bound parameters: the same text on either database."""
    from sqlalchemy import text

    return conn.execute(text(sql), params)


def find(conn: Connection, name: str) -> dict[str, Any]:
    """The product named ``name`` (normalised); NotFound naming the command that creates it."""
    name = clean_name(name)
    row = _sql(conn, "SELECT id, code, name, price FROM product WHERE name_key = :k", {"k": key(name)}).first()
    if row is None:
        raise NotFound(N_("no product named '{name}' (add it with: crm product add '{name}')"), name=name)
    return {"id": row[0], "code": row[1], "name": row[2], "price": row[3]}


class Catalog:
    """Products by normalised name, loaded once; an import creates the ones it meets first."""

    def __init__(self, conn: Connection, batch_id: int | None) -> None:
        self.conn = conn
        self.batch_id = batch_id
        self.ids: dict[str, int] = {}
        self.prices: dict[int, float | None] = {}
        from crmcli.store import sql

        for pid, k, price in sql(conn, "SELECT id, name_key, price FROM product"):
            self.ids[k] = pid
            self.prices[pid] = price
        self.created = 0

    def id_of(self, name: str) -> int:
        k = key(name)
        pid = self.ids.get(k)
        if pid is None:
            pid = int(
                _sql(
                    self.conn, "INSERT INTO product (name, name_key, batch_id) VALUES (:n, :k, :b) RETURNING id",
                    {"n": name, "k": k, "b": self.batch_id},
                ).scalar_one()
            )  # fmt: skip
            self.ids[k] = pid
            self.prices[pid] = None
            self.created += 1
        return pid


def listing(reader: Reader) -> list[dict[str, Any]]:
    """Every product, by name, with how many opportunities name it (``crm report products``: what they sold)."""
    rows = reader.all(
        "SELECT p.code, p.name, p.price, (SELECT COUNT(DISTINCT l.deal_id) FROM deal_line l WHERE l.product_id = p.id) "
        "FROM product p ORDER BY p.name_key"
    )
    return [dict(zip(("code", "name", "price", "opportunities"), r, strict=True)) for r in rows]
