"""Errors about the user's source databases, each saying what to do next."""

from __future__ import annotations

from backend.errors import BackendError

FULL_DISK_ACCESS_HINT = (
    "grant Full Disk Access to ChatStats (or to the terminal running `chatstats`) in System Settings > "
    "Privacy & Security > Full Disk Access, then restart it"
)


class SourceDatabaseMissing(BackendError):
    status_code = 404
    code = "source_database_missing"


class SourceDatabaseUnreadable(BackendError):
    status_code = 403
    code = "source_database_unreadable"


class SourceDatabaseCorrupt(BackendError):
    status_code = 422
    code = "source_database_corrupt"


class SourceDatabaseLocked(BackendError):
    """Another program holds a lock that keeps even readers out (a write in progress without WAL)."""

    status_code = 409
    code = "source_database_locked"
