"""macOS Contacts (AddressBook-v22.abcddb) and iPhone AddressBook.sqlitedb: reader and test writer.

`reader` reads the user's stores read-only; `writer` builds synthetic stores in Apple's schema
for tests and the demo. Nothing here ever writes to a real store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from backend.source.errors import FULL_DISK_ACCESS_HINT, SourceDatabaseUnreadable


class AddressBookUnreadable(SourceDatabaseUnreadable):
    """A Contacts database exists but cannot be read; the message says what to do."""

    code = "addressbook_unreadable"

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"Cannot read the Contacts database {display_path(path)} ({reason}). {_advice(reason)}",
            path=display_path(path),
            reason=reason,
        )


def display_path(path: Path) -> str:
    """The path with the home folder written as "~"."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def describe_sqlite_error(error: BaseException) -> str:
    """A short reason without personal data: SQLite's message or the OS error's name."""
    if isinstance(error, sqlite3.Error):
        return str(error) or type(error).__name__
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return type(error).__name__


def _advice(reason: str) -> str:
    lowered = reason.lower()
    if "locked" in lowered or "busy" in lowered:
        return "Contacts is busy writing to it: try again in a moment."
    if "not found" in lowered:
        return "Check that the path points at an existing Contacts database."
    if "not a database" in lowered or "malformed" in lowered or "not an addressbook" in lowered:
        return (
            "The file is damaged or not a Contacts database: open the Contacts app once so it can "
            "repair it, or remove this account in Contacts and add it again."
        )
    return FULL_DISK_ACCESS_HINT[0].upper() + FULL_DISK_ACCESS_HINT[1:] + "."
