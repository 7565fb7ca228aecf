"""The base of every domain error: an HTTP status and a stable code, translated only at the edges."""

from __future__ import annotations


class BackendError(Exception):
    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class NotFound(BackendError):
    status_code = 404
    code = "not_found"


class InvalidRequest(BackendError):
    status_code = 400
    code = "invalid_request"


class DatabaseError(BackendError):
    status_code = 503
    code = "database_error"


class MigrationFailed(DatabaseError):
    code = "migration_failed"
