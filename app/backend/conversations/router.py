from __future__ import annotations

from fastapi import APIRouter, Query, Request

from backend.conversations import service
from backend.conversations.schemas import ConversationDetail, ConversationPage

router = APIRouter(tags=["conversations"])


@router.get("/chats/{chat_id}/conversations", response_model=ConversationPage)
def list_chat_conversations(
    chat_id: int,
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    before: str | None = Query(None, description="next_before of the previous page (or a time in unix ms)"),
) -> ConversationPage:
    """A chat's conversations, newest first."""
    return service.list_chat_conversations(request.app.state.engine, chat_id, limit=limit, before=before)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
def get_conversation(
    conversation_id: int,
    request: Request,
    limit: int = Query(1000, ge=1, le=5000),
    after_id: int | None = Query(None, description="continue after this message (next_after_id)"),
) -> ConversationDetail:
    """One conversation with its messages, oldest first."""
    return service.get_conversation(request.app.state.engine, conversation_id, limit=limit, after_id=after_id)
