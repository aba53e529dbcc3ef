"""`crm list --due` against spec §6, on hand-built histories (today is frozen at 2026-11-26).

Every expected next date and days-overdue value below is worked out by hand in
the comments: cadence key 7 / normal 14 / potential 30 days unless a test's
crm.toml says otherwise.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TODAY, Crm

_phones = iter(range(13800000000, 13900000000))


@pytest.fixture
def new(crm: Crm, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Add a customer created on ``created`` (default today); return its code."""

    def add(name: str, *extra: str, created: str | None = None) -> str:
        if created:
            monkeypatch.setenv("CRM_TODAY", created)
        try:
            return crm.ok("add", name, "--phone", str(next(_phones)), *extra).strip()
        finally:
            monkeypatch.setenv("CRM_TODAY", TODAY.isoformat())

    return add


def due(crm: Crm, *args: str) -> list[dict[str, object]]:
    out = crm.ok("list", "--due", *args, "--format", "json")
    return json.loads(out) if out.strip() else []


def summary(rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(r["code"], r["next_follow_at"], r["overdue_days"]) for r in rows]


def test_cadence_per_level_and_the_clock_restarting(crm: Crm, new: Callable[..., str]) -> None:
    key = new("Key Co", "--level", "key", created="2026-11-01")
    crm.ok("follow", key, "--content", "call", "--date", "2026-11-19")  # 11-19 + 7 = 11-26: due today, 0 days
    key_later = new("Key Later", "--level", "key", created="2026-11-01")
    crm.ok("follow", key_later, "--content", "call", "--date", "2026-11-20")  # + 7 = 11-27: tomorrow
    normal = new("Normal Co", created="2026-10-01")
    crm.ok("follow", normal, "--content", "first", "--date", "2026-10-05")  # would be 10-19 (38 days) ...
    crm.ok("follow", normal, "--content", "again", "--date", "2026-11-10")  # ... but the clock restarts: 11-24, 2 days
    pot = new("Potential Co", "--level", "potential", created="2026-09-01")
    crm.ok("follow", pot, "--content", "call", "--date", "2026-10-20")  # + 30 = 11-19: 7 days
    fresh_pot = new("Fresh Potential", "--level", "potential", created="2026-09-01")
    crm.ok("follow", fresh_pot, "--content", "call", "--date", "2026-10-28")  # + 30 = 11-27: not due

    assert summary(due(crm)) == [
        (pot, "2026-11-19", 7),
        (normal, "2026-11-24", 2),
        (key, "2026-11-26", 0),
    ]
    # --within 1 reaches tomorrow; a date in the future has negative days overdue
    assert summary(due(crm, "--within", "1")) == [
        (pot, "2026-11-19", 7),
        (normal, "2026-11-24", 2),
        (key, "2026-11-26", 0),
        (key_later, "2026-11-27", -1),
        (fresh_pot, "2026-11-27", -1),  # same date as key_later: entry order breaks the tie
    ]


def test_explicit_next_date_wins_over_cadence(crm: Crm, new: Callable[..., str]) -> None:
    early = new("Early Co", created="2026-11-01")
    crm.ok("follow", early, "--content", "call", "--date", "2026-11-20", "--next-date", "2026-11-22")  # cadence: 12-04
    late = new("Late Co", "--level", "key", created="2026-10-01")
    crm.ok("follow", late, "--content", "call", "--date", "2026-11-01", "--next-date", "2026-12-10")  # cadence: 11-08
    assert summary(due(crm)) == [(early, "2026-11-22", 4)]
    assert summary(due(crm, "--within", "14")) == [(early, "2026-11-22", 4), (late, "2026-12-10", -14)]


def test_latest_follow_up_is_greatest_date_then_entry_order(crm: Crm, new: Callable[..., str]) -> None:
    # same date, the later entry has no next date: cadence from 11-15 = 11-29, not due
    a = new("Tie A", created="2026-11-01")
    crm.ok("follow", a, "--content", "one", "--date", "2026-11-15", "--next-date", "2026-11-21")
    crm.ok("follow", a, "--content", "two", "--date", "2026-11-15")
    # same date, the later entry has the next date: 11-21, 5 days overdue
    b = new("Tie B", created="2026-11-01")
    crm.ok("follow", b, "--content", "one", "--date", "2026-11-15")
    crm.ok("follow", b, "--content", "two", "--date", "2026-11-15", "--next-date", "2026-11-21", "--next-plan", "报价")
    # a follow-up entered later but dated earlier is not the latest: next stays 12-20
    c = new("Backdated", created="2026-10-01")
    crm.ok("follow", c, "--content", "recent", "--date", "2026-11-20", "--next-date", "2026-12-20")
    crm.ok("follow", c, "--content", "old news", "--date", "2026-10-02", "--method", "visit")
    rows = due(crm)
    assert summary(rows) == [(b, "2026-11-21", 5)]
    assert rows[0]["next_plan"] == "报价"
    assert rows[0]["last_follow_at"] == "2026-11-15"
    assert summary(due(crm, "--within", "30")) == [(b, "2026-11-21", 5), (a, "2026-11-29", -3), (c, "2026-12-20", -24)]


def test_never_contacted_is_due_from_creation(crm: Crm, new: Callable[..., str]) -> None:
    old = new("Old Lead", "--level", "key", created="2026-11-20")  # never followed: 11-20, 6 days
    today = new("New Lead")  # created today: due today, 0 days
    rows = due(crm)
    assert summary(rows) == [(old, "2026-11-20", 6), (today, "2026-11-26", 0)]
    assert rows[0]["last_follow_at"] is None and rows[0]["last_method"] is None


def test_lost_and_archived_are_never_due(crm: Crm, new: Callable[..., str]) -> None:
    lost = new("Lost Co", created="2026-01-01")
    crm.ok("stage", lost, "lost", "--reason", "价格太高", "--date", "2026-02-01")
    gone = new("Archived Co", created="2026-01-01")
    crm.ok("archive", gone)
    won = new("Won Co", created="2026-01-01")
    crm.ok("stage", won, "won", "--amount", "1000", "--date", "2026-02-01")  # won customers stay on the list
    # won customers stay on the list; the win is the latest contact: 02-01 + 14 = 02-15, 284 days
    assert summary(due(crm)) == [(won, "2026-02-15", 284)]


def test_custom_cadence_from_config(crm: Crm, new: Callable[..., str], tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text("[cadence]\nkey = 3\nnormal = 5\n", encoding="utf-8")  # CRM_CONFIG points here
    key = new("Key Co", "--level", "key", created="2026-11-01")
    crm.ok("follow", key, "--content", "call", "--date", "2026-11-22")  # + 3 = 11-25: 1 day
    normal = new("Normal Co", created="2026-11-01")
    crm.ok("follow", normal, "--content", "call", "--date", "2026-11-20")  # + 5 = 11-25: 1 day
    pot = new("Potential Co", "--level", "potential", created="2026-10-01")
    crm.ok("follow", pot, "--content", "call", "--date", "2026-11-01")  # default 30: 12-01, not due
    assert summary(due(crm)) == [(key, "2026-11-25", 1), (normal, "2026-11-25", 1)]


def test_mine_and_owner(crm: Crm, new: Callable[..., str]) -> None:
    mine = new("Alice Co", created="2026-11-01")  # CRM_USER is alice: she owns it
    bob = new("Bob Co", "--owner", "bob", created="2026-11-02")
    carol = new("Carol Co", "--owner", "carol", created="2026-11-03")
    assert [r["code"] for r in due(crm)] == [mine, bob, carol]
    assert [r["code"] for r in due(crm, "--mine")] == [mine]
    assert [r["code"] for r in due(crm, "--owner", "bob")] == [bob]
    assert [r["code"] for r in due(crm, "--owner", "bob", "--owner", "carol")] == [bob, carol]
    assert [r["code"] for r in crm.json("--user", "carol", "list", "--due", "--mine")] == [carol]
    assert crm.ok("list", "--due", "--owner", "nobody") == ""
    assert [r["code"] for r in due(crm, "--limit", "2")] == [mine, bob]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "tsv"])
def test_nothing_due_prints_nothing_and_exits_0(crm: Crm, new: Callable[..., str], fmt: str) -> None:
    crm.ok("init")  # commands that only read need an existing database (spec §1)
    result = crm("list", "--due", "--format", fmt)  # empty database
    assert result.exit_code == 0 and result.stdout == ""
    code = new("Busy Co")
    crm.ok("follow", code, "--content", "call", "--next-date", "2026-12-01")
    result = crm("list", "--due", "--format", fmt)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""


def test_table_and_csv_columns(crm: Crm, new: Callable[..., str]) -> None:
    code = new("ABC科技", "--contact", "张伟", "--level", "key", created="2026-11-01")
    crm.ok("follow", code, "--content", "call", "--method", "wechat", "--date", "2026-11-10", "--next-plan", "发报价")
    out = crm.ok("list", "--due")
    for header in ("Code", "Name", "Contact", "Phone", "Level", "Stage", "Owner", "Next follow-up", "Days overdue",
                   "Last follow-up", "Last method", "Next plan"):  # fmt: skip
        assert header in out
    assert "\x1b[" not in out  # piped: no escape codes
    line = next(x for x in out.splitlines() if code in x)
    for cell in ("ABC科技", "张伟", "Key", "Potential", "alice", "2026-11-17", "9", "2026-11-10", "WeChat", "发报价"):
        assert cell in line
    rows = list(csv.DictReader(io.StringIO(crm.ok("list", "--due", "--format", "csv"))))
    assert (
        rows[0]["overdue_days"] == "9"
        and rows[0]["last_method"] == "wechat"
        and rows[0]["next_follow_at"] == "2026-11-17"
    )
    zh = crm.ok("--lang", "zh", "list", "--due")
    assert "逾期天数" in zh and "微信" in zh


def test_json_and_table_say_the_same(crm: Crm, new: Callable[..., str], crm_env: Path) -> None:
    """--format json is built by the database, csv and tables from records: one query, one answer."""
    a = new("Tagged Co", "--tag", "华东", "--tag", "高预算", "--amount", "5万", "--expected-close", "2027-01-15",
            "--industry", "制造业", "--source", "展会推广", "--need", "ERP", "--note", 'say "hi"', created="2026-10-01")  # fmt: skip
    crm.ok("follow", a, "--content", "call", "--date", "2026-10-03", "--method", "visit", "--next-plan", "上门")
    new("Plain Co", "--level", "potential", created="2026-11-25")
    from crmcli.fields import due_keys

    for within in ("0", "40"):
        objects = crm.json("list", "--due", "--within", within)
        assert [list(x) for x in objects] == [list(due_keys())] * len(objects)  # same keys, same order
        rows = list(csv.DictReader(io.StringIO(crm.ok("list", "--due", "--within", within, "--format", "csv"))))
        assert [r["code"] for r in rows] == [o["code"] for o in objects]
        for o, r in zip(objects, rows, strict=True):
            assert r["next_follow_at"] == o["next_follow_at"] and int(r["overdue_days"]) == o["overdue_days"]
            assert r["tags"] == ";".join(o["tags"]) and r["next_plan"] == (o["next_plan"] or "")
    rows = due(crm)
    assert rows[0]["tags"] == ["华东", "高预算"] and rows[0]["amount"] == 50000 and rows[0]["archived"] is False
    masked = json.loads(crm.ok("list", "--due", "--format", "json", "--mask"))  # --mask takes the record path
    assert [list(x) for x in masked] == [list(due_keys())] * len(masked) and masked[0]["tags"] == ["华东", "高预算"]


def test_within_must_not_be_negative(crm: Crm) -> None:
    assert crm("list", "--due", "--within", "-1").exit_code == 2


def test_overdue_days_count_calendar_days_across_months(crm: Crm, new: Callable[..., str]) -> None:
    code = new("Leap Co", "--level", "potential", created="2024-01-01")
    crm.ok("follow", code, "--content", "call", "--date", "2024-01-30")  # + 30 = 2024-02-29 (leap year)
    expected = (TODAY - dt.date(2024, 2, 29)).days  # 1001
    assert summary(due(crm)) == [(code, "2024-02-29", expected)]


# --------------------------------------------------------------------------- examples/crontab

CRONTAB = Path(__file__).parents[1] / "examples" / "crontab"


def crontab_commands() -> list[tuple[dict[str, str], list[str]]]:
    """Every `crm ...` invocation in examples/crontab: (inline environment, arguments)."""
    import re
    import shlex

    found = []
    for raw in CRONTAB.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Za-z_]+=", line):
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not a cron line: {raw}"
        command = fields[5]
        assert "%" not in command.replace("\\%", ""), f"unescaped % in: {raw}"
        command = command.replace("\\%", "%").replace("$(date +%F)", "2026-11-26")
        for segment in re.split(r";|\|\||&&|\|", command):
            words = shlex.split(segment)
            env = {}
            while words and re.match(r"^[A-Za-z_]+=", words[0]):
                name, _, value = words.pop(0).partition("=")
                env[name] = value
            if words and words[0] == "crm":
                found.append((env, words[1:]))
    return found


def test_crontab_lines_parse_with_the_real_cli() -> None:
    import typer.main

    from crmcli.cli import app

    commands = crontab_commands()
    assert {args[0] for _, args in commands} == {"list", "report", "import", "backup"}
    group = typer.main.get_command(app)
    for _env, args in commands:
        ctx = group.make_context("crm", list(args))
        protected = list(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", []))
        name, cmd, rest = group.resolve_command(ctx, [*protected, *ctx.args])
        assert cmd is not None, f"crm {name} does not exist"
        cmd.make_context(name or "", list(rest), parent=ctx)  # raises on an unknown option or a bad value


def test_crontab_read_only_lines_run(crm: Crm, new: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    new("Wang Co", "--owner", "wang", created="2026-11-20")
    ran = 0
    for env, args in crontab_commands():
        if args[0] not in ("list", "report"):
            continue
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        out = crm.ok(*args)
        if env.get("CRM_USER") == "wang":
            assert "Wang Co" in out
        if env.get("CRM_USER") == "li":
            assert out == ""  # nothing due for li: no output, so cron sends no mail
        ran += 1
    assert ran == 4


def test_a_stage_change_counts_as_contact(crm: Crm, new: Callable[..., str]) -> None:
    """Won yesterday, never followed up: the win is the latest contact, so the next follow-up is
    11-25 + 14 = 12-09, not the creation date 11-01 (which read as 25 days overdue)."""
    won = new("Won Co", created="2026-11-01")
    crm.ok("stage", won, "won", "--amount", "5万", "--date", "2026-11-25")
    # a follow-up on 11-10 with a plan for 11-12, then a move to intent on 11-20: 11-20 + 14 = 12-04
    moved = new("Moved Co", created="2026-10-01")
    crm.ok("follow", moved, "--content", "call", "--date", "2026-11-10", "--next-date", "2026-11-12")
    crm.ok("stage", moved, "intent", "--date", "2026-11-20")
    # a stage change before the latest follow-up changes nothing: 11-05 follow-up + 14 = 11-19, 7 days
    earlier = new("Earlier Co", created="2026-10-01")
    crm.ok("stage", earlier, "intent", "--date", "2026-11-01")
    crm.ok("follow", earlier, "--content", "call", "--date", "2026-11-05")
    # a key customer moved on 11-15: + 7 = 11-22, 4 days overdue
    key = new("Key Co", "--level", "key", created="2026-10-01")
    crm.ok("stage", key, "negotiating", "--date", "2026-11-15")
    assert summary(due(crm)) == [(earlier, "2026-11-19", 7), (key, "2026-11-22", 4)]
    assert summary(due(crm, "--within", "20")) == [
        (earlier, "2026-11-19", 7), (key, "2026-11-22", 4), (moved, "2026-12-04", -8), (won, "2026-12-09", -13),
    ]  # fmt: skip
    assert crm.json("show", won)["next_follow_at"] == "2026-12-09"
