"""crm.toml is checked against one declaration of its keys: a bad value or an unknown key is one
line naming the file, the key and the value (exit 1), never silently ignored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Crm


@pytest.mark.parametrize(
    ("toml", "key", "value"),
    [
        ('[cadence]\nkey = "三"\n', "cadence.key", '"三"'),
        ("[cadence]\nnormal = -5\n", "cadence.normal", "-5"),
        ("[cadence]\npotential = 0\n", "cadence.potential", "0"),
        ("[cadence]\nkey = 2.5\n", "cadence.key", "2.5"),
        ("[cadence]\nkey = true\n", "cadence.key", "true"),
        ('[cadence]\nvip = 3\n', "cadence.vip", "3"),
        ('langg = "zh"\n', "langg", '"zh"'),
        ('lang = "fr"\n', "lang", '"fr"'),
        ("[probability]\nintent = 30\n", "probability.intent", "30"),
        ('busy_timeout = "30s"\n', "busy_timeout", '"30s"'),
        ("cadence = 7\n", "cadence", "7"),
        ('user = ""\n', "user", '""'),
        ('[ticket_types]\n"物流延迟" = 3\n', "ticket_types.物流延迟", "3"),
    ],
)
def test_bad_config_is_one_line_naming_file_key_and_value(
    crm: Crm, tmp_path: Path, toml: str, key: str, value: str
) -> None:
    conf = tmp_path / "crm.toml"  # CRM_CONFIG points here (conftest)
    conf.write_text(toml, encoding="utf-8")
    result = crm("add", "甲公司", "--phone", "13800000001")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(conf) in lines[0] and f"{key} = {value}" in lines[0], lines[0]
    assert not (tmp_path / "data" / "crm.db").exists()  # nothing written


def test_good_config_is_applied(crm: Crm, tmp_path: Path) -> None:
    (tmp_path / "crm.toml").write_text(
        'busy_timeout = 5\n[cadence]\nkey = 3\n[probability]\nintent = 0.5\n[ticket_types]\n"物流慢" = "物流时效"\n',
        encoding="utf-8",
    )
    from crmcli.settings import load

    settings = load()
    assert settings.busy_timeout == 5.0
    assert settings.cadence == {"key": 3, "normal": 14, "potential": 30}
    assert settings.probability["intent"] == 0.5
    assert settings.ticket_aliases["物流慢"] == "物流时效"


def test_every_documented_key_is_declared() -> None:
    """The README's config table and the declaration name the same keys."""
    from crmcli.settings import CONFIG

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:config -->")[1].split("<!-- section:")[0]
    for key in CONFIG:
        table, _, sub = key.partition(".")
        assert f"`{table}`" in section or f"`[{table}]`" in section, key
        if sub and sub != "*":
            assert f"`{sub}`" in section, key


def _run(args: list[bytes | str], env_db: Path) -> subprocess.CompletedProcess[bytes]:
    import os
    import sys

    env = {**os.environ, "CRM_DB": str(env_db), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "crmcli", *args], env=env, capture_output=True)


def test_arguments_typed_on_a_gbk_terminal_are_decoded(tmp_path: Path) -> None:
    """A UTF-8 locale, a GBK terminal: the bytes arrive surrogate-escaped and are read as GB18030."""
    import json

    db = tmp_path / "gbk.db"
    added = _run([b"add", "星辰贸易".encode("gbk"), b"--phone", b"13800000001", b"--need", "报价单".encode("gbk")], db)
    assert added.returncode == 0, added.stderr.decode()
    shown = _run([b"show", "星辰".encode("gbk"), b"--format", b"json"], db)
    assert shown.returncode == 0, shown.stderr.decode()
    card = json.loads(shown.stdout)
    assert (card["name"], card["need"]) == ("星辰贸易", "报价单")
    history = _run([b"history", b"--format", b"json"], db)
    assert "星辰贸易" in json.loads(history.stdout)[0]["command"]


def test_arguments_in_no_known_encoding_are_refused(tmp_path: Path) -> None:
    refused = _run([b"add", b"\xff\xfe\xff", b"--phone", b"13800000001"], tmp_path / "x.db")
    err = refused.stderr.decode("utf-8", "replace")
    assert refused.returncode == 2, err
    assert "UTF-8" in err and "unexpected" not in err and "Traceback" not in err


def test_decode_directly() -> None:
    import os

    from crmcli.cli.argv import decode
    from crmcli.errors import UsageError

    escaped = os.fsdecode("客户".encode("gb18030")) if os.fsencode("\udcbf") == b"\xbf" else None
    if escaped is None:
        pytest.skip("filesystem encoding is not UTF-8 with surrogateescape")
    assert escaped != "客户" and decode(escaped) == "客户"
    assert decode("plain 文本") == "plain 文本"
    with pytest.raises(UsageError, match="UTF-8"):
        decode(os.fsdecode(b"\xff"))


def test_times_shown_to_people_are_local_and_json_keeps_the_offset(crm: Crm, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        src = tmp_path / "a.csv"
        src.write_text("客户名称,联系电话\nX公司,13900000002\n", encoding="utf-8")
        crm.ok("import", str(src))
        stored = json.loads(crm.ok("imports", "--format", "json"))[0]["started_at"]
        import datetime as dt

        assert dt.datetime.fromisoformat(stored).tzinfo is not None  # the JSON keeps ISO 8601 with its offset

        local = dt.datetime.fromisoformat(stored).astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
        table = crm.ok("imports")
        assert local in table and stored not in table
        assert local in crm.ok("history")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_options_that_mean_nothing_alone_are_usage_errors(crm: Crm, tmp_path: Path) -> None:
    crm.ok("add", "甲公司", "--phone", "13800000001")
    for args, flag in (
        (["list", "--within", "3"], "--within goes with --due"),
        (["stage", "甲公司", "intent", "--reason", "x"], "--reason goes with stage lost"),
        (["stage", "甲公司", "intent", "--amount", "5千"], "--amount goes with stage won"),
        (["import", "--undo", "1", "--dry-run"], "--dry-run goes with importing a FILE"),
        (["import", "--undo", "1", "--on-duplicate", "update"], "--on-duplicate goes with importing a FILE"),
        (["export", str(tmp_path / "t.xlsx"), "--template", "--stage", "won"], "--stage goes with an export"),
        (["report", "funnel", "--xlsx", str(tmp_path / "r.xlsx"), "--format", "json"], "--format goes with printing"),
        (["merge", "--undo", "1", "--dry-run"], "--dry-run goes with a merge"),
    ):
        result = crm(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.strip().splitlines() == [f"Error: {result.stderr.strip()[7:]}"] and flag in result.stderr, args
    assert crm.json("list", "--due", "--within", "3")[0]["name"] == "甲公司"
    assert crm.json("show", "甲公司")["stage"] == "potential"  # nothing written by the refused stage
