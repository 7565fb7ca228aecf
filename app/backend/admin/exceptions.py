from __future__ import annotations

from backend.errors import BackendError, NotFound


class FailedTaskNotFound(NotFound):
    code = "failed_task_not_found"


class BrokerUnavailable(BackendError):
    status_code = 503
    code = "broker_unavailable"
