"""Build a realistic crm database of N customers and M follow-ups, quickly.

The schema comes from the program itself (``crmcli.store.sqlite.get_engine`` creates and
migrates the file once); the rows go in with raw ``sqlite3`` ``executemany`` in
one transaction. Customers, contacts, phones, sources, industries, owners and
follow-ups come from ``bench.generate`` (deterministic for a seed); on top of
that this module draws levels, amounts, expected-close dates, archived flags, a
stage-change history consistent with each customer's current stage (potential
-> intent -> negotiating -> won, some skipping a step, lost from any of them)
and deals for every customer that reached won (some with repeat purchases).
Finally the derived columns of ``customer`` (last_follow_at, last_method,
next_date, next_plan) are filled by the same SQL as
``services.followups.refresh_summary``.

    python bench/builddb.py --customers 100000 --follow-ups 1000000 --out bench/data/crm_100k_1m.db
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.generate import END, followup_rows, owner_of, rows  # noqa: E402

LEVELS = (("key", 15), ("normal", 55), ("potential", 30))
LOST_REASONS = (("售后响应慢", 30), ("价格太高", 25), ("选择了竞品", 20), ("需求变更", 15), ("联系不上", 10))
# What a lost customer had reached before it was lost.
LOST_FROM = (("potential", 40), ("intent", 35), ("negotiating", 20), ("won", 5))
AMOUNTS = (10_000, 20_000, 30_000, 50_000, 80_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000)
ORDER = ("potential", "intent", "negotiating", "won")
STAGE_KEYS = {
    "潜在客户": "potential",
    "意向客户": "intent",
    "谈判中": "negotiating",
    "成交客户": "won",
    "流失客户": "lost",
}

_REFRESH = """
UPDATE customer SET (last_follow_at, last_method, next_date, next_plan) = (
    SELECT f.date, f.method, f.next_date, f.next_plan FROM follow_up f
    WHERE f.customer_id = customer.id ORDER BY f.date DESC, f.id DESC LIMIT 1)
"""

# What migration 0005 does to the deals a release before it recorded (each a won opportunity;
# crmcli/migrations/versions/0005_opportunities.py): the change to won points at its deal, and
# the customer's purchase history (orders, total, last order) is worked out from its won deals.
_DEAL_LINKS = """
UPDATE stage_change SET deal_id = (SELECT MIN(d.id) FROM deal d WHERE d.customer_id = stage_change.customer_id
    AND d.date = stage_change.date) WHERE to_stage = 'won'
"""
# "+d.stage": a customer's deals through ix_deal_customer. Offered ix_deal_stage, SQLite walks every
# won deal for each customer: quadratic, and a 1M-customer database never finished building.
_PURCHASES = """
UPDATE customer SET (orders, total_amount, last_order_at) = (SELECT COUNT(*), COALESCE(SUM(d.amount), 0),
    MAX(d.closed_at) FROM deal d WHERE d.customer_id = customer.id AND +d.stage = 'won')
    WHERE id IN (SELECT customer_id FROM deal)
"""


def _deal_codes(deals: list[tuple[object, ...]]) -> list[str]:
    """Each deal's code, O + YYYYMM + a serial per month in date order (as crm and migration 0005 number them)."""
    codes = [""] * len(deals)
    serial: dict[str, int] = {}
    for i in sorted(range(len(deals)), key=lambda k: str(deals[k][2])):
        day = str(deals[i][2])
        prefix = "O" + day[:4] + day[5:7]
        serial[prefix] = serial.get(prefix, 0) + 1
        codes[i] = f"{prefix}{serial[prefix]:03d}"
    return codes


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    return tuple(item for item, weight in pairs for _ in range(weight))


def _path(stage: str, r: random.Random) -> tuple[list[str], str | None]:
    """Stages the customer went through after potential, and the lost reason when lost."""
    if stage == "potential":
        return [], None
    if stage == "lost":
        before = r.choice(_weighted(LOST_FROM))
        steps, _ = _path(before, r)
        return [*steps, "lost"], r.choice(_weighted(LOST_REASONS))
    target = ORDER.index(stage)
    steps = [s for s in ORDER[1 : target + 1] if s == stage or r.random() < 0.85]
    return steps, None


def _steps_dates(start: dt.date, k: int, r: random.Random) -> list[dt.date]:
    """Dates of ``k`` successive stage changes: a few weeks apart, squeezed to end by END."""
    gaps = [r.expovariate(1 / 30) for _ in range(k)]
    room = (END - start).days
    total = sum(gaps)
    scale = room * r.uniform(0.2, 1.0) / total if total > room else 1.0
    out, day = [], 0.0
    for gap in gaps:
        day += gap * scale
        out.append(start + dt.timedelta(days=min(int(day), room)))
    return out


def _repeat_dates(start: dt.date, k: int, r: random.Random) -> list[dt.date]:
    """Repeat purchases after the first deal, a few months apart; the ones past END did not happen yet."""
    out, day = [], start
    for _ in range(k):
        day += dt.timedelta(days=int(r.expovariate(1 / 90)) + 1)
        if day > END:
            break
        out.append(day)
    return out


def build(path: Path, customers: int, follow_ups: int, seed: int = 1) -> Path:
    """Write a fresh database at ``path``; return it."""
    from crmcli import normalize
    from crmcli.store import sqlite as db

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    db.get_engine(path)  # the program's own schema, migrated to head
    db.dispose_all()

    r = random.Random(f"crm-builddb:{seed}")
    levels = _weighted(LEVELS)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")  # 1 GB: ten million follow-ups' index pages, not re-read from the WAL
    con.execute("BEGIN")
    cust_rows: list[tuple[object, ...]] = []
    stage_rows: list[tuple[object, ...]] = []
    deal_rows: list[tuple[object, ...]] = []
    for i, row in enumerate(rows(customers, seed)):
        (code, name, industry, stage_zh, contact, title, phone, email, source, need,
         _fdate, _by, _method, _content, _fb, _status, _plan, created, _last) = row  # fmt: skip
        stage = STAGE_KEYS[str(stage_zh)]
        cid = i + 1
        owner = owner_of(i, seed)
        assert isinstance(created, dt.date)
        steps, reason = _path(stage, r)
        when = _steps_dates(created, len(steps), r)
        prev = "potential"
        won_on: dt.date | None = None
        for step, on in zip(steps, when, strict=True):
            stage_rows.append((cid, prev, step, on.isoformat(), owner, reason if step == "lost" else None))
            if step == "won":
                won_on = on
            prev = step
        amount = expected = None
        if stage in ("intent", "negotiating", "won") or (stage == "potential" and r.random() < 0.3):
            amount = float(r.choice(AMOUNTS))
            if stage != "won":
                expected = (END + dt.timedelta(days=r.randint(-60, 240))).isoformat()
        if won_on is not None:
            deals = 1 + (r.randint(1, 3) if r.random() < 0.3 else 0)
            for on in [won_on, *_repeat_dates(won_on, deals - 1, r)]:
                deal_rows.append((cid, float(r.choice(AMOUNTS)), on.isoformat(), owner))
        cust_rows.append((
            cid, code, name, normalize.name_key(str(name)), phone, normalize.phone_key(phone), contact, title,
            email, industry, source, r.choice(levels), stage, owner, need, None, amount, expected, reason,
            created.isoformat(), 1 if r.random() < 0.02 else 0,
        ))  # fmt: skip
    con.executemany(
        "INSERT INTO customer (id, code, name, name_key, phone, phone_key, contact, title, email, industry, source,"
        " level, stage, owner, need, notes, amount, expected_close, lost_reason, created_at, archived)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        cust_rows,
    )
    con.executemany(
        "INSERT INTO stage_change (customer_id, from_stage, to_stage, date, by, reason) VALUES (?,?,?,?,?,?)",
        stage_rows,
    )
    con.executemany(
        "INSERT INTO deal (customer_id, amount, date, by, code, stage, probability, closed_at, owner)"
        " VALUES (?,?,?,?,?,'won',100,?,?)",
        [(*d, code, d[2], d[3]) for d, code in zip(deal_rows, _deal_codes(deal_rows), strict=True)],
    )
    con.execute(_DEAL_LINKS)
    con.executemany(
        'INSERT INTO follow_up (customer_id, date, method, content, feedback, "by", next_date, next_plan)'
        " VALUES (?,?,?,?,?,?,?,?)",
        (
            (i + 1, d.isoformat(), m, c, fb, by, nd.isoformat() if nd else None, plan)
            for i, d, m, c, fb, by, nd, plan in followup_rows(
                customers, follow_ups / customers if customers else 0, seed
            )
        ),
    )
    con.execute(_REFRESH)
    con.execute(_PURCHASES)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build a crm database for the benchmarks.")
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--follow-ups", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    out = args.out or ROOT / "bench" / "data" / f"crm_{args.customers}_{args.follow_ups}.db"
    start = time.perf_counter()
    build(out, args.customers, args.follow_ups, args.seed)
    print(
        f"{out}: {args.customers} customers, {args.follow_ups} follow-ups, {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
