"""Errors of the insights API (a missing chat, conversation or contact reuses its own domain's error)."""

from __future__ import annotations

from backend.chats.exceptions import ChatNotFound
from backend.contacts.exceptions import ContactNotFound
from backend.conversations.exceptions import ConversationNotFound
from backend.errors import InvalidRequest, NotFound


class InvalidPeriod(InvalidRequest, ValueError):
    """A preset, date or year that names no period (422: the request is well-formed but meaningless)."""

    status_code = 422
    code = "invalid_period"


class YearNotFound(NotFound):
    code = "year_not_found"


__all__ = ["ChatNotFound", "ContactNotFound", "ConversationNotFound", "InvalidPeriod", "YearNotFound"]
