from __future__ import annotations

from backend.errors import BackendError, NotFound


class ThreadNotFound(NotFound):
    code = "thread_not_found"


class MessageNotFound(NotFound):
    code = "assistant_message_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class ReplyFailed(BackendError):
    """Generating a reply failed in a way that is not the provider's (retrieval, storage)."""

    status_code = 500
    code = "reply_failed"


class StepLimitReached(BackendError):
    """The model kept calling tools past the step limit of one answer."""

    status_code = 422
    code = "step_limit"


class UnknownContext(BackendError):
    """A thread's context names chats or contacts that do not exist."""

    status_code = 422
    code = "unknown_context"
