"""A PostgreSQL database (team mode, spec §16): the same interface as ``SqliteStore``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcli.errors import CrmError
from crmcli.i18n import N_

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from crmcli.store.reader import Reader


class PostgresStore:
    """One PostgreSQL database, shared by a team; who sees what is the database's business."""

    kind = "postgresql"

    def __init__(self, url: str, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.busy_timeout = busy_timeout

    @property
    def display(self) -> str:
        from crmcli.store import postgres

        return postgres.masked(self.url)

    @property
    def engine(self) -> Engine:
        from crmcli.store import postgres

        return postgres.get_engine(self.url, self.busy_timeout)

    def exists(self) -> bool:
        return True

    @contextmanager
    def write(
        self, *, user: str | None = None, command: str | None = None, log: bool = True, kind: str = "edit"
    ) -> Iterator[Connection]:
        """One write transaction; with ``log``, one change set of the change log (``pg_changelog``)."""
        from crmcli.store import pg_changelog, postgres

        with postgres.write_connection(self.engine) as conn:
            postgres.check_member(conn.connection.driver_connection, self.url)
            if kind == "undo":  # an undo may put a whole import back: one at a time, as imports
                postgres.exclusive(conn)
            if not log:
                yield conn
                return
            set_id = pg_changelog.begin(conn, user=user, command=command, kind=kind)
            conn.info["change_set"] = set_id
            try:
                yield conn
            finally:
                set_id = conn.info.pop("change_set", set_id)  # numbered already if the command asked
            pg_changelog.end(conn, set_id)

    @contextmanager
    def bulk_write(self) -> Iterator[Any]:
        """One write transaction on a psycopg connection alone, for a bulk load (``db copy``):
        committed when the block ends without an error, else rolled back. No SQLAlchemy (its
        import and our models' take 0.3 s, a tenth of what ``db copy`` does beside the server);
        the same checks as ``write``: a team user, the schema at its revision (else created or
        migrated first, through the engine), the busy timeout as ``lock_timeout``."""
        with self._checked() as con:
            con.execute(f"SET lock_timeout = {int(max(self.busy_timeout, 0.001) * 1000)}")
            yield con
            con.commit()  # else closed without it: rolled back

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """One read-only snapshot through psycopg alone (no SQLAlchemy)."""
        from crmcli.store.dialect import POSTGRES
        from crmcli.store.reader import Reader

        with self._checked() as con:
            con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield Reader(con, POSTGRES)

    @contextmanager
    def _checked(self) -> Iterator[Any]:
        """A psycopg connection of a team user to a schema at its revision (else created or
        migrated first, through the engine, or refused saying why), outside any transaction;
        closed at the end."""
        from crmcli.store import postgres, schema

        con = postgres.connect(self.url, self.busy_timeout)
        try:
            postgres.check_member(con, self.url)
            if postgres.stored_revision(con) != schema.HEAD:
                con.rollback()
                self.engine  # noqa: B018 - creates or migrates the schema (or says why not)
            con.rollback()
            yield con
        finally:
            con.close()

    def init(self) -> bool:
        from crmcli.store import postgres

        con = postgres.connect(self.url, self.busy_timeout)
        try:
            existed = postgres.stored_revision(con) is not None
        finally:
            con.close()
        self.engine  # noqa: B018
        return not existed

    def backup(self, dest: Path | None, *, now: dt.datetime) -> Path:
        raise CrmError(N_("crm backup works on a database file; back up a PostgreSQL database with pg_dump -Fc"))

    def restore(self, source: Path, *, now: dt.datetime) -> Any:
        raise CrmError(N_("crm restore works on a database file; restore a PostgreSQL database with pg_restore"))

    def check(self) -> Any:
        from crmcli.store import pg_check

        return pg_check.check(self)
