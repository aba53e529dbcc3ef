"""Settings from flag > environment > TOML config file > default (spec §1).

The config file is checked against one declaration of its keys (``CONFIG``): a key nobody
declared or a value of the wrong type is an error naming the file, the key and the value
(exit 1), never silently ignored. Adding a setting is one entry there.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmcli.errors import CrmError, UsageError
from crmcli.i18n import N_, Text

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


# --- the one declaration of the config file -------------------------------------------------


class BadValue(CrmError, ValueError):
    """A config value of the wrong type or range; the message says what is expected."""


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadValue(N_("expected a non-empty string"))
    return value


def _lang(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in ("zh", "en"):
        raise BadValue(N_("expected \"zh\" or \"en\""))
    return value.strip().lower()


def _number(low: float, high: float, *, whole: bool, what: Text) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        # TOML's true/false are ints to Python; a number in quotes ("7") is text, not a number.
        ok = isinstance(value, int) if whole else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise BadValue(N_("expected {what}"), what=what)
        if not low <= value <= high:
            raise BadValue(N_("expected {what}"), what=what)
        return int(value) if whole else float(value)

    return parse


_DAYS = _number(1, 36_500, whole=True, what=Text(N_("a whole number of days from 1 to 36500")))
_SHARE = _number(0, 1, whole=False, what=Text(N_("a fraction from 0 to 1 (0.3 for 30%)")))
_SECONDS = _number(0, 86_400, whole=False, what=Text(N_("a number of seconds from 0 to 86400")))

# key (dotted for a table's key) -> parser. A table whose keys are free (ticket_types) maps "*".
CONFIG: dict[str, Callable[[Any], Any]] = {
    "db": _text,
    "user": _text,
    "lang": _lang,
    "busy_timeout": _SECONDS,
    **{f"cadence.{level}": _DAYS for level in DEFAULT_CADENCE},
    **{f"probability.{stage}": _SHARE for stage in DEFAULT_PROBABILITY},
    "ticket_types.*": _text,
}
_TABLES = {key.split(".")[0] for key in CONFIG if "." in key}


def _shown(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, dict) else str(Text(N_("a table")))
    return text if len(text) <= 60 else text[:57] + "..."


def validate(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """The config with every value parsed; the first unknown key or bad value is a CrmError."""

    def bad(key: str, value: Any, why: Any) -> CrmError:
        return CrmError(N_("config file {path}: {key} = {value}: {why}"), path=path, key=key, value=_shown(value), why=why)

    known = ", ".join(sorted({k.split(".")[0] for k in CONFIG}))
    out: dict[str, Any] = {}
    for name, value in config.items():
        if name in _TABLES:
            if not isinstance(value, dict):
                raise bad(name, value, Text(N_("expected a table [{name}]"), name=name))
            declared = sorted(k.split(".", 1)[1] for k in CONFIG if k.startswith(name + "."))
            for sub, item in value.items():
                key = f"{name}.{sub}"
                parser = CONFIG.get(key) or CONFIG.get(f"{name}.*")
                if parser is None:
                    raise bad(key, item, Text(N_("unknown key (known in [{name}]: {declared})"), name=name, declared=', '.join(declared)))
                try:
                    out[key] = parser(item)
                except BadValue as exc:
                    raise bad(key, item, exc) from None
            continue
        parser = CONFIG.get(name)
        if parser is None:
            raise bad(name, value, Text(N_("unknown key (known: {known})"), known=known))
        try:
            out[name] = parser(value)
        except BadValue as exc:
            raise bad(name, value, exc) from None
    return out


# --- where things are ------------------------------------------------------------------------


def config_path() -> Path:
    env = os.environ.get("CRM_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "crm.toml"


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME)) / "crm.db"


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import tomllib  # only when there is a config file: every command reads settings

    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CrmError(N_("cannot read config file {path}: {exc}"), path=path, exc=exc) from None
    return validate(raw, path)


def _default_lang() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def display_language(flag: str | None = None) -> str:
    """The display language alone, before the settings are loaded (help prints while the
    arguments are parsed): flag > CRM_LANG > crm.toml > locale; English when any is unusable
    (the settings then report it)."""
    try:
        value = flag or os.environ.get("CRM_LANG")
        if not value:
            path = config_path()
            if path.exists():
                value = _read_config(path).get("lang")
        value = (value or _default_lang()).strip().lower()
    except CrmError:
        return "en"
    return value if value in ("zh", "en") else "en"


def _default_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "me"


def _pick(flag: str | None, env: str, config: dict[str, Any], key: str) -> str | None:
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
            raise UsageError(N_("--db {db_value}: give a SQLite file path or a postgresql+psycopg:// URL"), db_value=postgres.masked(db_value))
        url = db_value
    db_path = Path(db_value).expanduser() if db_value and not url else default_db_path()
    if not url:
        from crmcli import safe_files

        safe_files.protect(db_path)  # no file crm writes may ever replace it
    lang_value = (_pick(lang, "CRM_LANG", config, "lang") or _default_lang()).lower()
    if lang_value not in ("zh", "en"):
        where = "--lang" if lang else "CRM_LANG"
        raise UsageError(N_("{where} {lang_value}: choose zh or en"), where=where, lang_value=lang_value)
    if url:  # the login is the acting user, never --user or CRM_USER (spec §16)
        from crmcli.store import postgres

        acting = postgres.login(url)
    else:
        acting = _pick(user, "CRM_USER", config, "user") or _default_user()
    settings = Settings(db=db_path, user=acting, lang=lang_value, url=url)
    if "busy_timeout" in config:
        settings.busy_timeout = config["busy_timeout"]
    for key, value in config.items():
        table, _, sub = key.partition(".")
        if table == "cadence":
            settings.cadence[sub] = value
        elif table == "probability":
            settings.probability[sub] = value
        elif table == "ticket_types":
            settings.ticket_aliases[sub] = value
    return settings


def today() -> dt.date:
    """Today's calendar date in local time; ``CRM_TODAY=YYYY-MM-DD`` freezes it (tests, replays)."""
    frozen = os.environ.get("CRM_TODAY")
    if frozen:
        try:
            return dt.date.fromisoformat(frozen)
        except ValueError:
            raise UsageError(N_("CRM_TODAY={frozen}: expected YYYY-MM-DD"), frozen=frozen) from None
    return dt.date.today()
