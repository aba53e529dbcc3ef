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
    Neither side goes through SQLAlchemy (``PostgresStore.bulk_write``, the file's reader).
    """
    from crmcli.store import SqliteStore, pg_copy

    if not source.exists():
        raise CrmError(N_("{from} {source}: no such database file"), options=["from"], source=source)
    with target.bulk_write() as dst:
        logins = pg_copy.target_logins(dst, target.display)
        with SqliteStore(source).read() as reader:  # migrates an older file first; one snapshot
            src = reader.connection
            owners = {o for (o,) in src.execute("SELECT owner FROM customer UNION SELECT owner FROM deal") if o}
            unknown = sorted(o for o in owners if mapping.get(o, o) not in logins)
            if unknown:
                raise CrmError(N_("owner {value} is not a team login: map it with {owner} '{value}=LOGIN' ({unknown} unmapped: {value2}); nothing was copied"), options=["owner"], value=unknown[0], unknown=len(unknown), value2=', '.join(unknown[:5]))
            try:
                counts, stored = pg_copy.load_file(src, dst, mapping)
            except pg_copy.BrokenKeys as exc:  # a key that the file broke: a follow-up of no customer
                raise CrmError(N_("{from} {source}: its records do not hold together ({why}); nothing was copied"), options=["from"], source=source, why=exc.why) from None
        for table, n in counts.items():
            if stored[table] != n:
                raise CrmError(N_("{name}: copied {got} rows of {value}; nothing was copied"), name=table, got=stored[table], value=n)
    return counts
