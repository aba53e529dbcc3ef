"""``crm db copy``: move a one-person SQLite file into a team's PostgreSQL database (spec §16).

Every table is copied with its ids in one transaction of the target, owners renamed to logins
(``--owner 张伟=zhangwei``; a name that already is a team login needs no mapping), and the counts
of every table compared before the commit: all or nothing. The target must have been through
``team init`` with its users added, and hold no customers yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, login = pair.partition("=")
        if not sep or not name.strip() or not login.strip():
            raise UsageError(N_("{owner} {pair}: write NAME=LOGIN (张伟=zhangwei)"), options=["owner"], pair=pair)
        out[name.strip()] = login.strip()
    return out


def copy(source: Path, target: Any, mapping: dict[str, str]) -> dict[str, int]:
    """Copy ``source`` (a database file) into ``target`` (a PostgresStore); the counts per table.

    Each table is streamed from the file and written with ``COPY`` (``store/pg_copy.py``), in
    one transaction, the way pg_restore loads: into bare tables whose indexes and constraints
    are built (and validated) once afterwards (``store/pg_bulk.py``); owners (and the users of
    the change log) are renamed to logins, and every count is compared before the commit.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from crmcli.models import SQLModel
    from crmcli.services import team
    from crmcli.store import pg_bulk, pg_copy, sqlite

    if not source.exists():
        raise CrmError(N_("{from} {source}: no such database file"), options=["from"], source=source)
    src = sqlite.get_engine(source)  # creates nothing: migrates an older file first
    tables = [t for t in SQLModel.metadata.sorted_tables]
    counts: dict[str, int] = {}  # the file's
    stored: dict[str, int] = {}  # what the server says it stored (COPY's count)
    with target.write(log=False) as dst:
        team.require_team(dst)
        if not dst.execute(text("SELECT crm_is_admin()")).scalar():
            raise CrmError(N_("only a team admin may copy a database in"))
        if dst.execute(text("SELECT count(*) FROM customer")).scalar():
            raise CrmError(N_("{display} already holds customers: db copy goes into a new team database; nothing was copied"), display=target.display)
        logins = {r[0] for r in dst.execute(text("SELECT login FROM team_user WHERE active"))}
        with sqlite.read_connection(src) as s:
            owners = {o for (o,) in s.execute(text("SELECT owner FROM customer UNION SELECT owner FROM deal")) if o}
            unknown = sorted(o for o in owners if mapping.get(o, o) not in logins)
            if unknown:
                raise CrmError(N_("owner {value} is not a team login: map it with {owner} '{value}=LOGIN' ({unknown} unmapped: {value2}); nothing was copied"), options=["owner"], value=unknown[0], unknown=len(unknown), value2=', '.join(unknown[:5]))
            raw: Any = s.connection.driver_connection
            dbapi: Any = dst.connection.driver_connection
            # text as the file's UTF-8 bytes, sent as they are (pg_copy.raw_text), when it can
            as_bytes = pg_copy.raw_text()
            names: dict[Any, Any] = {k.encode(): v.encode() for k, v in mapping.items()} if as_bytes else mapping
            factory = raw.text_factory
            pg_bulk.begin(dst)
            try:
                if as_bytes:
                    raw.text_factory = bytes
                for table in tables:
                    cols = [c.name for c in table.columns]
                    cur = raw.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM {table.name}")
                    rename: dict[str, dict[Any, Any]] = {c: names for c in ("owner", "user") if c in cols}
                    stored[table.name] = pg_copy.copy_rows(dbapi, table.name, cols, cur, rename=rename)
                    counts[table.name] = int(raw.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
            finally:
                raw.text_factory = factory
            try:
                pg_bulk.end(dst)
            except IntegrityError as exc:  # a key that the file broke: a follow-up of no customer
                why = str(getattr(exc, "orig", exc)).splitlines()[0]
                raise CrmError(N_("{from} {source}: its records do not hold together ({why}); nothing was copied"), options=["from"], source=source, why=why) from None
        for table in tables:
            got = stored[table.name]
            if got != counts[table.name]:
                raise CrmError(N_("{name}: copied {got} rows of {value}; nothing was copied"), name=table.name, got=got, value=counts[table.name])
            if "id" in table.c and counts[table.name]:
                dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"))
    return counts
