"""Errors of `chatstats up`, each saying what went wrong and what to look at."""

from __future__ import annotations

from backend.errors import BackendError


class ChildFailedToStart(BackendError):
    """A child could not be spawned, exited before it was healthy, or stayed unhealthy too long."""

    status_code = 503
    code = "child_failed_to_start"


class AlreadyRunning(BackendError):
    """Another `chatstats up` supervises this data dir."""

    status_code = 409
    code = "already_running"
