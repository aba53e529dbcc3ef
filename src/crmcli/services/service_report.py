"""``crm report service`` (spec §15): service tickets per type, per handler (``--by handler``) or per
month (``--by month``: the satisfaction trend), and the ``complaints`` flag of ``report alerts``.

One SQL statement each, through the ``Reader``, like every report (``services/reports.py``).
Tickets are selected by the day they were opened (``--since/--until``), of customers that are
not archived (``--owner``: the customer's owner). "open" means not resolved: open or in progress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcli.services.reports import Params, Report
    from crmcli.store.dialect import Dialect
    from crmcli.store.reader import Reader

BY = ("type", "handler", "month")
_FIGURES = ("tickets", "open", "resolved", "avg_days_to_resolve", "avg_satisfaction")


def spec(by: str) -> Any:
    from crmcli.services.reports import Spec

    if by == "month":
        return Spec(("month", *_FIGURES), "month", "avg_satisfaction", "line", ("avg_satisfaction",))
    return Spec((by, *_FIGURES), by, "tickets", "bar", ("tickets", "open"))


def sql(d: Dialect, p: Params, by: str) -> str:
    """The report's one statement (the benchmark runs it by hand too)."""
    from crmcli.services.reports import _period, _scope

    group = {"type": "t.type", "handler": "t.handler", "month": d.month("t.opened_at")}[by]
    where = " AND ".join([_scope(p), *_period(p, "t.opened_at")])
    return f"""
    SELECT {group} AS g, COUNT(*), {d.count_if("t.status != 'resolved'")}, {d.count_if("t.status = 'resolved'")},
           AVG(CASE WHEN t.status = 'resolved' THEN {d.days_between("t.resolved_at", "t.opened_at")} END),
           AVG(t.satisfaction)
    FROM ticket t JOIN customer c ON c.id = t.customer_id
    WHERE {where}
    GROUP BY 1"""


def service(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Tickets per type (or handler, or month): how many, how many open, days to resolve, satisfaction."""
    from crmcli.services.deal_reports import _months
    from crmcli.services.reports import Report, _fetch, _period, _scope

    by = p.by or "type"
    rows = []
    for g, n, open_, done, days, score in _fetch(conn, sql(conn.dialect, p, by), p):
        rows.append({
            by: g, "tickets": n, "open": open_ or 0, "resolved": done or 0,
            "avg_days_to_resolve": None if days is None else round(days, 1),
            "avg_satisfaction": None if score is None else round(score, 2),
        })  # fmt: skip
    if by == "month":
        found = {r["month"]: r for r in rows}
        rows = []
        if found:
            first = p.since.isoformat()[:7] if p.since else min(found)
            last = p.until.isoformat()[:7] if p.until else max([p.today.isoformat()[:7], *found])
            empty = dict.fromkeys(_FIGURES, 0) | {"avg_days_to_resolve": None, "avg_satisfaction": None}
            rows = [found.get(m, {"month": m, **empty}) for m in _months(first, last)]
    else:
        rows.sort(key=lambda r: (-r["tickets"], r[by] is None, r[by] or ""))
    tickets = sum(r["tickets"] for r in rows)
    resolved = sum(r["resolved"] for r in rows)
    where = " AND ".join([_scope(p), *_period(p, "t.opened_at")])
    scored = _fetch(conn, f"SELECT AVG(t.satisfaction), COUNT(t.satisfaction) FROM ticket t JOIN customer c ON c.id = t.customer_id WHERE {where}", p)[0]
    worst = max((r for r in rows if by != "month" and r["open"]), key=lambda r: (r["open"], r["tickets"]), default=None)
    figures = {
        "by": by, "tickets": tickets, "open": tickets - resolved, "resolved": resolved,
        "avg_satisfaction": None if scored[0] is None else round(scored[0], 2), "scored": scored[1],
        "most_open": worst[by] if worst else None,
    }  # fmt: skip
    return Report("service", p, rows, figures=figures, layout=spec(by))


def complaints_join(d: Dialect) -> str:
    """A LEFT JOIN giving ``cp.complaints`` = 1 for customers whose two latest tickets are both
    unresolved (连续两次投诉未解决, seed 003)."""
    return f"""LEFT JOIN (
            SELECT customer_id, 1 AS complaints FROM (
                SELECT customer_id, status,
                       ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY opened_at DESC, id DESC) AS k
                FROM ticket
            ) AS latest WHERE k <= 2 GROUP BY customer_id HAVING COUNT(*) = 2 AND {d.count_if("status != 'resolved'")} = 2
        ) cp ON cp.customer_id = c.id"""
