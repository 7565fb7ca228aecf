"""Errors of the insights read API (a missing chat or conversation reuses its own domain's error)."""

from __future__ import annotations

from backend.chats.exceptions import ChatNotFound
from backend.conversations.exceptions import ConversationNotFound

__all__ = ["ChatNotFound", "ConversationNotFound"]
