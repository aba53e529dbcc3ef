"""Deterministic opportunities (销售机会) for the benchmarks, in seed 004's layout.

Rows are seed 004's 销售机会阶段表: Opportunity_ID, Customer_ID, Opportunity_Name, Stage, Amount,
Probability, Expected_Date, Responsible, for the customers of a database built by
``bench/builddb.py`` (their codes, owners and creation dates read from it). A row is written as
a salesperson fills the sheet: stages as 潜在 / 意向 / 方案报价 / 谈判中 / 成交 / 丢单, probability in
percent, a lost opportunity mostly of amount 0, the close date of a closed one in Expected_Date,
and now and then another salesperson than the account's owner.

    python bench/deals_corpus.py --db bench/data/deals_20000.db --rows 100000 --out bench/data/opportunities_100k.xlsx

``add_to_database`` puts the same rows straight into a database (raw sqlite3, one transaction),
with an opening day before each one's close, to make the 300k-opportunity database of the query
benchmarks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import END  # noqa: E402

HEADERS = (
    "Opportunity_ID",
    "Customer_ID",
    "Opportunity_Name",
    "Stage",
    "Amount",
    "Probability",
    "Expected_Date",
    "Responsible",
)
# (what the sheet says, the stage it means, weight)
STAGES = (
    ("潜在", "potential", 12), ("意向", "intent", 15), ("方案报价", "negotiating", 7), ("谈判中", "negotiating", 6),
    ("成交", "won", 38), ("丢单", "lost", 22),
)  # fmt: skip
PROBABILITY = {
    "potential": (5, 10, 15, 20),
    "intent": (20, 30, 40),
    "negotiating": (50, 60, 70, 80),
    "won": (100,),
    "lost": (0,),
}
PROJECTS = (
    "设备采购",
    "系统升级",
    "年度维保",
    "软件授权",
    "云服务续费",
    "培训服务",
    "定制开发",
    "耗材采购",
    "数据迁移",
    "安全审计",
)
AMOUNTS = (5_000, 8_000, 12_000, 20_000, 30_000, 50_000, 80_000, 120_000, 200_000, 350_000, 500_000, 1_000_000)
TEAM = ("王磊", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄强")


def customers_of(db: Path) -> list[tuple[int, str, str | None, dt.date]]:
    """(id, code, owner, created) of the database's customers, in id order."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [(i, code, owner, dt.date.fromisoformat(created))
                for i, code, owner, created in con.execute("SELECT id, code, owner, created_at FROM customer ORDER BY id")]  # fmt: skip
    finally:
        con.close()


def rows(customers: list[tuple[int, str, str | None, dt.date]], n: int, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    """``n`` opportunities as sheet rows, each with the customer's id and the day it opened at the end
    (what ``add_to_database`` needs; a sheet writer drops them)."""
    r = random.Random(f"crm-deals:{seed}")
    table = [(label, key) for label, key, w in STAGES for _ in range(w)]
    serial: dict[str, int] = {}
    for _ in range(n):
        cid, code, owner, created = customers[r.randrange(len(customers))]
        label, stage = r.choice(table)
        room = max((END - created).days, 0)
        opened = created + dt.timedelta(days=r.randint(0, room))
        if stage in ("won", "lost"):
            expected = opened + dt.timedelta(days=min(int(r.expovariate(1 / 45)), (END - opened).days))
        else:
            expected = END + dt.timedelta(days=r.randint(1, 240))
        amount: Any = r.choice(AMOUNTS)
        if stage == "lost" and r.random() < 0.6:
            amount = 0
        elif r.random() < 0.05:
            amount = f"{amount / 10_000:g}万"
        day = f"{opened:%Y%m%d}"
        serial[day] = serial.get(day, 0) + 1
        who = owner if owner and r.random() < 0.85 else r.choice(TEAM)
        yield (f"O{day}{serial[day]:03d}", code, f"{code} {r.choice(PROJECTS)}", label, amount, r.choice(PROBABILITY[stage]),
               expected, who, cid, opened)  # fmt: skip


def write_xlsx(path: Path, customers: list[tuple[int, str, str | None, dt.date]], n: int, seed: int = 1) -> Path:
    """The rows as a workbook of one sheet, 销售机会阶段表 (openpyxl's write-only mode)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("销售机会阶段表")
    ws.append(list(HEADERS))
    for row in rows(customers, n, seed):
        ws.append(list(row[:8]))
    tmp = path.with_name(path.name + ".writing")
    wb.save(tmp)
    tmp.replace(path)
    return path


def add_to_database(db: Path, n: int, seed: int = 1) -> None:
    """Add ``n`` opportunities to ``db`` (raw sqlite3, one transaction) and refresh the purchase history."""
    from crmcli.services import purchases

    customers = customers_of(db)
    stage_of = {label: key for label, key, _ in STAGES}
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO deal (customer_id, amount, date, by, code, name, stage, probability, expected_close, closed_at, owner)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            (cid, _money(amount), opened.isoformat(), owner, code, name, stage_of[label], prob,
             None if stage_of[label] in ("won", "lost") else expected.isoformat(),
             expected.isoformat() if stage_of[label] in ("won", "lost") else None, owner)
            for code, _ccode, name, label, amount, prob, expected, owner, cid, opened in rows(customers, n, seed)
        ),
    )  # fmt: skip
    con.execute(purchases._TOTALS)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _money(value: object) -> float:
    return float(value[:-1]) * 10_000 if isinstance(value, str) else float(value)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write seed-004 opportunities for a built database's customers.")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    write_xlsx(args.out, customers_of(args.db), args.rows, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
