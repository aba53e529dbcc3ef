"""A customer's purchase history (seed 003, spec §13), kept on the customer row.

``orders`` (合作次数), ``total_amount`` (累计消费金额), ``last_order_at`` (最近合作时间) and
``main_products`` (主要产品) are the customer's opening balance (what an imported sheet said:
``opening_*``) plus its won opportunities: 185,000 imported + a 10,000 deal = 195,000. They are
derived columns, like the follow-up summary, so that ``list`` and ``abc`` read them without
aggregating the opportunities; ``refresh`` is their only writer, called by whatever changes a
customer's opportunities or opening balance (and by undo).

What a product brought (``LINE_SHARES``): a won opportunity's amount is shared among its lines in
proportion to their value (quantity x unit price), or equally when its lines have no prices; one
line takes it all. So the products' revenues add up to the amount won.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MAIN_PRODUCTS = 3  # products of won opportunities named in main_products, before the opening ones
_SPLIT = re.compile(r"\s*[、,，;；/|]\s*")

# Each line with its share of its opportunity's amount (a CTE named ``shares``).
LINE_SHARES = """shares AS (
    SELECT l.deal_id, l.product_id, l.quantity,
           CASE WHEN SUM(COALESCE(l.quantity * l.unit_price, 0)) OVER w > 0
                THEN COALESCE(l.quantity * l.unit_price, 0) / SUM(COALESCE(l.quantity * l.unit_price, 0)) OVER w
                ELSE 1.0 / COUNT(*) OVER w END AS share
    FROM deal_line l WINDOW w AS (PARTITION BY l.deal_id)
)"""

_TOTALS = """
UPDATE customer SET (orders, total_amount, last_order_at) = (
    SELECT COALESCE(customer.opening_orders, 0) + COUNT(d.id),
           COALESCE(customer.opening_amount, 0) + COALESCE(SUM(d.amount), 0),
           CASE WHEN MAX(d.closed_at) IS NULL THEN customer.opening_last_order_at
                WHEN customer.opening_last_order_at IS NULL OR MAX(d.closed_at) > customer.opening_last_order_at
                THEN MAX(d.closed_at) ELSE customer.opening_last_order_at END
    FROM deal d WHERE d.customer_id = customer.id AND d.stage = 'won')
"""


def refresh(conn: Any, customer_ids: Iterable[int] | None = None) -> None:
    """Work out the purchase history of these customers (None: every customer) again."""
    from crmcli.store import sql

    def ex(statement: str, params: Any = None) -> Any:
        return sql(conn, statement, params)

    if customer_ids is None:
        ids = None
        where = ""
    else:
        ids = list(dict.fromkeys(int(i) for i in customer_ids))
        if not ids:
            return
        ex("CREATE TEMP TABLE IF NOT EXISTS _purchase_ids (id INTEGER PRIMARY KEY)")
        ex("DELETE FROM _purchase_ids")
        ex("INSERT INTO _purchase_ids (id) VALUES (:id)", [{"id": i} for i in ids])  # ids are distinct
        where = " WHERE id IN (SELECT id FROM _purchase_ids)"
    ex(_TOTALS + where)
    _main_products(conn, where)
    if ids is not None:
        ex("DELETE FROM _purchase_ids")


def _main_products(conn: Any, where: str) -> None:
    from crmcli.store import sql

    def ex(statement: str, params: Any = None) -> Any:
        return sql(conn, statement, params)

    scope = where.replace(" WHERE id IN", " AND d.customer_id IN")
    ranked: dict[int, list[str]] = {}
    for cid, name in ex(
        f"WITH {LINE_SHARES} SELECT d.customer_id, p.name FROM shares s JOIN deal d ON d.id = s.deal_id "
        f"JOIN product p ON p.id = s.product_id WHERE d.stage = 'won'{scope} "
        "GROUP BY d.customer_id, p.id ORDER BY d.customer_id, SUM(d.amount * s.share) DESC, SUM(s.quantity) DESC, p.name_key"
    ):
        names = ranked.setdefault(cid, [])
        if len(names) < MAIN_PRODUCTS:
            names.append(name)
    updates = []
    for cid, opening, current in ex(f"SELECT id, opening_products, main_products FROM customer{where}"):
        names = ranked.get(cid, [])
        if opening:
            seen = {_key(n) for n in names}
            for part in _SPLIT.split(opening.strip()):
                if part and _key(part) not in seen:
                    seen.add(_key(part))
                    names.append(part)
        value = json.dumps(names, ensure_ascii=False) if names else None
        if value != current:
            updates.append({"v": value, "id": cid})
    if updates:
        ex("UPDATE customer SET main_products = :v WHERE id = :id", updates)


def _key(name: str) -> str:
    from crmcli.errors import ParseError
    from crmcli.normalize import name_key

    try:
        return name_key(name)
    except ParseError:
        return name


def product_names(value: str | None) -> list[str]:
    """The stored ``main_products`` (a JSON array) as a list."""
    return json.loads(value) if value else []
