"""Team mode (spec §16): users and the pool, through the database's own definer functions.

The rules live in PostgreSQL (``store/pg_team.py``, ``store/pg_pool.py``) so that no client can
step around them; these functions only call them and shape the answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_

SETTINGS = ("pool.days", "pool.days.key", "pool.days.normal", "pool.days.potential", "pool.reclaim_days", "pool.max_customers")


def text(sql: str) -> Any:
    """SQLAlchemy's ``text``, imported when a team command writes (``list --due`` reads without it)."""
    from sqlalchemy import text as sql_text

    return sql_text(sql)


def require_team(conn: Any) -> None:
    from crmcli import store

    state = store.team_state(conn)
    if state == "file":
        raise CrmError(N_("team mode needs a shared PostgreSQL database: {db} postgresql+psycopg://HOST/DB (see README, Team mode)"), options=["db"])
    if state != "team":
        raise CrmError(N_("this database is not set up for a team yet: an admin runs crm team init"))


def init(conn: Any) -> None:
    from crmcli import store
    from crmcli.store import pg_team

    if store.team_state(conn) == "file":
        require_team(conn)
    pg_team.install(conn)


def add_user(conn: Any, login: str, *, name: str, role: str, team: str | None) -> None:
    require_team(conn)
    if role not in ("rep", "manager", "admin"):
        raise UsageError(N_("{role} {value}: choose rep, manager or admin"), options=["role"], value=role)
    conn.execute(text("SELECT crm_user_add(:l, :n, :r, :t)"), {"l": login, "n": name, "r": role, "t": team})


def users(reader: Any) -> list[dict[str, Any]]:
    rows = reader.all(
        "SELECT u.login, u.name, u.role, u.team, u.active, (SELECT count(*) FROM customer c WHERE c.owner = u.login) "
        "FROM team_user u ORDER BY u.active DESC, u.role, u.login"
    )
    return [{"login": r[0], "name": r[1], "role": r[2], "team": r[3], "active": bool(r[4]), "customers": int(r[5])} for r in rows]


def remove_user(conn: Any, login: str, *, to: str | None) -> int:
    require_team(conn)
    return int(conn.execute(text("SELECT crm_user_remove(:l, :t)"), {"l": login, "t": to}).scalar_one())


def set_setting(conn: Any, key: str, value: str) -> None:
    require_team(conn)
    if key not in SETTINGS:
        raise UsageError(N_("{key}: choose one of {settings}"), key=key, settings=', '.join(SETTINGS))
    if not value.isdigit():
        raise UsageError(N_("{key} {value}: a whole number of days or customers (0: no limit)"), key=key, value=value)
    if not conn.execute(text("SELECT crm_is_admin()")).scalar():
        raise CrmError(N_("only a team admin may change team settings"))
    conn.execute(
        text("INSERT INTO team_setting (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"),
        {"k": key, "v": value},
    )


def pool(reader: Any) -> list[dict[str, Any]]:
    rows = reader.all(
        "SELECT code, name, level, stage, created_at, last_follow_at FROM customer "
        "WHERE owner IS NULL AND archived = FALSE ORDER BY created_at, id"
    )
    keys = ("code", "name", "level", "stage", "created_at", "last_follow_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def claim(conn: Any, code: str, today: dt.date) -> str:
    require_team(conn)
    return str(conn.execute(text("SELECT crm_pool_claim(:c, :d)"), {"c": code, "d": today}).scalar_one())


def release(conn: Any, code: str, today: dt.date) -> str:
    require_team(conn)
    return str(conn.execute(text("SELECT crm_pool_release(:c, :d)"), {"c": code, "d": today}).scalar_one())


def assign(conn: Any, code: str, login: str, today: dt.date) -> str:
    require_team(conn)
    return str(conn.execute(text("SELECT crm_pool_assign(:c, :l, :d)"), {"c": code, "l": login, "d": today}).scalar_one())


def at_risk(reader: Any, today: dt.date) -> list[dict[str, Any]]:
    """The acting user's customers that the next pool sweep takes (not followed up for their days
    by ``today``), oldest first; none outside team mode or on a team database made before this."""
    from crmcli import store

    rows = store.pool_at_risk(reader, today)
    return [{"code": r[0], "since": str(r[1]), "days": int(r[2])} for r in rows]


def sweep(conn: Any, *, days: int | None, today: dt.date, dry_run: bool) -> list[dict[str, Any]]:
    require_team(conn)
    rows = conn.execute(
        text("SELECT code, owner, since FROM crm_pool_sweep(:n, :d, :dry)"), {"n": days, "d": today, "dry": dry_run}
    ).all()
    return [{"code": r[0], "owner": r[1], "since": r[2].isoformat() if r[2] else None} for r in rows]
