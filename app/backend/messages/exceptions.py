from __future__ import annotations

from backend.errors import InvalidRequest, NotFound


class MessageNotFound(NotFound):
    code = "message_not_found"


class InvalidMessageCursor(InvalidRequest):
    code = "invalid_cursor"
