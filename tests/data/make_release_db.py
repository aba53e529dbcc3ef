"""Write ``tests/data/crm_REVISION.sqlite``: a database as the release with that schema revision left it.

Spec §17: each migration is tested on a file written by the release before it. This script
drives the ``crm`` of whatever ``crmcli`` the running interpreter imports, and refuses to
write the file unless that program stores the revision asked for, so run it with that release:

    git worktree add /tmp/crm-0001 f70a55e         # the last commit with revision 0001
    python3 -m venv /tmp/crm-0001/.venv && /tmp/crm-0001/.venv/bin/pip install -q /tmp/crm-0001
    /tmp/crm-0001/.venv/bin/python tests/data/make_release_db.py 0001

Files made so far: ``crm_0001.sqlite`` (f70a55e), ``crm_0002.sqlite`` (the release before 0003),
``crm_0003.sqlite`` (the release before 0004: with custom fields and their values),
``crm_0004.sqlite`` (the release before 0005 and 0006: with the change log, deals of several kinds
and the release's own report figures beside it, ``crm_0004.reports.json``), ``crm_0007.sqlite``
(the release before 0008, a8af4c6: with a merge -- 星辰贸易 into ABC科技有限公司 -- and a follow-up
after it, the last change set), ``crm_0008.sqlite`` (the release before 0009, 37a4dea: the same
story, its change log written by 0008's permanent triggers).

What each file holds (``tests/test_migration_*.py`` rely on it):

* customers with follow-ups, stage changes, a deal (won), a lost reason, tags, an archived one;
* names holding characters the 0001 name key kept although they show nothing (U+200E, U+FE0F,
  U+2063, U+3164, U+200F, U+2066/U+2069), some of them colliding once those are dropped;
* import batch 1, made with ``--on-duplicate update``: two customers created (one with an
  invisible character in its name), one renamed to a name with U+200E, and follow-ups;
* from 0006 on: 星辰贸易 merged into ABC科技有限公司 (its follow-up moved: a ``move`` change), then
  a follow-up on ABC科技有限公司 (the last change set);
* from 0004 on: the import also records a deal (成交日期 + 成交金额), B商贸公司 wins again (a repeat
  purchase: the last change set, to undo after the upgrade), 星辰贸易 wins and that change set is
  undone (the change log holds a deal deleted by an undo, to redo after the upgrade); and
  ``crm_0004.reports.json`` keeps what ``report trend|abc|sources|owners`` said on that release.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REVISION = sys.argv[1] if len(sys.argv) > 1 else "0001"
TARGET = HERE / f"crm_{REVISION}.sqlite"
REPORTS = HERE / f"crm_{REVISION}.reports.json"  # what the release's reports said of TARGET (0004 on)
TODAY = "2026-03-16"

# (name, phone, extra args); the zero-width and blank-looking characters are written as escapes
CUSTOMERS: list[tuple[str, str, list[str]]] = [
    ("ABC科技有限公司", "13956781234", ["--contact", "李四", "--level", "key", "--stage", "intent", "--tag", "高预算", "--tag", "展会"]),
    ("B商贸公司", "+86 139 0000 5678", ["--contact", "王芳", "--source", "客户转介绍"]),
    # zero-width left-to-right mark: the 0001 key kept it, so "星辰贸易" was a second customer
    ("星辰\u200e贸易", "13811112222", ["--tag", "零宽"]),
    # a variation selector
    ("云端\ufe0f科技", "13822223333", []),
    # U+2063 and a clean twin with the same phone: after the upgrade they would collide
    ("海纳\u2063百川", "13833334444", []),
    ("海纳百川", "13833334444", []),
    # two invisible variants of one name with one phone, no clean twin: only the first is re-keyed
    ("蓝天\u200f物流", "13844445555", []),
    ("蓝天\u3164物流", "13844445555", []),
    ("旧名称公司", "13877778888", ["--level", "potential"]),
    ("归档客户", "13899990000", []),
]


def crm(*args: str, duplicate_ok: bool = False) -> str:
    env = dict(os.environ, CRM_DB=str(TARGET), CRM_TODAY=TODAY, CRM_USER="wang", CRM_LANG="en")
    env.pop("CRM_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "crmcli", *args], capture_output=True, text=True, env=env)
    if duplicate_ok and proc.returncode == 1 and "already exists: " in proc.stderr:
        return proc.stderr.split("already exists: ", 1)[1].split()[0]  # a later release's identity rule
    if proc.returncode != 0:
        raise SystemExit(f"crm {' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


def main() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{TARGET}{suffix}").unlink(missing_ok=True)
    codes = {name: crm("add", name, "--phone", phone, *extra, duplicate_ok=REVISION != "0001") for name, phone, extra in CUSTOMERS}

    abc, b, star = codes["ABC科技有限公司"], codes["B商贸公司"], codes["星辰\u200e贸易"]
    crm("follow", abc, "--content", "客户对方案感兴趣，需要报价", "--method", "电话", "--date", "2026-03-10",
        "--next-date", "2026-03-20", "--next-plan", "发送报价单")  # fmt: skip
    crm("follow", abc, "--content", "上门演示", "--method", "visit", "--feedback", "积极", "--date", "2026-03-12")
    crm("stage", abc, "谈判", "--date", "2026-03-12")
    crm("stage", b, "won", "--amount", "8万", "--date", "2026-03-14")
    crm("follow", star, "--content", "微信沟通", "--method", "wechat", "--date", "2026-03-15")
    crm("stage", codes["云端\ufe0f科技"], "lost", "--reason", "预算取消", "--date", "2026-03-15")
    crm("archive", codes["归档客户"])

    if REVISION >= "0003":  # custom fields exist from 0003 on ("region" is a built-in from 0007 on)
        zone = "region" if REVISION < "0007" else "zone"
        crm("field", "add", zone, "--label", "客户所属区域" if REVISION < "0007" else "销售片区", "--type", "choice", "--choices", "华东,华南")
        crm("field", "add", "budget", "--label", "年度预算", "--type", "money")
        crm("edit", abc, "--set", f"{zone}=华东", "--set", "budget=12万")
        crm("edit", b, "--set", f"{zone}=华南")

    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "leads.csv"
        with sheet.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            deals = REVISION >= "0004"  # a deal recorded by the import (undone with its batch)
            extra = ["成交日期", "成交金额"] if deals else []
            w.writerow(["客户编号", "客户名称", "联系电话", "联系人", "跟进日期", "跟进方式", "跟进内容", *extra])
            w.writerow(["", "绿源\u2066环保\u2069科技", "13855556666", "赵六", "2026-03-15", "电话", "首次电话", *(["", ""] if deals else [])])
            w.writerow(["", "清风书院", "13866667777", "", "2026-03-15", "拜访", "上门拜访", *(["2026-03-15", "6000"] if deals else [])])
            w.writerow([codes["旧名称公司"], "新\u200e名称公司", "13877778888", "钱七", "2026-03-16", "电话", "更名后回访", *(["", ""] if deals else [])])
            w.writerow(["", "ABC科技有限公司", "13956781234", "", "2026-03-16", "电话", "导入的跟进", *(["", ""] if deals else [])])
        crm("import", str(sheet), "--on-duplicate", "update", "--format", "json")

    if REVISION >= "0004":  # the change log exists from 0004 on
        crm("stage", star, "won", "--amount", "3万", "--date", "2026-03-16")
        crm("undo")  # the change log now holds a deal deleted by an undo
        crm("stage", b, "won", "--amount", "2万", "--date", "2026-03-16")  # a repeat purchase, the last change set
        if REVISION == "0004":  # the release before opportunities: what its reports said
            figures = {kind: json.loads(crm("report", kind, "--format", "json")) for kind in ("trend", "abc", "sources", "owners")}
            REPORTS.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    if REVISION >= "0006":  # merges exist from 0006 on: one, with follow-ups moved, then a follow-up on KEEP
        crm("follow", codes["旧名称公司"], "--content", "旧名称的跟进", "--date", "2026-03-16")
        crm("merge", abc, star)
        crm("follow", abc, "--content", "合并之后", "--date", "2026-03-16")

    con = sqlite3.connect(TARGET)
    try:
        rev = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        if rev != REVISION:
            TARGET.unlink()
            raise SystemExit(f"this crmcli stores revision {rev}; run the script with the {REVISION} release (see its docstring)")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{TARGET}{suffix}").unlink(missing_ok=True)
    print(f"wrote {TARGET} (revision {REVISION})")


if __name__ == "__main__":
    main()
