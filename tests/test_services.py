"""The services called directly, as a Python API (not through the CLI): a store, a write, a read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crmcli import fields
from crmcli.errors import Ambiguous, CrmError, Duplicate, NoMatch, ParseError
from crmcli.services import custom_fields, customers, followups, pipeline
from crmcli.services import customer_query as cq
from crmcli.services import history as hist
from crmcli.store import SqliteStore
from crmcli.store.reader import Reader
from tests.conftest import Crm

TODAY = dt.date(2026, 11, 26)
CADENCE = {"key": 7, "normal": 14, "potential": 30}


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "api.db")


def _add(store: SqliteStore, name: str, phone: str, **extra: str) -> dict:
    with store.write(user="api", command="test") as conn:
        values = customers.build_fields({"name": name, "phone": phone, **extra}, today=TODAY)
        return customers.add(conn, values, user="api", today=TODAY)


def test_add_resolve_and_select(store: SqliteStore) -> None:
    a = _add(store, "云帆科技有限公司", "13857112345", level="重点")
    _add(store, "云帆物流", "13857199999")
    with pytest.raises(Duplicate):
        _add(store, "云帆科技有限公司", "+86 138 5711 2345")
    with store.read() as reader:
        assert cq.resolve(reader, a["code"])["id"] == a["id"]
        assert cq.resolve(reader, "138-5711-2345")["id"] == a["id"]
        with pytest.raises(Ambiguous):
            cq.resolve(reader, "云帆")
        with pytest.raises(NoMatch):
            cq.resolve(reader, "星辰")
        sql, params = cq.select(reader.dialect, cadence=CADENCE, filters=cq.Filters(level=["key"]))
        rows = list(cq.records(reader, sql, params))
        assert [r["code"] for r in rows] == [a["code"]] and rows[0]["level"] == "key"
        due_sql, due_params = cq.select(reader.dialect, cadence=CADENCE, due=cq.Due(TODAY))
        assert len(list(cq.records(reader, due_sql, due_params))) == 2  # never followed up: due from creation


def test_follow_ups_move_the_next_date_and_history_takes_them_back(store: SqliteStore) -> None:
    a = _add(store, "甲公司", "13800000001")
    with store.write(user="api", command="follow") as conn:
        followups.add_follow_up(conn, a, content="电话", on=TODAY, next_date=TODAY + dt.timedelta(days=3))
        set_id = conn.info["change_set"]
    with store.read() as reader:
        assert cq.card(reader, a["id"], cadence=CADENCE)["next_follow_at"] == "2026-11-29"
        plan = hist.plan(reader, set_id)
        assert [s["op"] for s in plan.steps] == ["insert"] and not plan.conflicts
    with store.write(user="api", command="undo", kind="undo") as conn:
        hist.apply(conn, hist.plan(Reader.over(conn), set_id, current=conn.info["change_set"]))
    with store.read() as reader:
        rec = cq.card(reader, a["id"], cadence=CADENCE)
        assert rec["follow_ups"] == [] and rec["next_follow_at"] == rec["created_at"]
        sets = hist.history(reader, customer_id=a["id"])
        assert [s["kind"] for s in sets] == ["undo", "edit", "edit"] and sets[1]["undone"] is True


def test_stage_rules(store: SqliteStore) -> None:
    a = _add(store, "甲公司", "13800000001")
    with store.write() as conn:
        with pytest.raises(CrmError):
            pipeline.change_stage(conn, a, "lost", on=TODAY)  # a reason is required
        moved = pipeline.change_stage(conn, a, "won", on=TODAY, amount=1000.0)
        assert moved == {"from": "potential", "to": "won", "deal": 1000.0, "deal_code": "O202611001"}
        pipeline.change_stage(conn, a, "lost", on=TODAY, reason="预算")
        fixed = pipeline.change_stage(conn, a, "lost", on=TODAY, reason="价格")
        assert fixed["reason_corrected"] is True


def test_custom_field_values_are_canonical(store: SqliteStore) -> None:
    with store.write() as conn:
        tier, _ = custom_fields.add(conn, "tier", label="分层", type_="choice", choices=["金牌", "银牌"])
        budget, _ = custom_fields.add(conn, "budget", label="预算", type_="money")
        when, _ = custom_fields.add(conn, "since", label="开始", type_="date")
    assert custom_fields.parse_value(tier, " 金牌 ", TODAY) == "金牌"
    assert custom_fields.parse_value(budget, "1.5万", TODAY) == "15000"
    assert custom_fields.parse_value(budget, 12.5, TODAY) == "12.5"
    assert custom_fields.parse_value(when, "5月8日", TODAY) == "2026-05-08"
    assert custom_fields.parse_value(tier, "-", TODAY) is None  # an empty marker
    with pytest.raises(ParseError, match="tier"):
        custom_fields.parse_value(tier, "铜牌", TODAY)
    assert budget.typed("15000") == 15000 and budget.typed("12.5") == 12.5
    with store.read() as reader:
        assert [f.key for f in custom_fields.definitions(reader)] == ["tier", "budget", "since"]
    assert fields.label("code", "zh") == "客户编号" and fields.enum_of("last_method") == "method"


def test_services_name_options_by_parameter_and_only_the_cli_shows_flags(crm: Crm) -> None:
    """A service error names the option it is about as ``{name}``: plain words to a Python caller,
    the command's flag on the command line."""
    from crmcli.errors import UsageError
    from crmcli.services import customer_query

    with pytest.raises(UsageError) as caught:
        customer_query._order("nosuch")
    assert str(caught.value).startswith("sort nosuch: choose one of ")
    assert caught.value.on_command_line().startswith("--sort nosuch: choose one of ")
    assert "{" not in str(caught.value) and "--" not in str(caught.value)

    crm.ok("add", "甲公司", "--phone", "13800000001")
    result = crm("list", "--sort", "nosuch")
    assert result.exit_code == 2 and result.stderr.startswith("Error: --sort nosuch: choose one of "), result.stderr
    result = crm("deal", "add", "甲公司", "--name", " ")
    assert result.exit_code == 2 and result.stderr == "Error: --name is empty (机会名称)\n", result.stderr
