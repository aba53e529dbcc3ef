"""Errors that reach the user, each carrying its exit status (spec §10).

The CLI boundary (``crmcli.cli.main``) turns any ``CrmError`` into one line on
stderr and the exit code below; nothing else decides exit codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class CrmError(Exception):
    """An error the user can fix: bad value, not found, duplicate, unreadable file."""

    exit_code = 1
    quiet = False  # True: the exit status alone says it; no "Error:" line

    def __init__(self, message: str, *, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.options = tuple(options)

    def __str__(self) -> str:
        return self._named(self.message, lambda option: option.replace("_", " "))

    def masked(self) -> str:
        """The message as shown with ``--mask`` (options still as ``{name}``); errors that carry
        contact data override it."""
        return self.message

    def on_command_line(self, *, masked: bool = False) -> str:
        """The message as the CLI shows it: each option the service named becomes its flag."""
        return self._named(self.masked() if masked else self.message, lambda option: "--" + option.replace("_", "-"))

    def _named(self, text: str, name: Any) -> str:
        # Services name a command's option by its parameter, as ``{probability}`` in the message,
        # and never spell a command line; the CLI turns it into ``--probability`` (the flag typer
        # derives from that parameter), anything else into plain words.
        for option in self.options:
            text = text.replace("{" + option + "}", name(option))
        return text


class ParseError(CrmError, ValueError):
    """A value (name, phone, date, money, enum) could not be read."""


class NotFound(CrmError):
    """No customer (or batch, or file) matches what was asked for."""


class NoMatch(NotFound):
    """No customer matches a REF. The REF is echoed: with --mask a phone in it is masked."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(self._text(ref))

    @staticmethod
    def _text(ref: str) -> str:
        return f"no customer matches '{ref}'"

    def masked(self) -> str:
        from crmcli.masking import mask_text

        return self._text(mask_text(self.ref))


class Ambiguous(CrmError):
    """A REF matches several customers: the message lists them, code, name and phone (spec §4)."""

    SHOWN = 20

    def __init__(self, ref: str, candidates: Sequence[Mapping[str, Any]]) -> None:
        self.ref = ref
        self.candidates = [dict(c) for c in candidates]
        super().__init__(self._text(ref, self.candidates))

    def _text(self, ref: str, candidates: Sequence[Mapping[str, Any]]) -> str:
        n = len(candidates)
        more = n > self.SHOWN  # a partial-name lookup stops at SHOWN + 1
        lines = [f"  {c['code']}  {c['name']}  {c['phone']}" for c in candidates[: self.SHOWN]]
        if more:
            lines.append("  ...")
        return f"'{ref}' matches {n}{'+' if more else ''} customers; use a code:\n" + "\n".join(lines)

    def masked(self) -> str:
        from crmcli.masking import mask_record, mask_text

        return self._text(mask_text(self.ref), [mask_record(dict(c)) for c in self.candidates])


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
