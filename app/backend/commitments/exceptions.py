from __future__ import annotations

from backend.errors import BackendError, InvalidRequest, NotFound


class CommitmentNotFound(NotFound):
    code = "commitment_not_found"


class InvalidCommitmentTransition(BackendError):
    status_code = 409
    code = "invalid_commitment_transition"


class InvalidSnoozeTime(InvalidRequest):
    code = "invalid_snooze_time"
