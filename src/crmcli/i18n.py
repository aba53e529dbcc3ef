"""Every word the program says, in the display language (spec §7), through GNU gettext.

The English text in the source is the message id; the Chinese is in the package's catalog
``crmcli/locale/zh_CN/LC_MESSAGES/crmcli.po``, compiled to ``crmcli.mo`` beside it (committed:
the package needs no build step). ``pybabel extract`` (babel.cfg) collects the ids; README,
"Translations", has the commands. A message with no translation falls back to English, and a
test fails on any id of the catalog's template that has no Chinese.
"""

from __future__ import annotations

import gettext as _gettext
from functools import lru_cache
from pathlib import Path
from typing import Any

DOMAIN = "crmcli"
LOCALE_DIR = Path(__file__).parent / "locale"
_LANGUAGES = {"zh": "zh_CN", "en": "en"}

_current = "en"


@lru_cache(maxsize=4)
def translator(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[_LANGUAGES.get(lang, lang)], fallback=True)


def set_language(lang: str) -> None:
    """The display language of this run (set once the settings are known)."""
    global _current
    _current = lang


def language() -> str:
    return _current


def gettext(message: str, lang: str | None = None) -> str:
    """``message`` in the display language (or ``lang``)."""
    return translator(lang or _current).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    return translator(lang or _current).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks a message for extraction where it is declared; it is translated where it is shown."""
    return message


class _Kept(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: dict[str, Any]) -> str:
    """``template.format(**values)``, keeping a placeholder nobody gave (``{name}``) as it is and
    a template that is not one (a stray brace) whole."""
    if not values and "{" not in template:
        return template
    try:
        return template.format_map(_Kept(values))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return template


class Text:
    """Words shown later: an English template (a catalog id, marked where it is written) and the
    values of its named placeholders, translated when shown -- in the language of that moment.

    What a message names as a value that is words itself ("a directory") is a ``Text`` too, so it
    is shown in the same language as the message around it.
    """

    __slots__ = ("template", "values")

    def __init__(self, template: str, /, **values: Any) -> None:
        self.template = template
        self.values = values

    def __str__(self) -> str:
        return fill(gettext(self.template), {k: str(v) if isinstance(v, BaseException | Text) else v for k, v in self.values.items()})

    def __repr__(self) -> str:
        return f"Text({self.template!r})"


_ = gettext
