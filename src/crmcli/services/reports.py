"""Reports a sales manager reads (spec §8).

Each report is one SQL statement, aggregated by the database through the store's ``Reader``
(no SQLAlchemy); Python only shapes the handful of result rows. The two reports with one row
per customer (``abc``, ``alerts``) can be large (tens of thousands of rows on a
100k-customer database), so for ``--format json`` the database builds each row's JSON
text itself with ``json_object``: encoding 60,000 dicts in Python would cost more
than the query.

Conventions shared by every report:

* Archived customers are left out (spec §5); ``--owner`` is the customer's owner.
* ``--since/--until`` select customers by creation date when customers are
  counted, and events (follow-ups, deals, stage changes) by their own date.
  Where a report is about something else the choice is written at the report.
* Dates are ISO text in columns of NUMERIC affinity, so they are only ever
  compared with complete ISO dates (a bare '9999' would be compared as a number).
* Ratios are rounded to 4 decimals and amounts to 2 in the output; the A/B/C
  classes are decided on unrounded values.

No module-level import of SQLAlchemy or the models: ``crm report`` should cost
little more than the query itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from crmcli.services.service_report import complaints_join, service
from crmcli.settings import DEFAULT_CADENCE, DEFAULT_PROBABILITY
from crmcli.vocab import ALERT_FLAGS

if TYPE_CHECKING:
    from crmcli.store.dialect import Dialect
    from crmcli.store.reader import Reader

KINDS = ("funnel", "sources", "owners", "industries", "abc", "lost", "trend", "forecast", "alerts", "pipeline", "products", "service")
ORDER = ("potential", "intent", "negotiating", "won")
DORMANT_DAYS = 90
QUIET_DAYS = 90  # 近3个月无合作
STALE_DAYS = 180


@dataclass(frozen=True)
class Spec:
    """What a report's rows look like and how it is drawn."""

    keys: tuple[str, ...]
    label: str  # the key that names a row
    main: str  # the figure drawn as a bar in the table
    chart: str  # the chart of --xlsx: bar, pie or line
    series: tuple[str, ...]  # the figures in that chart


SPECS: dict[str, Spec] = {
    "funnel": Spec(("stage", "count", "reached", "conversion"), "stage", "reached", "bar", ("count", "reached")),
    "sources": Spec(
        ("source", "customers", "won", "conversion", "won_amount"), "source", "conversion", "bar", ("customers", "won")
    ),
    "owners": Spec(
        ("owner", "customers", "follow_ups", "due", "won", "opportunities", "won_deals", "won_amount", "follow_rate"),
        "owner",
        "won_amount",
        "bar",
        ("customers", "won", "due", "opportunities", "won_deals"),
    ),  # fmt: skip
    "industries": Spec(("industry", "customers", "share"), "industry", "customers", "pie", ("customers",)),
    "abc": Spec(("code", "name", "amount", "share", "cumulative", "class"), "code", "amount", "pie", ("amount",)),
    "lost": Spec(("reason", "customers", "share"), "reason", "customers", "pie", ("customers",)),
    "trend": Spec(
        ("month", "new_customers", "follow_ups", "won_deals", "won_amount"),
        "month",
        "won_amount",
        "line",
        ("won_amount",),
    ),
    "forecast": Spec(
        ("month", "opportunities", "customers", "amount", "weighted"), "month", "weighted", "bar", ("amount", "weighted")
    ),
    "alerts": Spec(
        (
            "code",
            "name",
            "owner",
            "stage",
            "level",
            "last_follow_at",
            "last_deal_at",
            "next_follow_at",
            "idle_days",
            "dormant",
            "stale",
            "overdue",
            "complaints",
            "quiet",
        ),
        "code",
        "idle_days",
        "bar",
        ("customers",),
    ),  # fmt: skip
    "pipeline": Spec(("stage", "count", "amount", "weighted"), "stage", "amount", "bar", ("amount", "weighted")),
    "products": Spec(("product", "units", "revenue", "customers"), "product", "revenue", "bar", ("revenue",)),
    # per type; --by handler and --by month have their own layouts (service_report.spec)
    "service": Spec(
        ("type", "tickets", "open", "resolved", "avg_days_to_resolve", "avg_satisfaction"), "type", "tickets", "bar",
        ("tickets", "open"),
    ),
}

@dataclass
class Params:
    today: dt.date
    since: dt.date | None = None
    until: dt.date | None = None
    owners: list[str] = field(default_factory=list)
    cadence: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CADENCE))
    probability: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PROBABILITY))
    a: float = 0.7
    b: float = 0.9
    by: str | None = None  # report service: type | handler | month


class Rows(Sequence[dict[str, Any]]):
    """The rows of a report with a row per customer (abc, alerts: tens of thousands), as dicts made
    when read: a table reads its first hundred, a csv each one once. ``flags``: the columns whose
    0/1 are booleans."""

    def __init__(self, keys: Sequence[str], values: Sequence[Sequence[Any]], flags: Sequence[int] = ()) -> None:
        self.keys, self.values, self.flags = list(keys), values, flags

    def _dict(self, row: Sequence[Any]) -> dict[str, Any]:
        rec = dict(zip(self.keys, row, strict=True))
        for i in self.flags:
            rec[self.keys[i]] = bool(row[i])
        return rec

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: Any) -> Any:
        return list(map(self._dict, self.values[i])) if isinstance(i, slice) else self._dict(self.values[i])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._dict, self.values)


@dataclass
class Report:
    kind: str
    params: Params
    rows: Sequence[dict[str, Any]] = field(default_factory=list)
    rows_json: list[str] | None = None  # rows already encoded by SQLite (large reports, --format json)
    figures: dict[str, Any] = field(default_factory=dict)
    layout: Spec | None = None  # a report whose rows depend on an option (service --by)

    @property
    def spec(self) -> Spec:
        return self.layout or SPECS[self.kind]

    @property
    def empty(self) -> bool:
        return not (self.rows_json if self.rows_json is not None else self.rows)

    def head(self) -> dict[str, Any]:
        """The JSON object of spec §7 without its rows: report, period, owner filter, headline figures."""
        p = self.params
        return {
            "report": self.kind,
            "since": p.since.isoformat() if p.since else None,
            "until": p.until.isoformat() if p.until else None,
            "owner": list(p.owners) or None,
            "today": p.today.isoformat(),
            **self.figures,
        }

    def json_rows(self) -> list[str]:
        if self.rows_json is not None:
            return self.rows_json
        import json

        enc = json.JSONEncoder(ensure_ascii=False)
        keys = self.spec.keys
        return [enc.encode({k: r.get(k) for k in keys}) for r in self.rows]


# --------------------------------------------------------------------------- SQL pieces


def _rank(expr: str) -> str:
    """Position of a stage in potential → intent → negotiating → won; -1 for lost or nothing."""
    return (
        f"CASE {expr} WHEN 'potential' THEN 0 WHEN 'intent' THEN 1 "
        f"WHEN 'negotiating' THEN 2 WHEN 'won' THEN 3 ELSE -1 END"
    )


def _bind(p: Params) -> dict[str, Any]:
    out: dict[str, Any] = {"today": p.today.isoformat()}
    if p.since:
        out["since"] = p.since.isoformat()
    if p.until:
        out["until"] = p.until.isoformat()
    for i, owner in enumerate(p.owners):
        out[f"o{i}"] = owner
    return out


def _period(p: Params, col: str) -> list[str]:
    out = []
    if p.since:
        out.append(f"{col} >= :since")
    if p.until:
        out.append(f"{col} <= :until")
    return out


def _scope(p: Params, alias: str = "c", *, created: bool = False, seek_archived: bool = False) -> str:
    """Which customers a report looks at: not archived, of the owners asked for, optionally created in the period.

    ``NOT archived`` keeps SQLite from walking the whole table through the
    (archived, stage, level) index when nearly every customer matches (``archived = FALSE`` seeks
    it); booleans are compared as booleans, which SQLite reads as 0/1.
    """
    parts = [f"{alias}.archived = FALSE" if seek_archived else f"NOT {alias}.archived"]
    if p.owners:
        parts.append(f"{alias}.owner IN ({', '.join(f':o{i}' for i in range(len(p.owners)))})")
    if created:
        parts += _period(p, f"{alias}.created_at")
    return " AND ".join(parts)


def _where(parts: list[str]) -> str:
    return ("WHERE " + " AND ".join(parts)) if parts else ""


def _created_flag(p: Params, alias: str = "c") -> str:
    parts = _period(p, f"{alias}.created_at")
    return "(" + " AND ".join(parts) + ")" if parts else "(1 = 1)"


def ratio(part: float | None, whole: float | None) -> float | None:
    if not whole:
        return None
    return round((part or 0) / whole, 4)


def _money(value: float | None) -> float:
    return round(float(value or 0), 2)


def _fetch(reader: Reader, sql: str, p: Params, extra: dict[str, Any] | None = None) -> list[Any]:
    bind = _bind(p)
    if extra:
        bind.update(extra)
    return reader.all(sql, bind)


def _json_pairs(d: Dialect, cols: list[tuple[str, str]], booleans: tuple[str, ...] = ()) -> str:
    return d.json_object([(key, d.json_bool(expr) if key in booleans else expr) for key, expr in cols])


# --------------------------------------------------------------------------- reports


def funnel(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Customers created in the period, by how far along potential → intent → negotiating → won they got.

    ``reached`` looks at the current stage and at every stage the history held
    (``from_stage`` and ``to_stage`` of each change), so potential → intent → lost
    still counts as having reached intent. The whole history of those customers
    counts, whatever its dates: the funnel follows a cohort.
    """
    d = conn.dialect
    counts = ", ".join(
        d.count_if(cond)
        for cond in (
            *(f"x.stage = '{s}'" for s in (*ORDER, "lost")), "x.m >= 1", "x.m >= 2", "x.m >= 3", "x.lost",
        )
    )
    sql = f"""
    SELECT COUNT(*), {counts}
    FROM (
        SELECT c.stage AS stage, {d.greatest(_rank("c.stage"), "COALESCE(h.r, -1)")} AS m,
               (c.stage = 'lost' OR COALESCE(h.l, 0) = 1) AS lost
        FROM customer c
        LEFT JOIN (
            SELECT customer_id, MAX({d.greatest(_rank("from_stage"), _rank("to_stage"))}) AS r,
                   MAX(CASE WHEN to_stage = 'lost' THEN 1 ELSE 0 END) AS l
            FROM stage_change GROUP BY customer_id
        ) h ON h.customer_id = c.id
        WHERE {_scope(p, created=True)}
    ) x"""
    total, *now, r1, r2, r3, ever_lost = (v or 0 for v in _fetch(conn, sql, p)[0])
    reached = [total, r1, r2, r3]
    rows: list[dict[str, Any]] = []
    for i, stage in enumerate(ORDER):
        conversion = ratio(reached[i + 1], reached[i]) if i < 3 else None
        rows.append({"stage": stage, "count": now[i], "reached": reached[i], "conversion": conversion})
    rows.append({"stage": "lost", "count": now[4], "reached": ever_lost, "conversion": None})
    figures = {"customers": total, "won": r3, "win_rate": ratio(r3, total)}
    return Report("funnel", p, rows, figures=figures)


def sources(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Per source: customers created in the period, how many of them are won now, and what the won
    opportunities closed in the period brought."""
    sql = f"""
    SELECT src, SUM(n), SUM(w), SUM(a) FROM (
        SELECT c.source AS src, 1 AS n, CASE WHEN c.stage = 'won' THEN 1 ELSE 0 END AS w, 0 AS a
        FROM customer c WHERE {_scope(p, created=True)}
        UNION ALL
        SELECT c.source, 0, 0, d.amount FROM deal d JOIN customer c ON c.id = d.customer_id
        WHERE {" AND ".join([_scope(p), "d.stage = 'won'", *_period(p, "d.closed_at")])}
    ) AS per_source GROUP BY src"""
    rows = [
        {"source": src, "customers": n, "won": w, "conversion": ratio(w, n), "won_amount": _money(a)}
        for src, n, w, a in _fetch(conn, sql, p)
    ]
    rows.sort(key=lambda r: (-r["customers"], -r["won_amount"], r["source"] is None, r["source"] or ""))
    ranked = sorted((r for r in rows if r["conversion"] is not None), key=lambda r: (-r["conversion"], -r["customers"]))
    figures: dict[str, Any] = {
        "customers": sum(r["customers"] for r in rows),
        "won": sum(r["won"] for r in rows),
        "won_amount": _money(sum(r["won_amount"] for r in rows)),
        "best_source": ranked[0]["source"] if ranked else None,
        "best_conversion": ranked[0]["conversion"] if ranked else None,
    }
    return Report("sources", p, rows, figures=figures)


def _share_report(kind: str, key: str, found: list[Any], p: Params) -> Report:
    """Rows of (value, customers) as shares of the total, largest first; headline: the top one."""
    total = sum(n for _, n in found)
    rows = [{key: value, "customers": n, "share": ratio(n, total)} for value, n in found]
    rows.sort(key=lambda r: (-r["customers"], r[key] is None, r[key] or ""))
    top = rows[0] if rows else None
    figures = {
        "customers": total,
        f"top_{key}": top[key] if top else None,
        "top_share": top["share"] if top else None,
    }
    return Report(kind, p, rows, figures=figures)


def industries(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Customers created in the period, per industry, with each industry's share."""
    sql = f"SELECT c.industry, COUNT(*) FROM customer c WHERE {_scope(p, created=True)} GROUP BY c.industry"
    return _share_report("industries", "industry", _fetch(conn, sql, p), p)


def _abc_amounts(p: Params) -> str:
    """(id, amount) of the customers abc ranks: their total amount (the opening balance and every won
    opportunity, spec §13); with a period, what their opportunities won in it."""
    if not (p.since or p.until):
        return "SELECT c.id AS id, c.total_amount AS amount FROM customer c WHERE c.total_amount > 0"
    where = " AND ".join(["d.stage = 'won'", *_period(p, "d.closed_at")])
    return f"SELECT d.customer_id AS id, SUM(d.amount) AS amount FROM deal d WHERE {where} GROUP BY d.customer_id HAVING SUM(d.amount) > 0"


def abc(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Customers by their total amount (累计消费金额: opening balance plus won opportunities), or by
    what they won in the period when one is given, classed A/B/C on the cumulative share.

    Sorted by amount (ties by code); a customer is A while the cumulative share of
    the customers before it is below ``a``, B while below ``b``, else C.
    """
    d = conn.dialect
    cols = [
        ("code", "code"),
        ("name", "name"),
        ("amount", d.round("amount", 2)),
        ("share", d.round("amount / total", 4)),
        ("cumulative", d.round("cum / total", 4)),
        ("class", "class"),
    ]
    select = f"class, amount, {_json_pairs(conn.dialect, cols)}" if as_json else ", ".join(expr for _, expr in cols)
    sql = f"""
    WITH a AS ({_abc_amounts(p)}), w AS (
        SELECT c.code AS code, c.name AS name, a.amount AS amount,
               SUM(a.amount) OVER (ORDER BY a.amount DESC, c.code ROWS UNBOUNDED PRECEDING) AS cum,
               COALESCE(SUM(a.amount) OVER (ORDER BY a.amount DESC, c.code
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
               SUM(a.amount) OVER () AS total
        FROM a JOIN customer c ON c.id = a.id WHERE {_scope(p)}
    ), r AS (
        SELECT *, CASE WHEN before / total < :a THEN 'A' WHEN before / total < :b THEN 'B' ELSE 'C' END AS class FROM w
    )
    SELECT {select} FROM r ORDER BY amount DESC, code"""
    found = _fetch(conn, sql, p, {"a": p.a, "b": p.b})
    report = Report("abc", p)
    if as_json:
        report.rows_json = [r[2] for r in found]
        classes = [(r[0], r[1]) for r in found]
    else:
        report.rows = Rows([k for k, _ in cols], found)
        classes = [(r[5], r[2]) for r in found]
    total = sum(amount for _, amount in classes)
    report.figures = {"customers": len(classes), "amount": _money(total), "a": p.a, "b": p.b}
    for cls in "ABC":
        members = [amount for c, amount in classes if c == cls]
        report.figures[f"class_{cls.lower()}"] = {
            "customers": len(members), "amount": _money(sum(members)), "share": ratio(sum(members), total),
            "customer_share": ratio(len(members), len(classes)),
        }  # fmt: skip
    return report


def lost(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Customers now lost, per reason (流失原因), with each reason's share.

    The period selects customers by the date they were lost (their latest change
    to lost; the creation date for a customer imported as lost), since losing a
    customer is a stage change, an event. The reason is the customer's
    ``lost_reason``, else the reason of that stage change.
    """
    reason = (
        "COALESCE(c.lost_reason, (SELECT s.reason FROM stage_change s WHERE s.customer_id = c.id "
        "AND s.to_stage = 'lost' ORDER BY s.date DESC, s.id DESC LIMIT 1))"
    )
    lost_on = (
        "COALESCE((SELECT MAX(s.date) FROM stage_change s WHERE s.customer_id = c.id AND s.to_stage = 'lost'), "
        "c.created_at)"
    )
    where = [_scope(p, seek_archived=True), "c.stage = 'lost'", *_period(p, lost_on)]
    sql = f"SELECT {reason} AS reason, COUNT(*) FROM customer c WHERE {' AND '.join(where)} GROUP BY 1"
    return _share_report("lost", "reason", _fetch(conn, sql, p), p)


def alerts(conn: Reader, p: Params, as_json: bool = False) -> Report:
    """Customers that need attention today (近3个月无合作 and the like).

    * dormant: won, and no order (a won opportunity, or the imported 最近合作时间) and no
      follow-up for 90 days (the creation date stands in when there is neither);
    * stale: potential, and no follow-up for 180 days (the creation date stands
      in when never followed up);
    * overdue: a key customer, not lost, whose next follow-up date is before today;
    * complaints: the customer's two latest service tickets are both unresolved (连续两次投诉未解决);
    * quiet: won, and no order (a won opportunity, or the imported 最近合作时间) for 90 days, whatever
      its follow-ups (近3个月无合作; the creation date stands in when there is none).

    ``idle_days`` counts the days since the latest follow-up, deal or creation.
    The period selects customers by creation date. Most idle first.
    """
    d = conn.dialect
    from crmcli.services.customer_query import next_follow  # here: the other reports do without it

    nf = next_follow(d, p.cadence, "c")
    contact = d.greatest("COALESCE(c.last_follow_at, c.created_at)", "COALESCE(c.last_order_at, c.created_at)")
    inner = f"""
        SELECT c.code, c.name, c.owner, c.stage, c.level, c.last_follow_at, c.last_order_at AS last_deal_at, {nf} AS next_follow_at,
               {d.days_between(":today", d.greatest(contact, "c.created_at"))} AS idle_days,
               c.stage = 'won' AND {contact} <= :dormant_before AS dormant,
               c.stage = 'potential' AND COALESCE(c.last_follow_at, c.created_at) <= :stale_before AS stale,
               c.level = 'key' AND c.stage != 'lost' AND {nf} < :today AS overdue,
               cp.complaints IS NOT NULL AS complaints,
               c.stage = 'won' AND COALESCE(c.last_order_at, c.created_at) <= :quiet_before AS quiet
        FROM customer c
        {complaints_join(d)}
        WHERE {_scope(p, created=True)}"""
    before = {
        f"{k}_before": (p.today - dt.timedelta(days=n)).isoformat()
        for k, n in (("dormant", DORMANT_DAYS), ("stale", STALE_DAYS), ("quiet", QUIET_DAYS))
    }
    keys = SPECS["alerts"].keys
    flags = ALERT_FLAGS
    select = (
        f"{', '.join(flags)}, {_json_pairs(d, [(k, k) for k in keys], booleans=flags)}"
        if as_json
        else ", ".join(keys)
    )
    sql = f"SELECT {select} FROM ({inner}) AS a WHERE {' OR '.join(flags)} ORDER BY idle_days DESC, code"
    found = _fetch(conn, sql, p, before)
    report = Report("alerts", p)
    # tens of thousands of customers at 100k: the flags are counted in C, and a row becomes a dict
    # (its flags booleans) only when it is read (``Rows``)
    at = {k: i for i, k in enumerate(flags)} if as_json else {k: keys.index(k) for k in flags}
    if as_json:
        report.rows_json = [r[len(flags)] for r in found]
    else:
        report.rows = Rows(keys, found, list(at.values()))
    report.figures = {"customers": len(found), **{k: sum(map(bool, map(itemgetter(i), found))) for k, i in at.items()}}
    return report


BUILDERS = {
    "funnel": funnel, "sources": sources, "industries": industries, "abc": abc, "lost": lost, "alerts": alerts,
    "service": service,
}  # fmt: skip


def build(conn: Reader, kind: str, p: Params, *, as_json: bool = False) -> Report:
    """Run report ``kind``; ``as_json`` lets the large reports have SQLite encode their rows.

    The reports that count opportunities (owners, trend, forecast, pipeline, products) are ``deal_reports``.
    """
    if kind in BUILDERS:
        return BUILDERS[kind](conn, p, as_json)
    from crmcli.services import deal_reports

    return deal_reports.BUILDERS[kind](conn, p, as_json)
