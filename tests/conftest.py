"""A fresh database per test (CRM_DB under tmp_path), a frozen today, a fixed user and language."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

TODAY = dt.date(2026, 11, 26)


def _build_click_command_once() -> None:
    """Build the click command of a Typer app once per test session, not once per invocation.

    ``typer.testing.CliRunner.invoke`` rebuilds the whole click tree from the Typer app on every
    call (signatures, type hints, ~90 ms for crm's 50 commands): 85% of an in-process command's
    time in the suite. A real ``crm`` process builds it once too, so the tests lose nothing.
    """
    import functools

    import typer.testing

    typer.testing._get_command = functools.cache(typer.testing._get_command)  # type: ignore[attr-defined]


_build_click_command_once()


@pytest.fixture(autouse=True)
def crm_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = tmp_path / "data" / "crm.db"
    monkeypatch.setenv("CRM_DB", str(db))
    monkeypatch.setenv("CRM_TODAY", TODAY.isoformat())
    monkeypatch.setenv("CRM_USER", "alice")
    monkeypatch.setenv("CRM_LANG", "en")
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "crm.toml"))
    monkeypatch.delenv("CRM_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    from crmcli import i18n

    i18n.set_language("en")  # a command run in-process sets the language for the process: not the next test's
    yield db
    from crmcli import store

    store.dispose_all()
    i18n.set_language("en")


class Crm:
    """Runs ``crm`` in-process with CliRunner; stdout and stderr kept apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Any:
        from crmcli.cli import app

        return self.runner.invoke(app, list(args), input=input, catch_exceptions=False)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, f"crm {' '.join(args)} -> {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return str(result.stdout)

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))


@pytest.fixture
def crm() -> Crm:
    return Crm()


# --------------------------------------------------------------------------- PostgreSQL (spec §16)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A throwaway PostgreSQL server for the whole session; the test is skipped without one."""
    from bench import pg_server as pg

    reason = pg.why_not()
    if reason:
        pytest.skip(reason)
    server = pg.Server()
    server.start()
    with server.admin() as con:  # the tests' acting user (CRM_USER=alice) is a login here
        con.execute("CREATE ROLE alice LOGIN SUPERUSER")
    try:
        # the template: the current schema, created once by the program itself
        server.template = server.new_database()  # type: ignore[attr-defined]
        from crmcli import store

        store.open_store(server.url(server.template)).init()  # type: ignore[attr-defined]
        store.dispose_all()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database for this test (from the template), as CRM_DB; yields its URL."""
    name = pg_server.new_database(pg_server.template)
    url = pg_server.url(name, "alice")
    monkeypatch.setenv("CRM_DB", url)
    pg_server.current = name
    yield url
    from crmcli import store

    store.dispose_all()
    pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, crm_env: Path) -> str:
    """Run the test on both databases: CRM_DB is the file, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_url")
    return str(request.param)
