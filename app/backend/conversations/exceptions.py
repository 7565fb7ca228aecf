from __future__ import annotations

from backend.errors import NotFound


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
