"""Errors of the LLM gateway. Celery tasks retry `LLMTransientError` later and give up on `LLMPermanentError`."""

from __future__ import annotations

from backend.errors import BackendError


class LLMError(BackendError):
    status_code = 502
    code = "llm_error"


class LLMTransientError(LLMError):
    """The provider was unavailable (429, 5xx, timeout, connection) after every attempt; try again later.

    `retry_after_s` is the provider's own hint (Retry-After) when it sent one, else None.
    """

    status_code = 503
    code = "llm_unavailable"

    def __init__(self, message: str, *, retry_after_s: float | None = None, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s


class LLMPermanentError(LLMError):
    """The request cannot succeed as sent (400, 401, 404, unknown model...): retrying will not help."""

    status_code = 502
    code = "llm_rejected"


class LLMInvalidOutput(LLMPermanentError):
    """The model's reply was not JSON valid against the schema, even after one repair attempt."""

    code = "llm_invalid_output"
