"""Errors that reach the user, each carrying its exit status (spec §10).

The CLI boundary (``crmcli.cli.boundary``) turns any ``CrmError`` into one line on
stderr and the exit code below; nothing else decides exit codes.

An error carries its words untranslated: the English template (the catalog's message id, marked
with ``N_`` where it is raised) and the values of its named placeholders, and is translated when
it is shown (``str()``, the CLI boundary, an import's reject reason). So a template needs no
escaping for the ``{option}`` placeholders the CLI fills with flags -- they are placeholders like
the rest, filled last -- and an error raised before the display language is known, or wrapped in
another ("row 7: {reason}"), still speaks the language of the moment it is read.
``tests/test_errors_translated.py`` fails on an error whose message is not a marked template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crmcli.i18n import N_


class CrmError(Exception):
    """An error the user can fix: bad value, not found, duplicate, unreadable file.

    ``message`` is the English template, marked for the catalog where it is written
    (``N_("no deal matches '{ref}'")``), and ``values`` fill its named placeholders. ``options``
    name the command's options the message speaks of, as ``{probability}`` placeholders too.
    """

    exit_code = 1
    quiet = False  # True: the exit status alone says it; no "Error:" line

    def __init__(self, message: str, *, options: Sequence[str] = (), **values: Any) -> None:
        super().__init__(message)
        self.message = message
        self.options = tuple(options)
        self.values = values

    def __str__(self) -> str:
        return self.text(lambda option: option.replace("_", " "))

    def masked_values(self) -> dict[str, Any]:
        """The values as shown with ``--mask``; errors that carry contact data override it."""
        return self.values

    def on_command_line(self, *, masked: bool = False) -> str:
        """The message as the CLI shows it: each option the service named becomes its flag."""
        return self.text(lambda option: "--" + option.replace("_", "-"), masked=masked)

    def text(self, name: Callable[[str], str], *, masked: bool = False) -> str:
        """The message in the display language, each option shown as ``name(option)``."""
        from crmcli.i18n import fill, gettext

        # Services name a command's option by its parameter, as ``{probability}`` in the message,
        # and never spell a command line; the CLI turns it into ``--probability`` (the flag typer
        # derives from that parameter), anything else into plain words.
        values = {key: _shown(value, masked) for key, value in (self.masked_values() if masked else self.values).items()}
        values.update((option, name(option)) for option in self.options)
        return fill(gettext(self.message), values)


def _shown(value: Any, masked: bool) -> Any:
    """A value as its placeholder shows it: words (an error, a ``Text``) in the display language,
    anything else as it is, for the template's own format (``{rows:,}``)."""
    if masked and isinstance(value, CrmError):
        return value.text(lambda option: option.replace("_", " "), masked=True)
    from crmcli.i18n import Text

    return str(value) if isinstance(value, BaseException | Text) else value


class ParseError(CrmError, ValueError):
    """A value (name, phone, date, money, enum) could not be read."""


class NotFound(CrmError):
    """No customer (or batch, or file) matches what was asked for."""


class NoMatch(NotFound):
    """No customer matches a REF. The REF is echoed: with --mask a phone in it is masked."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(N_("no customer matches '{ref}'"), ref=ref)

    def masked_values(self) -> dict[str, Any]:
        from crmcli.masking import mask_text

        return {"ref": mask_text(self.ref)}


class Ambiguous(CrmError):
    """A REF matches several customers: the message lists them, code, name and phone (spec §4)."""

    SHOWN = 20

    def __init__(self, ref: str, candidates: Sequence[Mapping[str, Any]]) -> None:
        self.ref = ref
        self.candidates = [dict(c) for c in candidates]
        n = len(self.candidates)
        more = n > self.SHOWN  # a partial-name lookup stops at SHOWN + 1
        super().__init__(N_("'{ref}' matches {count} customers; use a code:"), ref=ref, count=f"{n}{'+' if more else ''}")

    def text(self, name: Callable[[str], str], *, masked: bool = False) -> str:
        candidates = self.candidates
        if masked:
            from crmcli.masking import mask_record

            candidates = [dict(mask_record(dict(c))) for c in candidates]
        lines = [f"  {c['code']}  {c['name']}  {c['phone']}" for c in candidates[: self.SHOWN]]
        if len(candidates) > self.SHOWN:
            lines.append("  ...")
        return "\n".join([super().text(name, masked=masked), *lines])

    def masked_values(self) -> dict[str, Any]:
        from crmcli.masking import mask_text

        return {**self.values, "ref": mask_text(self.ref)}


class Duplicate(CrmError):
    """The customer already exists (same normalised name + phone)."""


class UsageError(CrmError):
    """The command line itself is wrong (exit 2)."""

    exit_code = 2


class PartialImport(CrmError):
    """Some rows of an import were rejected while others were imported (exit 3).

    Not a failure to report on stderr: the summary already says what was rejected.
    """

    exit_code = 3
    quiet = True


class DatabaseBusy(CrmError):
    """Another process held the write lock past the busy timeout (exit 4)."""

    exit_code = 4


class NeedsConfirmation(CrmError):
    """What the user typed looks like a mistake (a repeated or outsized deal): ask, or --yes."""


class DiskFull(CrmError):
    """The disk (or the user's quota) is full: nothing was written."""


class SchemaError(CrmError):
    """The database file is not one we can use (newer schema, not a CRM file)."""
