"""``crm check`` on PostgreSQL (spec §16): the revision, every customer table's row-level
security (enabled, ``FORCE``d, with policies) in a team database, and the record counts.

PostgreSQL enforces foreign keys and checks its own pages, so those parts of the SQLite check
have nothing to find here; the answer has the same shape (``sqlite_check.CheckResult``).
"""

from __future__ import annotations

from typing import Any

from crmcli.i18n import gettext as _
from crmcli.store import postgres, schema


def check(store: Any) -> Any:
    from crmcli.store import pg_team
    from crmcli.store.sqlite_check import COUNTED, CheckResult

    con = postgres.connect(store.url, store.busy_timeout)
    try:
        postgres.check_member(con, store.url)
        revision = postgres.stored_revision(con)
        state = "missing" if revision is None else "current" if revision == schema.HEAD else "newer" if revision not in schema.REVISIONS else "older"
        size = int(con.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        result = CheckResult(database=postgres.masked(store.url), size=size, revision=revision, schema=state)  # type: ignore[arg-type]
        if revision is None:
            return result
        if con.execute("SELECT to_regclass('team_user') IS NOT NULL").fetchone()[0]:
            rows = con.execute(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT count(*) FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY (%s)",
                (list(pg_team.POLICED),),
            ).fetchall()
            seen = {r[0] for r in rows}
            for name in pg_team.POLICED:
                if name not in seen:
                    result.integrity.append(_("table {name} is missing").format(name=name))
            for name, enabled, forced, policies in rows:
                if not enabled or not forced:
                    result.integrity.append(_("table {name}: row-level security is not {value}").format(name=name, value='enabled' if not enabled else 'FORCEd'))
                elif not policies:
                    result.integrity.append(_("table {name}: no policies (nobody but an admin sees a row)").format(name=name))
        for key, table in COUNTED:
            result.counts[key] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        return result
    finally:
        con.close()
