from __future__ import annotations

from backend.errors import InvalidRequest, NotFound


class ChatNotFound(NotFound):
    code = "chat_not_found"


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"
