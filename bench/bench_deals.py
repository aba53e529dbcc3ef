"""Benchmark: opportunities (issue 17) against floors measured in the same run.

1. ``crm import`` of 100k opportunities (seed 004's 销售机会阶段表, ``bench/deals_corpus.py``) onto a
   database of 20k customers. Floor: a Python process that imports only python_calamine and
   sqlite3, reads the same workbook and inserts the same rows with one ``executemany`` in one
   transaction (customer code -> id by a dict, the stage word -> key, dates as ISO text). Target
   ours / floor <= 2.
2. ``crm deal list --open --format json`` and ``crm report pipeline --format json`` on 100k
   customers / 300k opportunities. Floor: a Python process that imports only sqlite3, runs the
   same question written by hand, as fast as I could write it (one SELECT building the same JSON
   objects, the opportunities driving the join; one pass of GROUP BY over the table) and writes
   the rows. Target <= 1.3. The floor's output is checked against ours once (the same
   opportunities, the same figures).
3. ``crm show CODE --format json`` of a customer with opportunities: this tree against the
   release before opportunities (``--baseline``, default fafb580, main before issue 17's merge),
   each on a database its own ``bench/builddb.py`` wrote (same customers, follow-ups and won
   deals; ours with the 300k opportunities on top), 3 x ``--repeat`` pairs. "Unchanged": a
   ratio within 1.1.

Each pair runs alternately (ours, floor, ours, floor, ...) ``--repeat`` times; the table shows
medians. Every command is a fresh process, as a user runs it; an import gets a fresh copy of
the database before each run (not timed).

    python bench/bench_deals.py [--repeat 7] [--import-rows 100000 --import-customers 20000]
                                [--customers 100000 --opportunities 300000] [--baseline REV]

Data (built once, reused) go to bench/data/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import DATA, Result, crm_cmd, interleave, python_cmd, result, run_cmd, without_log_triggers  # noqa: E402

TODAY = "2026-11-26"
ENV = {"CRM_TODAY": TODAY, "CRM_LANG": "en", "CRM_USER": "bench", "CRM_CONFIG": str(DATA / "no-such-crm.toml")}
FOLLOW_UPS_PER_CUSTOMER = 3
COMMAND = "python bench/bench_deals.py"

# The floor of the import: read with calamine, insert the same rows raw. argv: xlsx, db, today, user.
FLOOR_IMPORT = r"""
import sqlite3, sys
from python_calamine import CalamineWorkbook
path, db, today, user = sys.argv[1:5]
rows = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
stage = {"潜在": "potential", "意向": "intent", "方案报价": "negotiating", "谈判中": "negotiating", "成交": "won", "丢单": "lost"}
con = sqlite3.connect(db, isolation_level=None)
con.execute("BEGIN IMMEDIATE")
ids = dict(con.execute("SELECT code, id FROM customer"))
out = []
for code, customer, name, word, amount, prob, expected, owner in rows[1:]:
    s = stage[word]
    amount = float(amount[:-1]) * 10000 if isinstance(amount, str) else float(amount)
    day = expected.isoformat()
    closed = day if s in ("won", "lost") else None
    out.append((ids[customer], amount, closed or today, user, code, name, s, float(prob), None if closed else day, closed, owner))
con.executemany(
    "INSERT INTO deal (customer_id, amount, date, by, code, name, stage, probability, expected_close, closed_at, owner)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?)", out)
con.execute("COMMIT")
print(len(out))
"""

# The floor of `deal list --open --format json`, written by hand: the opportunities drive the join
# (CROSS JOIN fixes SQLite's loop order; letting it start from the customers' archived index is
# slower), and SQLite builds each JSON object. argv: db.
FLOOR_LIST = r"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
out = sys.stdout.buffer
out.write(b"[\n")
first = True
for (obj,) in con.execute(
    "SELECT CAST(json_object('code', d.code, 'customer_code', c.code, 'customer_name', c.name, 'name', d.name,"
    " 'stage', d.stage, 'amount', d.amount, 'probability', d.probability, 'expected_close', d.expected_close,"
    " 'owner', d.owner, 'products', (SELECT group_concat(p.name, '; ') FROM deal_line l JOIN product p ON p.id = l.product_id"
    " WHERE l.deal_id = d.id), 'created_at', d.date, 'closed_at', d.closed_at, 'lost_reason', d.lost_reason,"
    " 'external_id', d.external_id) AS BLOB)"
    " FROM deal d CROSS JOIN customer c ON c.id = d.customer_id"
    " WHERE d.stage IN ('potential', 'intent', 'negotiating') AND c.archived = 0 ORDER BY d.date, d.id"):
    if not first:
        out.write(b",\n")
    out.write(obj)
    first = False
out.write(b"\n]\n")
"""

# The floor of `report pipeline --format json`, written by hand: one pass over the table (NOT
# INDEXED: in table order, not the stage index's), the archived customers' ids looked up once.
# argv: db.
FLOOR_PIPELINE = r"""
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
found = {}
for stage, n, amount, weighted, days in con.execute(
    "SELECT stage, COUNT(*), TOTAL(amount), TOTAL(amount * probability / 100),"
    " TOTAL(julianday(closed_at) - julianday(date)) FILTER (WHERE stage = 'won')"
    " FROM deal NOT INDEXED WHERE customer_id NOT IN (SELECT id FROM customer WHERE archived = 1) GROUP BY stage"):
    found[stage] = (n, amount, weighted, days)
zero = (0, 0.0, 0.0, 0.0)
won, lost = found.get("won", zero), found.get("lost", zero)
print(json.dumps({"report": "pipeline", "win_rate": round(won[0] / (won[0] + lost[0]), 4) if won[0] + lost[0] else None,
                  "avg_won_amount": round(won[1] / won[0], 2) if won[0] else None,
                  "avg_cycle_days": round(won[3] / won[0], 1) if won[0] else None,
                  "rows": [{"stage": s, "count": found.get(s, zero)[0], "amount": round(found.get(s, zero)[1], 2),
                            "weighted": round(found.get(s, zero)[2], 2)} for s in ("potential", "intent", "negotiating", "won", "lost")]}))
"""


def _built(path: Path, build: object) -> Path:
    """``path``, built by ``build(tmp)`` unless it exists (written to a temporary name, then renamed)."""
    if not path.exists():
        tmp = path.with_name(path.name + ".building")
        print(f"bench: building {path} ...", file=sys.stderr)
        build(tmp)  # type: ignore[operator]
        os.replace(tmp, path)
    return path


def _builddb(path: Path, customers: int) -> None:
    from bench.builddb import build

    build(path, customers, customers * FOLLOW_UPS_PER_CUSTOMER)


def import_data(customers: int, n: int) -> tuple[Path, Path]:
    """The database of ``customers`` customers and the workbook of ``n`` opportunities for them."""
    from bench import deals_corpus

    db = _built(DATA / f"deals_import_{customers}.db", lambda p: _builddb(p, customers))
    xlsx = _built(DATA / f"opportunities_{n}_on_{customers}.xlsx",
                  lambda p: deals_corpus.write_xlsx(p, deals_corpus.customers_of(db), n))  # fmt: skip
    return db, xlsx


def query_db(customers: int, opportunities: int) -> Path:
    """``customers`` customers (3 follow-ups each) and ``opportunities`` opportunities in all."""
    from bench import deals_corpus

    def build(path: Path) -> None:
        _builddb(path, customers)
        con = sqlite3.connect(path)
        have = con.execute("SELECT COUNT(*) FROM deal").fetchone()[0]  # builddb's won deals
        con.close()
        deals_corpus.add_to_database(path, opportunities - have)

    return _built(DATA / f"deals_{customers}_{opportunities}.db", build)


def baseline_db(rev: str, customers: int) -> tuple[Path, Path]:
    """The source tree of ``rev`` (git archive) and a database its own builddb wrote."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = DATA / f"baseline-{sha}"
    if not (tree / "src" / "crmcli").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", sha, "src", "bench"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        import compileall

        compileall.compile_dir(tree / "src", quiet=1)

    def build(path: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        subprocess.run([sys.executable, str(tree / "bench" / "builddb.py"), "--customers", str(customers), "--follow-ups",
                        str(customers * FOLLOW_UPS_PER_CUSTOMER), "--out", str(path)], env=env, check=True)  # fmt: skip

    return tree, _built(DATA / f"deals_baseline_{sha}_{customers}.db", build)


def _pair(
    ours: list[str], floor: list[str], repeat: int, env: dict[str, str], setup: object = None
) -> tuple[float, float, float]:
    """Medians of ``ours`` and ``floor`` run alternately, and ours' peak RSS (MB)."""
    a: list[float] = []
    b: list[float] = []
    peak = 0.0
    for _ in range(repeat):
        for side, argv, times in (("ours", ours, a), ("floor", floor, b)):
            if setup:
                setup()  # type: ignore[operator]
            elapsed, rss, code = run_cmd(argv, env)
            if code != 0:
                raise SystemExit(f"bench: {side} {' '.join(argv)} exited {code}")
            times.append(elapsed)
            if side == "ours":
                peak = max(peak, rss)
    return statistics.median(a), statistics.median(b), peak


def bench_import(customers: int, n: int, repeat: int) -> Result:
    db, xlsx = import_data(customers, n)
    work = DATA / "deals_import_work.db"

    def fresh(floor: bool = False) -> None:
        for suffix in ("-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
        shutil.copyfile(without_log_triggers(db) if floor else db, work)

    fresh()
    elapsed, _, code = run_cmd(crm_cmd("--db", str(work), "import", str(xlsx), "--format", "json"), ENV)
    con = sqlite3.connect(work)
    got = con.execute("SELECT COUNT(*) FROM deal WHERE batch_id IS NOT NULL").fetchone()[0]
    con.close()
    if code != 0 or got != n:
        raise SystemExit(f"bench: the import wrote {got} of {n} opportunities (exit {code})")
    sides = interleave(
        [crm_cmd("--db", str(work), "import", str(xlsx), "--format", "json"),
         python_cmd(FLOOR_IMPORT) + [str(xlsx), str(work), TODAY, "bench"]],
        repeat, env=ENV, setup=lambda i: fresh(floor=i == 1), check_stdout=False,
    )  # fmt: skip
    return result("crm import (opportunities)", f"{n:,} onto {customers:,} customers", *sides, target=2.0,
                  same_bytes=False, floor_desc="calamine read + executemany")  # fmt: skip


def _check_same(db: Path) -> None:
    """The floors answer what ours answers."""

    def out(argv: list[str]) -> object:
        return json.loads(subprocess.run(argv, capture_output=True, check=True, env={**os.environ, **ENV}).stdout)

    ours = out(crm_cmd("--db", str(db), "deal", "list", "--open", "--format", "json"))
    floor = out(python_cmd(FLOOR_LIST) + [str(db)])
    if ours != floor:
        raise SystemExit("bench: the deal list floor's rows differ from ours")
    pipe = out(crm_cmd("--db", str(db), "report", "pipeline", "--format", "json"))
    hand = out(python_cmd(FLOOR_PIPELINE) + [str(db)])
    keys = ("stage", "count", "amount", "weighted")
    assert isinstance(pipe, dict) and isinstance(hand, dict)
    if [[r[k] for k in keys] for r in pipe["rows"]] != [[r[k] for k in keys] for r in hand["rows"]] or any(
        pipe[k] != hand[k] for k in ("win_rate", "avg_won_amount", "avg_cycle_days")
    ):
        raise SystemExit(f"bench: the pipeline floor differs from ours:\n{pipe}\n{hand}")


def bench_queries(customers: int, opportunities: int, repeat: int) -> list[Result]:
    db = query_db(customers, opportunities)
    _check_same(db)
    size = f"{customers:,} / {opportunities:,}"
    out = []
    for op, floor in (("deal list --open", FLOOR_LIST), ("report pipeline", FLOOR_PIPELINE)):
        sides = interleave(
            [crm_cmd("--db", str(db), *op.split(), "--format", "json"), python_cmd(floor) + [str(db)]],
            repeat, env=ENV, check_stdout=False,
        )  # fmt: skip
        out.append(result(f"opportunities: crm {op}", size, *sides, target=1.3, same_bytes=False, floor_desc="python + sqlite3, by hand"))
    return out


def bench_show(customers: int, opportunities: int, baseline: str, repeat: int) -> Result:
    db = query_db(customers, opportunities)
    tree, old_db = baseline_db(baseline, customers)
    con = sqlite3.connect(db)
    # a customer with won deals in both databases and opportunities on top in ours
    code = con.execute(
        "SELECT c.code FROM customer c JOIN deal d ON d.customer_id = c.id WHERE c.archived = 0 GROUP BY c.id"
        " HAVING COUNT(*) >= 5 AND SUM(d.stage = 'won') >= 3 ORDER BY c.id LIMIT 1").fetchone()[0]  # fmt: skip
    con.close()
    ours = [sys.executable, "-m", "crmcli", "--db", str(db), "show", code, "--format", "json"]
    old = [sys.executable, "-m", "crmcli", "--db", str(old_db), "show", code, "--format", "json"]
    env_new = {**ENV, "PYTHONPATH": str(ROOT / "src")}
    env_old = {**ENV, "PYTHONPATH": str(tree / "src")}
    probe = subprocess.run([sys.executable, "-c", "import crmcli; print(crmcli.__file__)"], capture_output=True, text=True,
                           env={**os.environ, **env_old}, check=True).stdout  # fmt: skip
    if str(tree) not in probe:
        raise SystemExit(f"bench: the baseline runs {probe.strip()}, not {tree}")
    a: list[float] = []
    b: list[float] = []
    peak = 0.0
    for _ in range(3 * repeat):  # a few tens of ms each: more runs for a steady median
        t, rss, c1 = run_cmd(ours, env_new)
        a.append(t)
        peak = max(peak, rss)
        t, _, c2 = run_cmd(old, env_old)
        b.append(t)
        if c1 or c2:
            raise SystemExit(f"bench: show exited {c1} (ours) / {c2} (baseline)")
    sha = tree.name.removeprefix("baseline-")
    return Result("crm show (a customer with opportunities)", f"{customers:,} customers", statistics.median(a), statistics.median(b),
                  peak, 1.1, f"the same command at {sha}")  # fmt: skip


def table(results: list[Result]) -> str:
    lines = [
        "| command | data | ours (s) | floor (s) | floor | ratio | target | peak MB |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        verdict = "ok" if r.ok else "MISSED"
        lines.append(f"| `{r.operation}` | {r.size} | {r.ours:.3f} | {r.floor:.3f} | {r.note} | {r.ratio:.2f} "
                     f"| ≤ {r.target} {verdict} | {r.peak_mb:.0f} |")  # fmt: skip
    return "\n".join(lines)


def run(sizes: list[int]) -> list[Result]:
    """For bench/run.py: at the largest size N, the import of N opportunities onto N/5 customers and
    the queries on N customers with 3N opportunities (the issue's 100k / 20k and 100k / 300k).
    The `show` row compares with a past revision's source tree: only ``main`` runs it."""
    from bench.common import repeat

    n = max(sizes) if sizes else 100_000
    DATA.mkdir(parents=True, exist_ok=True)
    return [bench_import(max(n // 5, 1), n, repeat(7)), *bench_queries(n, 3 * n, repeat(7))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--import-customers", type=int, default=20_000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--opportunities", type=int, default=300_000)
    ap.add_argument("--baseline", default="fafb580", help="the revision `show` is compared with")
    ap.add_argument("--only", choices=("import", "queries", "show"), action="append")
    args = ap.parse_args(argv)
    import compileall

    import crmcli

    compileall.compile_dir(Path(crmcli.__file__).parent, quiet=1)  # as pip install does
    DATA.mkdir(parents=True, exist_ok=True)
    only = set(args.only or ("import", "queries", "show"))
    results: list[Result] = []
    if "import" in only:
        results.append(bench_import(args.import_customers, args.import_rows, args.repeat))
    if "queries" in only:
        results += bench_queries(args.customers, args.opportunities, args.repeat)
    if "show" in only:
        results.append(bench_show(args.customers, args.opportunities, args.baseline, args.repeat))
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
