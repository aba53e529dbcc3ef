"""Settings from flag > environment > TOML config file > default (spec §1)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from crmcli.errors import CrmError, UsageError

APP_NAME = "crmcli"
DEFAULT_CADENCE = {"key": 7, "normal": 14, "potential": 30}
DEFAULT_PROBABILITY = {"potential": 0.1, "intent": 0.3, "negotiating": 0.6}
# Ticket types that group with another (spec §15; config table [ticket_types]: 物流延迟 = "物流时效").
DEFAULT_TICKET_ALIASES = {"物流延迟": "物流时效", "发货延迟": "物流时效", "售后响应慢": "售后响应", "质量问题": "产品质量"}


@dataclass
class Settings:
    db: Path
    user: str
    lang: str
    busy_timeout: float = 30.0
    cadence: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CADENCE))
    probability: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PROBABILITY))
    ticket_aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TICKET_ALIASES))
    url: str | None = None  # a PostgreSQL URL (team mode, spec §16); then ``db`` is unused

    @property
    def where(self) -> str | Path:
        """The database: the URL in team mode, else the file."""
        return self.url or self.db


def config_path() -> Path:
    env = os.environ.get("CRM_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "crm.toml"


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "crm.db"


def _read_config(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    import tomllib  # only when there is a config file: every command reads settings

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CrmError(f"cannot read config file {path}: {exc}") from None


def _default_lang() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _default_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "me"


def _pick(flag: str | None, env: str, config: dict[str, object], key: str) -> str | None:
    if flag:
        return flag
    value = os.environ.get(env)
    if value:
        return value
    conf = config.get(key)
    return str(conf) if conf not in (None, "") else None


def load(db: str | None = None, user: str | None = None, lang: str | None = None) -> Settings:
    """Resolve every setting; flags win over CRM_* variables, which win over crm.toml."""
    config = _read_config(config_path())
    db_value = _pick(db, "CRM_DB", config, "db")
    url = None
    if db_value and "://" in db_value:
        from crmcli.store import postgres

        if not postgres.is_url(db_value):
            raise UsageError(f"--db {postgres.masked(db_value)}: give a SQLite file path or a postgresql+psycopg:// URL")
        url = db_value
    db_path = Path(db_value).expanduser() if db_value and not url else default_db_path()
    if not url:
        from crmcli import safe_files

        safe_files.protect(db_path)  # no file crm writes may ever replace it
    lang_value = (_pick(lang, "CRM_LANG", config, "lang") or _default_lang()).lower()
    if lang_value not in ("zh", "en"):
        where = "--lang" if lang else "CRM_LANG" if os.environ.get("CRM_LANG") else f"lang in {config_path()}"
        raise UsageError(f"{where} {lang_value}: choose zh or en")
    if url:  # the login is the acting user, never --user or CRM_USER (spec §16)
        from crmcli.store import postgres

        acting = postgres.login(url)
    else:
        acting = _pick(user, "CRM_USER", config, "user") or _default_user()
    settings = Settings(db=db_path, user=acting, lang=lang_value, url=url)
    timeout = config.get("busy_timeout")
    if isinstance(timeout, int | float):
        settings.busy_timeout = float(timeout)
    cadence = config.get("cadence")
    if isinstance(cadence, dict):
        for key, days in cadence.items():
            if key in settings.cadence and isinstance(days, int) and days > 0:
                settings.cadence[key] = days
    probability = config.get("probability")
    if isinstance(probability, dict):
        for key, p in probability.items():
            if key in settings.probability and isinstance(p, int | float) and 0 <= p <= 1:
                settings.probability[key] = float(p)
    aliases = config.get("ticket_types")
    if isinstance(aliases, dict):
        for alias, canonical in aliases.items():
            if isinstance(canonical, str) and canonical.strip():
                settings.ticket_aliases[str(alias)] = canonical
    return settings


def today() -> dt.date:
    """Today's calendar date in local time; ``CRM_TODAY=YYYY-MM-DD`` freezes it (tests, replays)."""
    frozen = os.environ.get("CRM_TODAY")
    if frozen:
        try:
            return dt.date.fromisoformat(frozen)
        except ValueError:
            raise UsageError(f"CRM_TODAY={frozen}: expected YYYY-MM-DD") from None
    return dt.date.today()
