"""Errors that reach the user, each carrying its exit status (spec §10).

The CLI boundary (``crmcli.cli.main``) turns any ``CrmError`` into one line on
stderr and the exit code below; nothing else decides exit codes.
"""

from __future__ import annotations


class CrmError(Exception):
    """An error the user can fix: bad value, not found, duplicate, unreadable file."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ParseError(CrmError, ValueError):
    """A value (name, phone, date, money, enum) could not be read."""


class NotFound(CrmError):
    """No customer (or batch, or file) matches what was asked for."""


class Ambiguous(CrmError):
    """A reference matches several customers."""


class Duplicate(CrmError):
    """The customer already exists (same normalised name + phone)."""


class UsageError(CrmError):
    """The command line itself is wrong (exit 2)."""

    exit_code = 2


class PartialImport(CrmError):
    """Some rows of an import were rejected while others were imported (exit 3)."""

    exit_code = 3


class DatabaseBusy(CrmError):
    """Another process held the write lock past the busy timeout (exit 4)."""

    exit_code = 4


class DiskFull(CrmError):
    """The disk (or the user's quota) is full: nothing was written."""


class SchemaError(CrmError):
    """The database file is not one we can use (newer schema, not a CRM file)."""
