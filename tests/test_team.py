"""Team mode on PostgreSQL (spec §16): who sees what is enforced by the database, as a rep tries
every way around it; the pool's rules; users handed over."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Crm


@pytest.fixture
def team(crm: Crm, pg_url: str, pg_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A team database: alice (superuser) ran team init; wang and li are reps of team 东, zhao their
    manager, qian a rep of team 西. Logins carry the database's name (roles are cluster-wide)."""
    db = pg_server.current
    crm.ok("team", "init")
    logins = {}
    for who, name, role, team_name in (("wang", "王磊", "rep", "东"), ("li", "李娜", "rep", "东"), ("zhao", "赵敏", "manager", "东"), ("qian", "钱七", "rep", "西")):
        login = f"{who}_{db}"
        crm.ok("team", "user", "add", login, "--name", name, "--role", role, "--team", team_name)
        logins[who] = login

    def as_(who: str) -> None:
        monkeypatch.setenv("CRM_DB", pg_server.url(db, logins[who]))

    def admin() -> None:
        monkeypatch.setenv("CRM_DB", pg_url)

    return {"login": logins, "as": as_, "admin": admin, "db": db, "server": pg_server}


def codes(crm: Crm, *args: str) -> list[str]:
    return [r["code"] for r in crm.json("list", *args)]


def test_a_rep_sees_and_changes_only_their_own(crm: Crm, team: dict[str, Any]) -> None:
    team["as"]("wang")
    w = crm.ok("add", "云帆科技", "--phone", "13800000001", "--contact", "陈总").strip()
    crm.ok("follow", w, "--content", "电话沟通")
    team["as"]("li")
    l_code = crm.ok("add", "星河贸易", "--phone", "13900000002").strip()
    # li: by code, by phone, by name search, in lists, reports, export, history: nothing of wang's
    assert codes(crm) == [l_code]
    for ref in (w, "13800000001", "云帆"):
        result = crm("show", ref)
        assert result.exit_code == 1 and "no customer matches" in result.stderr
    assert codes(crm, "--search", "云帆") == []
    funnel = crm.json("report", "funnel")
    assert funnel["rows"][0]["count"] == 1  # li's one potential customer, not wang's
    exported = json.loads(crm.ok("export", "-", "--format", "json"))["customers"]
    assert [r["code"] for r in exported] == [l_code]
    assert crm("edit", w, "--level", "key").exit_code == 1
    assert crm("archive", w).exit_code == 1
    # the duplicate check sees past the policy and says only code and owner
    result = crm("add", "云帆科技", "--phone", "13800000001")
    assert result.exit_code == 1
    assert w in result.stderr and team["login"]["wang"] in result.stderr and "陈总" not in result.stderr
    # giving one's own customer away is refused, and nothing changes
    result = crm("edit", l_code, "--owner", team["login"]["wang"])
    assert result.exit_code == 1 and "not allowed" in result.stderr
    assert crm.json("show", l_code)["owner"] == team["login"]["li"]
    # a forged owner on insert is refused too
    result = crm("add", "伪造公司", "--phone", "13700000003", "--owner", team["login"]["wang"])
    assert result.exit_code == 1 and "not allowed" in result.stderr
    # the manager of the team sees both; the rep of another team neither
    team["as"]("zhao")
    assert sorted(codes(crm)) == sorted([w, l_code])
    team["as"]("qian")
    assert codes(crm) == []


def test_psql_directly_and_a_spoofed_setting_see_nothing(crm: Crm, team: dict[str, Any]) -> None:
    import psycopg

    team["as"]("wang")
    crm.ok("add", "云帆科技", "--phone", "13800000001")
    crm.ok("follow", "云帆", "--content", "秘密")
    server, db = team["server"], team["db"]
    with psycopg.connect(server.libpq(db, team["login"]["li"]), autocommit=True) as con:
        for table in ("customer", "follow_up", "stage_change", "deal", "ticket", "change", "change_set", "tag", "custom_value"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        con.execute("SET crm.change_set = '1'")  # a setting names a change set at most, never who one is
        con.execute("SET role NONE")
        assert con.execute("SELECT count(*) FROM customer").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("INSERT INTO customer (code, name, name_key, phone_key, created_at, owner) "
                        f"VALUES ('X1', 'x', 'x', '', '2026-11-01', '{team['login']['wang']}')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("SELECT * FROM crm_code_counter")
        # every customer table is FORCE'd
        forced = dict(con.execute("SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN "
                                  "('customer', 'follow_up', 'deal', 'ticket', 'change', 'change_set')").fetchall())
        assert forced and all(forced.values()), forced


def test_pool_claim_release_limits_and_sweep(crm: Crm, team: dict[str, Any]) -> None:
    team["admin"]()
    crm.ok("team", "set", "pool.max_customers", "1")
    pool = crm.ok("add", "公海客户", "--phone", "13800000009", "--owner", team["login"]["wang"]).strip()
    crm.ok("pool", "release", pool)  # the admin returns it to the pool
    team["as"]("li")
    assert [r["code"] for r in crm.json("pool", "list")] == [pool]
    assert crm("edit", pool, "--level", "key").exit_code == 1  # must claim before changing it
    assert "claimed" in crm.ok("pool", "claim", pool)
    assert crm.json("show", pool)["owner"] == team["login"]["li"]
    crm.ok("pool", "release", pool)
    result = crm("pool", "claim", pool)  # the reclaim lock
    assert result.exit_code == 1 and "claimed again from 2026-12-26" in result.stderr
    team["as"]("wang")
    mine = crm.ok("add", "王的客户", "--phone", "13800000010").strip()
    result = crm("pool", "claim", pool)  # the holding limit (1): wang holds one already
    assert result.exit_code == 1 and "limit is 1" in result.stderr
    result = crm("pool", "assign", mine, team["login"]["li"])  # a rep cannot give one away
    assert result.exit_code == 1
    result = crm("pool", "sweep")
    assert result.exit_code == 1 and "admin" in result.stderr
    team["admin"]()
    swept = crm.json("pool", "sweep", "--days", "0", "--dry-run")
    assert swept == []  # created today: not yet neglected
    assert crm.json("show", mine)["owner"] == team["login"]["wang"]
    # owner changes are in the history
    assert any("claim" in (h.get("command") or "") for h in crm.json("history", pool))


def test_user_remove_hands_customers_over_and_disables_the_login(crm: Crm, team: dict[str, Any]) -> None:
    import psycopg

    team["as"]("wang")
    a = crm.ok("add", "甲公司", "--phone", "13800000001").strip()
    b = crm.ok("add", "乙公司", "--phone", "13800000002").strip()
    team["as"]("li")
    result = crm("team", "user", "remove", team["login"]["wang"], "--to-pool")
    assert result.exit_code == 1 and "admin" in result.stderr
    team["admin"]()
    out = crm.ok("team", "user", "remove", team["login"]["wang"], "--to", team["login"]["li"])
    assert "2 customers" in out
    users = {u["login"]: u for u in crm.json("team", "user", "list")}
    assert users[team["login"]["wang"]]["active"] is False and users[team["login"]["li"]]["customers"] == 2
    team["as"]("li")
    assert sorted(codes(crm)) == sorted([a, b])
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(team["server"].libpq(team["db"], team["login"]["wang"]))


def test_codes_unique_under_concurrent_adds(pg_url: str, team: dict[str, Any], tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    procs = []
    for who in ("wang", "li", "qian"):  # three logins adding at once, each in its own process
        env = dict(os.environ, CRM_DB=team["server"].url(team["db"], team["login"][who]))
        phones = [f"138{abs(hash(who)) % 1000:03d}{i:05d}" for i in range(8)]
        procs.append(subprocess.Popen(
            [sys.executable, "-c", "from typer.testing import CliRunner\nfrom crmcli.cli import app\n"
             "runner = CliRunner()\n"
             f"for i, phone in enumerate({phones!r}):\n"
             f"    r = runner.invoke(app, ['add', '{who}' + str(i), '--phone', phone])\n"
             "    assert r.exit_code == 0, r.output\n"],
            env=env, stderr=subprocess.PIPE, text=True,
        ))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    import psycopg

    with psycopg.connect(team["server"].libpq(team["db"])) as con:
        n, distinct = con.execute("SELECT count(*), count(DISTINCT code) FROM customer").fetchone()
    assert n == distinct == 24


def test_import_waits_for_the_import_lock_then_exits_4(crm: Crm, pg_url: str, pg_server: Any, tmp_path: Any) -> None:
    import psycopg

    from crmcli.store.postgres import IMPORT_LOCK

    (tmp_path / "crm.toml").write_text("busy_timeout = 0.3\n", encoding="utf-8")
    sheet = tmp_path / "a.csv"
    sheet.write_text("客户名称,联系电话\n甲公司,13800000001\n", encoding="utf-8")
    with psycopg.connect(pg_server.libpq(pg_server.current), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (IMPORT_LOCK,))  # another import is running
        result = crm("import", str(sheet))
        assert result.exit_code == 4 and "busy" in result.stderr
        crm.ok("add", "乙公司", "--phone", "13800000002")  # an edit does not wait for imports
        other.execute("SELECT pg_advisory_unlock(%s)", (IMPORT_LOCK,))
    assert "1" in crm.ok("import", str(sheet), "--format", "json")
    assert sorted(r["name"] for r in crm.json("list")) == ["乙公司", "甲公司"]


def test_a_login_that_is_not_a_team_user_and_a_rep_running_admin_commands(
    crm: Crm, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with team["server"].admin() as con:
        con.execute(f'CREATE ROLE "stranger_{team["db"]}" LOGIN')
    monkeypatch.setenv("CRM_DB", team["server"].url(team["db"], f"stranger_{team['db']}"))
    for args in (["list"], ["add", "丙公司", "--phone", "13800000003"]):
        result = crm(*args)
        assert result.exit_code == 1 and "not a team user" in result.stderr, args
    team["as"]("wang")
    for args in (["team", "init"], ["team", "user", "add", "x", "--name", "X", "--role", "admin"], ["team", "set", "pool.days", "1"]):
        result = crm(*args)
        assert result.exit_code == 1, args
        assert result.stderr.count("\n") == 1, result.stderr


def test_check_on_postgresql_reports_policies_and_counts(crm: Crm, team: dict[str, Any]) -> None:
    team["as"]("wang")
    crm.ok("add", "甲公司", "--phone", "13800000001")
    team["admin"]()
    report = crm.json("check")
    assert report["ok"] is True and report["schema"] == "current" and report["counts"]["customers"] == 1
    assert report["integrity"] == "ok" and "@" in report["database"]
    import psycopg

    with psycopg.connect(team["server"].libpq(team["db"]), autocommit=True) as con:
        con.execute("ALTER TABLE follow_up NO FORCE ROW LEVEL SECURITY")
    result = crm("check", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["integrity"] == ["table follow_up: row-level security is not FORCEd"]
    crm.ok("team", "init")  # puts it back
    team["as"]("wang")
    assert crm.json("check")["counts"]["customers"] == 1  # a rep's counts are what they see


def test_db_copy_moves_a_file_in_with_owner_mapping(crm: Crm, team: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    file_db = tmp_path / "mine.db"
    monkeypatch.setenv("CRM_DB", str(file_db))
    a = crm.ok("add", "甲公司", "--phone", "13800000001", "--owner", "王磊").strip()
    crm.ok("follow", a, "--content", "电话沟通", "--date", "2026-11-20")
    crm.ok("stage", a, "won", "--amount", "50000")
    b = crm.ok("add", "乙公司", "--phone", "13800000002", "--owner", "李娜").strip()
    team["admin"]()
    url = team["server"].url(team["db"], "alice")
    result = crm("db", "copy", "--from", str(file_db), "--to", url, "--owner", f"王磊={team['login']['wang']}")
    assert result.exit_code == 1 and "owner 李娜 is not a team login" in result.stderr
    assert crm.json("list") == []  # nothing copied
    out = crm.ok("db", "copy", "--from", str(file_db), "--to", url, "--owner", f"王磊={team['login']['wang']}",
                 "--owner", f"李娜={team['login']['li']}")
    assert "2 customer" in out and "counts verified" in out
    result = crm("db", "copy", "--from", str(file_db), "--to", url, "--owner", f"王磊={team['login']['wang']}",
                 "--owner", f"李娜={team['login']['li']}")
    assert result.exit_code == 1 and "already holds customers" in result.stderr
    team["as"]("wang")
    shown = crm.json("show", a)
    assert shown["owner"] == team["login"]["wang"] and len(shown["follow_ups"]) == 1 and shown["stage"] == "won"
    assert codes(crm) == [a]
    new = crm.ok("add", "丙公司", "--phone", "13800000003").strip()
    assert new not in (a, b) and new.startswith("C202611")


def test_db_copy_refuses_a_rep_a_missing_file_and_a_database_without_team_init(
    crm: Crm, team: dict[str, Any], pg_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_db = tmp_path / "mine.db"
    monkeypatch.setenv("CRM_DB", str(file_db))
    crm.ok("add", "甲公司", "--phone", "13800000001", "--owner", "王磊")
    owner = f"王磊={team['login']['wang']}"
    rep = pg_server.url(team["db"], team["login"]["wang"])
    result = crm("db", "copy", "--from", str(file_db), "--to", rep, "--owner", owner)
    assert result.exit_code == 1 and result.stderr == "Error: only a team admin may copy a database in\n"
    result = crm("db", "copy", "--from", str(tmp_path / "none.db"), "--to", pg_server.url(team["db"], "alice"), "--owner", owner)
    assert result.exit_code == 1 and "no such database file" in result.stderr
    bare = pg_server.new_database(pg_server.template)  # the schema, no team init
    try:
        result = crm("db", "copy", "--from", str(file_db), "--to", pg_server.url(bare, "alice"), "--owner", owner)
        assert result.exit_code == 1 and "not set up for a team yet" in result.stderr
    finally:
        from crmcli import store

        store.dispose_all()
        pg_server.drop_database(bare)
    team["admin"]()
    assert crm.json("list") == []  # nothing copied


def test_db_copy_keeps_every_character_of_the_files_text(crm: Crm, team: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text goes into COPY as the file's UTF-8 bytes (pg_copy.raw_text): COPY's specials and
    CJK come out as they went in."""
    file_db = tmp_path / "mine.db"
    monkeypatch.setenv("CRM_DB", str(file_db))
    content = "电话沟通\t报价 C:\\价格\\新\n第二行\r\n\\N 🙂"
    a = crm.ok("add", "甲\\公司", "--phone", "13800000001", "--owner", "王磊", "--need", "多行\n需求\t第三\\列").strip()
    crm.ok("follow", a, "--content", content, "--date", "2026-11-20")
    before = crm.json("show", a)
    team["admin"]()
    url = team["server"].url(team["db"], "alice")
    crm.ok("db", "copy", "--from", str(file_db), "--to", url, "--owner", f"王磊={team['login']['wang']}")
    after = crm.json("show", a)
    assert before["follow_ups"][0]["content"] == content.replace("\r\n", "\n")  # as the file holds it
    assert before["name"] == "甲\\公司" and before["need"] == "多行\n需求\t第三\\列"
    assert after["owner"] == team["login"]["wang"]
    assert {k: v for k, v in after.items() if k not in ("owner", "owner_name")} == {
        k: v for k, v in before.items() if k not in ("owner", "owner_name")
    }


def test_several_roles_importing_and_editing_at_once_lose_and_duplicate_nothing(team: dict[str, Any], tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    import psycopg

    procs = []
    for k, who in enumerate(("wang", "li", "qian")):
        sheet = tmp_path / f"{who}.csv"
        lines = ["客户名称,联系电话,跟进内容"] + [f"{who}客户{i},139{k}{i:07d},初次电话" for i in range(40)]
        sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
        env = dict(os.environ, CRM_DB=team["server"].url(team["db"], team["login"][who]))
        cmds = [["import", str(sheet)], ["add", f"{who}单加", "--phone", f"137{k}0000001"], ["edit", f"{who}客户1", "--level", "key"]]
        script = "\n".join(
            ["import subprocess, sys"]
            + [f"r = subprocess.run([sys.executable, '-m', 'crmcli', *{c!r}], capture_output=True, text=True); "
               "assert r.returncode == 0, r.stderr" for c in cmds]
        )
        procs.append(subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with psycopg.connect(team["server"].libpq(team["db"])) as con:
        rows = con.execute("SELECT owner, count(*), count(DISTINCT code), count(DISTINCT id) FROM customer GROUP BY owner ORDER BY owner").fetchall()
        assert [r[1:] for r in rows] == [(41, 41, 41)] * 3
        assert con.execute("SELECT count(*) FROM follow_up").fetchone() == (120,)
        assert con.execute("SELECT count(*) FROM customer WHERE level = 'key'").fetchone() == (3,)


def test_sweep_returns_neglected_customers_and_locks_them_from_their_last_owner(
    crm: Crm, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    team["as"]("wang")
    old = crm.ok("add", "久未跟进", "--phone", "13800000001").strip()
    kept = crm.ok("add", "常跟进", "--phone", "13800000002").strip()
    won = crm.ok("add", "已成交", "--phone", "13800000003").strip()
    crm.ok("stage", won, "won", "--amount", "1000")
    monkeypatch.setenv("CRM_TODAY", "2027-01-05")  # 40 days later
    crm.ok("follow", kept, "--content", "回访")
    team["admin"]()
    assert crm.json("pool", "sweep", "--dry-run") == [{"code": old, "owner": team["login"]["wang"], "since": "2026-11-26"}]
    assert crm.json("show", old)["owner"] == team["login"]["wang"]  # a dry run changes nothing
    assert [r["code"] for r in crm.json("pool", "sweep")] == [old]
    assert crm.json("show", old)["owner"] is None and crm.json("show", kept)["owner"] == team["login"]["wang"]
    assert crm.json("show", won)["owner"] == team["login"]["wang"]
    team["as"]("wang")
    result = crm("pool", "claim", old)
    assert result.exit_code == 1 and "2027-02-04" in result.stderr
    team["as"]("li")
    assert "claimed" in crm.ok("pool", "claim", old)


def test_the_sweep_clock_takes_each_levels_days(crm: Crm, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """pool.days.LEVEL before pool.days, the same for the due list's warning and the sweep."""
    team["admin"]()
    crm.ok("team", "set", "pool.days", "20")
    crm.ok("team", "set", "pool.days.key", "5")
    team["as"]("wang")
    key = crm.ok("add", "重点客户", "--phone", "13800000001", "--level", "key").strip()
    normal = crm.ok("add", "普通客户", "--phone", "13800000002").strip()
    team["as"]("li")
    crm.ok("add", "李的重点", "--phone", "13800000003", "--level", "key")
    monkeypatch.setenv("CRM_TODAY", "2026-12-01")  # 5 days on: only the key customers
    team["as"]("wang")
    assert crm("list", "--due").stderr.endswith(f"unless followed up: {key}\n")
    team["admin"]()
    assert [r["code"] for r in crm.json("pool", "sweep", "--dry-run")] == []  # the sweep takes them after the 5 days
    monkeypatch.setenv("CRM_TODAY", "2026-12-02")
    swept = crm.json("pool", "sweep", "--dry-run")
    assert len(swept) == 2 and key in [r["code"] for r in swept] and normal not in [r["code"] for r in swept]
    monkeypatch.setenv("CRM_TODAY", "2026-12-16")  # 20 days on: the normal one too
    team["as"]("wang")
    assert "2 of your customers" in crm("list", "--due").stderr
    monkeypatch.setenv("CRM_TODAY", "2026-12-17")  # the sweep takes what is past its days
    team["admin"]()
    assert normal in [r["code"] for r in crm.json("pool", "sweep", "--dry-run")]


def test_the_due_list_warns_a_rep_of_what_the_next_sweep_takes(
    crm: Crm, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spec §16: `list --due` names the rep's own customers that the next sweep returns to the pool
    (pool.days 30 from the later of creation and last follow-up), on stderr; never another rep's."""
    import psycopg

    team["as"]("wang")
    old = crm.ok("add", "久未跟进", "--phone", "13800000001").strip()
    kept = crm.ok("add", "常跟进", "--phone", "13800000002").strip()
    team["as"]("li")
    crm.ok("add", "李的客户", "--phone", "13800000003")
    monkeypatch.setenv("CRM_TODAY", "2026-12-26")  # 30 days after 2026-11-26: the next sweep takes them
    team["as"]("wang")
    crm.ok("follow", kept, "--content", "回访")
    result = crm("list", "--due", "--format", "csv")
    assert result.exit_code == 0
    assert result.stderr == f"warning: the next pool sweep returns 1 of your customers to the pool unless followed up: {old}\n"
    monkeypatch.setenv("CRM_TODAY", "2026-12-25")  # a day earlier: nothing yet
    assert crm("list", "--due").stderr == ""
    # the clock behind it reveals every owner: only the definer functions may read it
    with psycopg.connect(team["server"].libpq(team["db"], team["login"]["li"]), autocommit=True) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("SELECT * FROM crm_pool_clock(NULL)")
        mine = con.execute("SELECT code FROM customer").fetchall()  # li's one customer, as li sees it
        assert len(mine) == 1 and con.execute("SELECT code FROM crm_pool_at_risk('2026-12-26')").fetchall() == mine


def test_a_reps_bulk_import_goes_through_copy_and_the_policies(crm: Crm, team: dict[str, Any], tmp_path: Any) -> None:
    """60 rows: past pg_copy.COPY_FROM, so COPY into a temp table, then INSERT ... SELECT under the
    rep's policies: their own rows go in; a file naming another rep as owner is refused whole."""
    from crmcli.store import pg_copy

    n = pg_copy.COPY_FROM + 10
    mine = tmp_path / "mine.csv"
    mine.write_text("客户名称,联系电话,跟进内容\n" + "".join(f"王客户{i},1390000{i:04d},初次电话\n" for i in range(n)), encoding="utf-8")
    team["as"]("wang")
    out = json.loads(crm.ok("import", str(mine), "--format", "json"))
    assert (out["created"], out["follow_ups"], out["rejected"]) == (n, n, 0)
    listed = crm.json("list")
    assert len(listed) == n and {c["owner"] for c in listed} == {team["login"]["wang"]}
    theirs = tmp_path / "theirs.csv"
    theirs.write_text(
        "客户名称,联系电话,负责人\n" + "".join(f"李客户{i},1380000{i:04d},{team['login']['li']}\n" for i in range(n)), encoding="utf-8"
    )
    result = crm("import", str(theirs))
    assert result.exit_code == 1 and "not allowed" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert len(crm.json("list")) == n  # nothing of the refused file
    team["as"]("li")
    assert crm.json("list") == []


def _schema_state(server: Any, db: str) -> Any:
    """What a failed db copy must leave as it was: constraints, indexes, row-level security, rows."""
    import psycopg

    with psycopg.connect(server.libpq(db)) as con:
        return (
            con.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2").fetchall(),
            con.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1").fetchall(),
            con.execute("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1").fetchall(),
            con.execute("SELECT count(*) FROM customer").fetchone(),
            con.execute("SELECT count(*) FROM crm_bulk_load").fetchone(),
        )  # fmt: skip


def test_a_db_copy_that_fails_after_baring_the_tables_leaves_the_target_as_it_was(
    crm: Crm, team: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    file_db = tmp_path / "mine.db"
    monkeypatch.setenv("CRM_DB", str(file_db))
    crm.ok("add", "甲公司", "--phone", "13800000001", "--owner", "王磊")
    con = sqlite3.connect(file_db)  # a follow-up of no customer: only the rebuilt foreign key sees it
    con.execute("INSERT INTO follow_up (customer_id, date, content) VALUES (999, '2026-11-20', '孤儿')")
    con.commit()
    con.close()
    before = _schema_state(team["server"], team["db"])
    from crmcli.store.pg_team import POLICED

    assert {t for t, rls, force in before[2] if rls and force} >= set(POLICED)
    team["admin"]()
    url = team["server"].url(team["db"], "alice")
    result = crm("db", "copy", "--from", str(file_db), "--to", url, "--owner", f"王磊={team['login']['wang']}")
    assert result.exit_code == 1 and "do not hold together" in result.stderr and "nothing was copied" in result.stderr
    assert result.stderr.count("\n") == 1
    assert _schema_state(team["server"], team["db"]) == before
    assert crm.json("check")["integrity"] == "ok"


def test_the_bulk_load_functions_are_an_admins_and_cannot_commit_half_done(team: dict[str, Any]) -> None:
    import psycopg

    server, db = team["server"], team["db"]
    with psycopg.connect(server.libpq(db, team["login"]["wang"])) as con:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("SELECT crm_bulk_begin()")
    before = _schema_state(server, db)
    with psycopg.connect(server.libpq(db, "alice")) as con:
        con.execute("SELECT crm_bulk_begin()")
        assert con.execute("SELECT relrowsecurity FROM pg_class WHERE relname = 'customer'").fetchone() == (False,)
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="did not put its constraints"):
            con.commit()  # without crm_bulk_end: the deferred check refuses the commit
    assert _schema_state(server, db) == before
    with psycopg.connect(server.libpq(db, "alice")) as con:
        con.execute("SELECT crm_bulk_begin()")
        con.execute("SELECT crm_bulk_end()")
        con.commit()
    assert _schema_state(server, db) == before
    team["as"]("wang")


def test_change_set_numbers_have_no_gaps_and_follow_the_commits(crm: Crm, team: dict[str, Any], tmp_path: Any) -> None:
    """A command that failed or changed nothing uses no number (spec §18, as on SQLite)."""
    team["as"]("wang")
    a = crm.ok("add", "甲公司", "--phone", "13800000001").strip()  # 1
    crm.ok("edit", a, "--level", "key")  # 2
    crm.ok("edit", a, "--level", "key")  # changed nothing
    assert crm("add", "甲公司", "--phone", "13800000001").exit_code == 1  # a duplicate: rolled back
    assert crm("edit", "C209901999", "--level", "key").exit_code == 1  # no such customer
    sheet = tmp_path / "a.csv"
    sheet.write_text("客户名称,联系电话\n乙公司,13800000002\n", encoding="utf-8")
    dry = crm("import", str(sheet), "--dry-run")
    assert dry.exit_code == 0, dry.stderr  # a dry run: nothing
    crm.ok("import", str(sheet))  # 3
    crm.ok("follow", a, "--content", "电话沟通")  # 4
    out = crm.ok("undo")  # 5 takes back 4
    assert out.strip().endswith("as change 5"), out
    assert [s["id"] for s in crm.json("history")] == [5, 4, 3, 2, 1]
    team["as"]("li")
    crm.ok("add", "丙公司", "--phone", "13800000003")  # 6: one counter for the team
    assert [s["id"] for s in crm.json("history")] == [6]


def test_a_team_database_from_before_the_change_set_counter_still_writes(crm: Crm, team: dict[str, Any]) -> None:
    """Until an admin runs team init again, change sets are numbered by the sequence, as before."""
    import psycopg

    with psycopg.connect(team["server"].libpq(team["db"]), autocommit=True) as con:
        con.execute("ALTER TABLE change_set ALTER COLUMN id SET DEFAULT nextval(pg_get_serial_sequence('change_set', 'id'))")
        con.execute("DROP FUNCTION crm_change_number()")
    team["as"]("wang")
    a = crm.ok("add", "甲公司", "--phone", "13800000001").strip()
    crm.ok("follow", a, "--content", "电话沟通")
    assert crm.ok("undo").startswith("Undid change")
    ids = [s["id"] for s in crm.json("history")]
    assert len(ids) == 3 and all(i > 0 for i in ids) and ids == sorted(ids, reverse=True)
    team["admin"]()
    crm.ok("team", "init")  # puts the counter back, past the sequence's numbers
    team["as"]("wang")
    crm.ok("edit", a, "--level", "key")
    assert crm.json("history")[0]["id"] == ids[0] + 1


# What a team database made by the release before holds beyond the tables: the functions that gave
# PostgreSQL SQLite's habits (store/pg_schema.py, COMPAT, as it was), which the queries no longer use.
RELEASE_BEFORE_COMPAT = [
    """CREATE OR REPLACE FUNCTION crm_bool_eq_int(boolean, integer) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1 = ($2 <> 0)'""",
    """CREATE OR REPLACE FUNCTION crm_bool_ne_int(boolean, integer) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1 <> ($2 <> 0)'""",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = '=' AND oprleft = 'boolean'::regtype
                        AND oprright = 'integer'::regtype) THEN
           CREATE OPERATOR = (LEFTARG = boolean, RIGHTARG = integer, FUNCTION = crm_bool_eq_int);
           CREATE OPERATOR <> (LEFTARG = boolean, RIGHTARG = integer, FUNCTION = crm_bool_ne_int);
         END IF;
       END $$""",
    """CREATE OR REPLACE FUNCTION crm_bool_add(bigint, boolean) RETURNS bigint
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT COALESCE($1, 0) + CASE WHEN $2 THEN 1 ELSE 0 END'""",
    """CREATE OR REPLACE FUNCTION crm_bool_max(integer, boolean) RETURNS integer
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT GREATEST($1, CASE WHEN $2 THEN 1 WHEN $2 IS NOT NULL THEN 0 END)'""",
    """CREATE OR REPLACE FUNCTION crm_bool_same(boolean) RETURNS boolean
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT $1'""",
    # SQLite's two-argument MAX/MIN are scalar GREATEST/LEAST
    """CREATE OR REPLACE FUNCTION max(integer, integer) RETURNS integer
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT GREATEST($1, $2)'""",
    # SQLite's ROUND of a float, and substr of a date (an ISO text there)
    """CREATE OR REPLACE FUNCTION round(double precision, integer) RETURNS double precision
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT round($1::numeric, $2)::double precision'""",
    """CREATE OR REPLACE FUNCTION substr(date, integer, integer) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT substr(to_char($1, ''YYYY-MM-DD''), $2, $3)'""",
    """CREATE OR REPLACE FUNCTION min(integer, integer) RETURNS integer
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT LEAST($1, $2)'""",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
                        WHERE p.proname = 'sum' AND p.proargtypes[0] = 'boolean'::regtype) THEN
           CREATE AGGREGATE sum(boolean) (SFUNC = crm_bool_add, STYPE = bigint);
           CREATE AGGREGATE max(boolean) (SFUNC = crm_bool_max, STYPE = integer);
         END IF;
         IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = '+' AND oprleft = 0
                        AND oprright = 'boolean'::regtype) THEN
           CREATE OPERATOR + (RIGHTARG = boolean, FUNCTION = crm_bool_same);
         END IF;
       END $$""",
]



def test_a_team_database_made_before_keeps_working_and_team_init_retires_the_sqlite_habits(
    crm: Crm, team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    server, db = team["server"], team["db"]

    def habits() -> int:
        with psycopg.connect(server.libpq(db)) as con:
            return int(con.execute(
                "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname IN "
                "('crm_bool_eq_int', 'crm_bool_add', 'crm_bool_same', 'max', 'min', 'round', 'substr', 'sum')"
            ).fetchone()[0])  # fmt: skip

    assert habits() == 0  # a new team database has none of them
    with psycopg.connect(server.libpq(db), autocommit=True) as con:
        for statement in RELEASE_BEFORE_COMPAT:
            con.execute(statement)
    assert habits() == 9  # 3 of crm_bool_*, max and min (scalar), max and sum (aggregates), round, substr
    team["as"]("wang")
    mine = crm.ok("add", "云帆科技", "--phone", "13800000001", "--amount", "5万", "--expected-close", "2026-12-20").strip()
    crm.ok("follow", mine, "--content", "电话沟通")
    crm.ok("stage", mine, "won", "--amount", "50000")
    crm.ok("add", "星河贸易", "--phone", "13800000002", "--level", "key")
    team["admin"]()
    crm.ok("archive", crm.ok("add", "旧客户", "--phone", "13800000003").strip())
    reads = [("list", "--due"), ("report", "owners"), ("report", "funnel"), ("report", "trend"), ("report", "forecast"),
             ("report", "abc"), ("pool", "list"), ("list", "--archived"), ("deal", "list")]  # fmt: skip
    before = {args: crm.ok(*args, "--format", "json") for args in reads}
    crm.ok("team", "init")  # an admin runs it again after the upgrade: the habits go
    assert habits() == 0
    assert {args: crm.ok(*args, "--format", "json") for args in reads} == before
    team["as"]("wang")
    assert [r["code"] for r in crm.json("list")][:1] == [mine]
