"""Values given on the command line: numbers within bounds, filters that are not blank (spec §10).

A number out of its option's range, and a filter value that is blank or normalises to empty,
are usage errors (exit 2) with one ``Error:`` line naming the option; nothing is written and
nothing is listed. Before, a huge --limit/--within/--undo ended in "unexpected OverflowError"
and a blank --tag/--owner/--search was dropped, so every customer matched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from crmcli.cli import app
from crmcli.cli._common import Bounded
from tests.conftest import Crm
from tests.reliability_support import counts


def numeric_params() -> list[tuple[str, list[str], str]]:
    """(command, its required arguments as placeholders, option) for every int/float parameter."""
    out = []
    for name, cmd in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        required = [p for p in cmd.params if isinstance(p, typer.core.TyperArgument) and p.required]
        for p in cmd.params:
            if p.type_descriptor.annotation in (int, float):
                # an argument (undo CHANGE) is named by its metavar in messages and given bare
                option = p.metavar if isinstance(p, typer.core.TyperArgument) else max(p.opts, key=len)
                out.append((name, ["abc" if name == "report" else "x" for _ in required], option))
    return out


def given(option: str, value: str) -> list[str]:
    return [option, value] if option.startswith("--") else [value]


NUMERIC = numeric_params()


def test_the_numeric_options_are_found() -> None:
    assert {(c, o) for c, _, o in NUMERIC} >= {("list", "--limit"), ("list", "--within"), ("import", "--undo"), ("report", "--a"), ("report", "--b")}


@pytest.mark.parametrize(("command", "args", "option"), NUMERIC, ids=[f"{c} {o}" for c, _, o in NUMERIC])
def test_every_numeric_option_has_a_bound(command: str, args: list[str], option: str) -> None:
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    param = next(p for p in cmd.params if option in p.opts or option == p.metavar)
    assert isinstance(param.type_descriptor.parameter_info.parser, Bounded)


@pytest.mark.parametrize(("command", "args", "option"), NUMERIC, ids=[f"{c} {o}" for c, _, o in NUMERIC])
def test_out_of_range_is_a_usage_error(crm: Crm, crm_env: Path, command: str, args: list[str], option: str) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    before = counts(crm_env)
    for value in ("99999999999999999999", "-99999999999999999999", "1e400", "nan", "9" * 5000):
        if value.startswith("-") and not option.startswith("--"):
            continue  # a bare "-9..." is an option to any command line parser
        result = crm(command, *args, *given(option, value))
        assert result.exit_code == 2, (value, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and option in errors[0], result.stderr
        assert "allowed" in errors[0] or "not a" in errors[0]
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr and result.stdout == ""
        assert value[:20] in errors[0]
    assert counts(crm_env) == before


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["list", "--limit", "99999999999999999999"], "0 to 1,000,000,000"),
        (["list", "--due", "--within", "99999999"], "0 to 36,500"),
        (["import", "--undo", "99999999999999999999"], "1 to 9,223,372,036,854,775,807"),
        (["import", "--undo", "0"], "1 to"),
        (["report", "abc", "--a", "1e400"], "0 to 1"),
        (["report", "abc", "--b", "-0.5"], "0 to 1"),
        (["list", "--limit", "ten"], "not a whole number"),
    ],
)
def test_the_message_names_option_value_and_range(crm: Crm, args: list[str], shown: str) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    result = crm(*args)
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert args[-2] in line and args[-1] in line and shown in line, line


def test_values_in_range_still_work(crm: Crm) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    assert len(crm.json("list", "--limit", "1000000000")) == 1
    assert len(crm.json("list", "--limit", "0")) == 0
    assert len(crm.json("list", "--due", "--within", "36500")) == 1
    assert crm.json("report", "abc", "--a", "0.5", "--b", "1")["report"] == "abc"
    assert crm("import", "--undo", "9223372036854775807").exit_code == 1  # in range, but no such batch


@pytest.mark.parametrize("amount", ["1e400", "99999999999999999999999", "1e15", "9e9999", "inf", "nan", "1.0e16万"])
def test_huge_amounts_are_refused_in_one_line(crm: Crm, crm_env: Path, amount: str) -> None:
    code = crm.ok("add", "甲公司", "--phone", "13800000001").strip()
    before = counts(crm_env)
    for args in (["add", "乙公司", "--phone", "13800000002", "--amount", amount], ["edit", code, "--amount", amount],
                 ["stage", code, "won", "--amount", amount]):  # fmt: skip
        result = crm(*args)
        assert result.exit_code == 1 and result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ") and "amount" in result.stderr
        assert counts(crm_env) == before


# --------------------------------------------------------------------------- blank filters

BLANKS = ["", " ", "   ", "\t", "\u3000", "-", "—", "N/A", "无", "/", "\u200b", "\u200e\u2063"]
TEXT_FILTERS = ["--tag", "--owner", "--source", "--industry", "--stage", "--level", "--search", "--since", "--until"]


def _one_usage_error(result: Any, option: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and option in errors[0], result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("option", TEXT_FILTERS)
def test_a_blank_filter_is_a_usage_error_in_list(crm: Crm, option: str) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001", "--tag", "vip", "--owner", "bob")
    for blank in BLANKS:
        _one_usage_error(crm("list", option, blank), option)
        _one_usage_error(crm("list", "--due", option, blank), option)


@pytest.mark.parametrize("option", TEXT_FILTERS)
def test_a_blank_filter_is_a_usage_error_in_export(crm: Crm, tmp_path: Path, option: str) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    for blank in ("", " ", "-"):
        _one_usage_error(crm("export", "-", option, blank), option)
        _one_usage_error(crm("export", str(tmp_path / "x.csv"), option, blank), option)
        assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("option", ["--owner", "--since", "--until"])
def test_a_blank_filter_is_a_usage_error_in_report(crm: Crm, option: str) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    for blank in ("", " ", "-"):
        _one_usage_error(crm("report", "owners", option, blank), option)


def test_a_blank_among_several_values_is_refused_too(crm: Crm) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001", "--owner", "bob")
    _one_usage_error(crm("list", "--owner", "bob", "--owner", "-"), "--owner")


def test_real_filter_values_still_filter(crm: Crm) -> None:
    a = crm.ok("add", "甲公司", "--phone", "13800000001", "--tag", "vip", "--owner", "bob", "--source", "展会").strip()
    crm.ok("add", "乙公司", "--phone", "13800000002")
    assert [c["code"] for c in crm.json("list", "--tag", " vip ")] == [a]
    assert [c["code"] for c in crm.json("list", "--owner", "bob")] == [a]
    assert [c["code"] for c in crm.json("list", "--search", "甲")] == [a]
    assert crm.ok("export", "-", "--source", "展会").count("\n") == 2
    assert crm.json("report", "owners", "--owner", "bob")["rows"][0]["owner"] == "bob"


def test_the_service_refuses_blank_filter_values_too() -> None:
    """For callers of the Python API: a blank value is an error there as well, never dropped."""
    import datetime as dt

    from crmcli.errors import CrmError
    from crmcli.services.customer_query import build_filters

    for kw in ({"tag": [" "]}, {"owner": ["-"]}, {"source": ["N/A"]}, {"industry": [""]}, {"search": "  "}, {"since": ""}):
        with pytest.raises(CrmError):
            build_filters(**kw, today=dt.date(2026, 11, 26))  # type: ignore[arg-type]
    assert build_filters(tag=["vip"], search="甲", today=dt.date(2026, 11, 26)).tag == ["vip"]
