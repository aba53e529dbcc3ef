"""Command-line text typed on a terminal that is not UTF-8.

Python decodes ``sys.argv`` with the locale's encoding and ``surrogateescape``: on a UTF-8
locale, 客户 typed on a GBK terminal arrives as ``'\\udcbf\\udccd...'``, which SQLite and stdout
refuse ("surrogates not allowed"). Such an argument is decoded here as the file readers decode
text (spec §9): the locale's own encoding when it is not UTF-8, else GB18030 (a superset of GBK),
strictly; what neither reads is refused with a message saying to use UTF-8, never guessed.

File-name arguments are left as they are: the escaped bytes are the file's real name on disk.
"""

from __future__ import annotations

import codecs
import os

from crmcli.errors import UsageError
from crmcli.i18n import N_


def has_escapes(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _encodings() -> list[str]:
    import locale

    found = []
    try:
        found.append(codecs.lookup(locale.getpreferredencoding(False)).name)
    except LookupError:
        pass
    found.append("gb18030")
    return [name for name in dict.fromkeys(found) if name != "utf-8"]


def decode(text: str) -> str:
    """``text`` with its escaped bytes decoded, or a UsageError saying to use UTF-8."""
    if not has_escapes(text):
        return text
    raw = os.fsencode(text)
    for encoding in _encodings():
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    shown = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
    raise UsageError(N_("'{shown}' is not UTF-8 text (nor GBK/GB18030); set the terminal's encoding to UTF-8 and type it again"), shown=shown)


def decode_lenient(text: str) -> str:
    """For the record of the command as typed: decoded where possible, else the bytes as ``\\xNN``."""
    try:
        return decode(text)
    except UsageError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
