"""Benchmark: ``crm dupes`` quality and growth, ``crm merge`` against hand-written UPDATEs, ``report service``.

* dupes: on bench/dupes_corpus.py's corpus (5% planted near-duplicates of every kind, look-alikes
  and switchboards) the pairs found at the default threshold are compared with the planted ones:
  recall and precision must both reach 0.95. Its time at the largest size over its time at the
  smallest (measured in this run, the sizes in turn, medians of 3 runs each, CPU and wall) must stay within 12x for
  10x the customers.
* merge: a customer with 1,000 follow-ups merged into another through the service (one logged
  change set, committed) against the same UPDATEs written by hand in sqlite3; target 1.2x.
* report service: 100k tickets through the service against its one SQL statement run by hand; 1.3x.

All three are timed in-process (the service call, not the ``crm`` command around it): medians of
paired runs (ours, by hand, ours, ...), CPU and wall, no peak memory of their own.

    python bench/bench_dupes.py [--sizes 10k,100k] [--only merge]

``--only`` runs some of the three (comma-separated: dupes, merge, service; default all): the merge
alone takes seconds where the dupes corpus takes minutes to build and search.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import DATA, Result, Side, current_schema, interleave_calls, label, repeat, without_log_triggers  # noqa: E402
from bench.dupes_corpus import codes, make  # noqa: E402

QUALITY = 0.95
GROWTH = 12.0


def _timed(operation: str, size: str, ours: Side, floor: Side, *, target: float, floor_desc: str, note: str) -> Result:
    return Result(
        operation, size, ours.cpu, floor.cpu, target=target, note=note, ours_wall=ours.wall, floor_wall=floor.wall,
        floor_desc=floor_desc, runs=len(ours.runs),
    )  # fmt: skip


def _dupes(sizes: list[int]) -> list[Result]:
    from crmcli.services import dupes
    from crmcli.store import open_store

    out: list[Result] = []
    runs, planted, found = [], {}, {}
    for n in sizes:
        path = DATA / f"dupes_{n}.db"
        planted[n] = codes(make(path, n))
        found[n] = []

        def run(st=open_store(path), into=found[n]) -> None:  # type: ignore[no-untyped-def]
            with st.read() as reader:
                into[:] = dupes.find(reader)

        runs.append(run)
    # the sizes in turn (10k, 100k, 10k, ...), so that a change in the machine's load falls on both
    times = dict(zip(sizes, interleave_calls(runs, repeat(3)), strict=True))
    for n in sizes:
        got = {(p["a"], p["b"]) for p in found[n]}
        hit = len(got & planted[n])
        recall, precision = hit / len(planted[n]), hit / max(len(got), 1)
        note = f"{len(planted[n]):,} planted, {len(got):,} found"
        for what, share in (("recall", recall), ("precision", precision)):
            out.append(
                Result(f"dupes {what}", f"{n:,} customers", share, 0.0, target=QUALITY, basis="at-least", unit="share",
                       note=note, floor_desc="the planted pairs (bench/dupes_corpus.py): a share, at least 0.95")
            )  # fmt: skip
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        out.append(
            _timed(f"dupes time {label(large)} vs {label(small)}", f"{large:,} customers", times[large], times[small],
                   target=GROWTH, floor_desc=f"the same search at {label(small)} customers",
                   note=f"{times[small].cpu:.2f} s -> {times[large].cpu:.2f} s CPU for {large // small}x the customers")
        )  # fmt: skip
    return out


def _merge_db(path: Path) -> None:
    from crmcli.store import sqlite as db

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db.get_engine(path)
    db.dispose_all()
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO customer (id, code, name, name_key, phone, phone_key, level, stage, created_at, archived) "
        "VALUES (?, ?, ?, ?, ?, ?, 'normal', 'potential', '2026-01-01', 0)",
        [(1, "C202601001", "云帆科技有限公司", "云帆科技有限公司", "13800000001", "13800000001"),
         (2, "C202601002", "杭州云帆科技", "杭州云帆科技", "13800000002", "13800000002")],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO follow_up (customer_id, date, method, content, by) VALUES (2, ?, 'phone', ?, 'wang')",
        [((dt.date(2024, 1, 1) + dt.timedelta(days=i % 700)).isoformat(), f"跟进 {i}") for i in range(1000)],
    )
    con.execute("INSERT INTO tag (customer_id, name) VALUES (2, '重点')")
    con.commit()
    con.close()


HAND = (
    "UPDATE customer SET email = ? WHERE id = 1",
    "UPDATE follow_up SET customer_id = 1 WHERE customer_id = 2",
    "UPDATE stage_change SET customer_id = 1 WHERE customer_id = 2",
    "UPDATE deal SET customer_id = 1 WHERE customer_id = 2",
    "UPDATE ticket SET customer_id = 1 WHERE customer_id = 2",
    "DELETE FROM tag WHERE customer_id = 2",
    "INSERT OR IGNORE INTO tag (customer_id, name) VALUES (1, '重点')",
    "UPDATE customer SET merged_into = 1, archived = 1 WHERE id = 2",
    "UPDATE customer SET (last_follow_at, last_method, next_date, next_plan) = (SELECT f.date, f.method, f.next_date, "
    "f.next_plan FROM follow_up f WHERE f.customer_id = customer.id ORDER BY f.date DESC, f.id DESC LIMIT 1) WHERE id IN (1, 2)",
)


def _merge() -> list[Result]:
    from crmcli.services import merge
    from crmcli.store import dispose_all, open_store

    base = DATA / "merge_base.db"
    _merge_db(base)
    # The floor needs none of the change log's triggers: it runs on the same file without them
    # (they are part of our schema, and would cost it their parsing and compiling).
    plain = without_log_triggers(base)
    work = DATA / "merge_work.db"

    def fresh(i: int = 0) -> None:
        dispose_all()
        for suffix in ("-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(plain if i else base, work)

    def ours() -> None:
        st = open_store(work)
        with st.write(user="bench", command="crm merge 1 2") as conn:
            merge.merge(conn, 1, 2, user="bench", at="2026-11-26T00:00:00+00:00")
        dispose_all()  # the connection closed inside the timing, as the floor's is (its last WAL work with it)

    def hand() -> None:
        con = sqlite3.connect(work, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("BEGIN IMMEDIATE")
        for sql in HAND:
            con.execute(sql, ("x@example.com",) if "?" in sql else ())
        con.execute("COMMIT")
        con.close()

    open_store(work)  # engines, models and SQLAlchemy loaded before timing: a command's start is not the merge
    fresh()
    ours()
    sides = interleave_calls([ours, hand], repeat(7), setup=fresh)
    dispose_all()
    return [
        _timed("merge (1,000 follow-ups)", "1,000 follow-ups", *sides, target=1.2,
               note="one logged change set vs the UPDATEs by hand",
               floor_desc="sqlite3: the same UPDATEs, DELETE and INSERT written by hand, one transaction, on the file without the change log's triggers")
    ]  # fmt: skip


def _service(n: int = 100_000) -> list[Result]:
    import random

    from crmcli.services import reports, service_report
    from crmcli.store import dispose_all, open_store
    from crmcli.store import sqlite as db
    from crmcli.store.dialect import SQLITE

    path = DATA / f"tickets_{n}.db"
    if not (path.exists() and current_schema(path)):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db.get_engine(path)
        db.dispose_all()
        rng = random.Random(3)
        con = sqlite3.connect(path)
        customers = n // 5
        con.executemany(
            "INSERT INTO customer (id, code, name, name_key, phone, phone_key, level, stage, created_at, archived, owner) "
            "VALUES (?, ?, ?, ?, ?, ?, 'normal', 'won', '2025-01-01', 0, ?)",
            [(i, f"C2025{i:07d}", f"客户{i}", f"客户{i}", f"139{i:08d}", f"139{i:08d}", f"sales{i % 20}") for i in range(1, customers + 1)],
        )  # fmt: skip
        rows = []
        for i in range(1, n + 1):
            opened = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(600))
            done = rng.random() < 0.7
            rows.append((f"T{opened:%Y%m}{i:06d}", rng.randrange(1, customers + 1), rng.choice(("产品质量", "物流时效", "售后响应", "其他")),
                         "resolved" if done else rng.choice(("open", "in_progress")), f"客服{i % 30}", opened.isoformat(),
                         (opened + dt.timedelta(days=rng.randrange(30))).isoformat() if done else None,
                         rng.randrange(1, 6) if done else None))  # fmt: skip
        con.executemany(
            "INSERT INTO ticket (code, customer_id, type, status, handler, opened_at, resolved_at, satisfaction) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        con.commit()
        con.close()
    st = open_store(path)
    p = reports.Params(today=dt.date(2026, 11, 26))

    def ours() -> None:
        with st.read() as reader:
            reports.build(reader, "service", p)

    sql = service_report.sql(SQLITE, p, "type")

    def hand() -> None:
        con = sqlite3.connect(path)
        con.execute(sql).fetchall()
        con.execute("SELECT AVG(t.satisfaction), COUNT(t.satisfaction) FROM ticket t JOIN customer c ON c.id = t.customer_id WHERE +c.archived = 0").fetchall()
        con.close()

    ours()
    sides = interleave_calls([ours, hand], repeat(5))
    dispose_all()
    return [
        _timed("report service", f"{n:,} tickets", *sides, target=1.3, note="through the service vs its SQL by hand",
               floor_desc="sqlite3: the report's SQL (services.service_report.sql) and its satisfaction average")
    ]  # fmt: skip


PARTS = ("dupes", "merge", "service")
_only: tuple[str, ...] = PARTS  # main's --only; bench/run.py always runs all three


def run(sizes: list[int]) -> list[Result]:
    DATA.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(sizes)) or [10_000, 100_000]
    if len(sizes) == 1 and sizes[0] > 10_000:
        sizes = [sizes[0] // 10, sizes[0]]  # growth is measured in one run
    out: list[Result] = []
    if "dupes" in _only:
        out += _dupes(sizes)
    if "merge" in _only:
        out += _merge()
    if "service" in _only:
        out += _service(max(sizes))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bench.run import standalone

    global _only
    ap = argparse.ArgumentParser(add_help=False)  # standalone's parser reads the rest (and --help)
    ap.add_argument("--only", default=",".join(PARTS))
    known, rest = ap.parse_known_args(sys.argv[1:] if argv is None else argv)
    chosen = tuple(p.strip() for p in known.only.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PARTS]
    if unknown or not chosen:
        sys.stderr.write(f"--only: one or more of {', '.join(PARTS)} (not {', '.join(unknown) or 'nothing'})\n")
        return 2
    _only = chosen
    return standalone(run, __doc__, rest, sizes=[10_000, 100_000])


if __name__ == "__main__":
    sys.exit(main())
