from __future__ import annotations

from fastapi import APIRouter, Query, Request

from backend.chats import service
from backend.chats.schemas import Chat, ChatPage
from backend.messages.schemas import MessagePage

router = APIRouter(prefix="/chats", tags=["chats"])


@router.get("", response_model=ChatPage)
def list_chats(
    request: Request,
    limit: int = Query(50, ge=1, le=200),
    before: str | None = Query(None, description="next_before of the previous page (or a time in unix ms)"),
    q: str | None = Query(None, max_length=200, description="Matches chat and participant names"),
) -> ChatPage:
    """Chats, most recent activity first."""
    return service.list_chats(request.app.state.engine, limit=limit, before=before, q=q)


@router.get("/{chat_id}", response_model=Chat)
def get_chat(chat_id: int, request: Request) -> Chat:
    return service.get_chat(request.app.state.engine, chat_id)


@router.get("/{chat_id}/messages", response_model=MessagePage)
def list_chat_messages(
    chat_id: int,
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    before_id: int | None = Query(None, description="next_before_id of the previous (newer) page"),
    after_id: int | None = Query(None, description="the newest message id the client has: newer ones, oldest first"),
    around_id: int | None = Query(None, description="a message of this chat: it and its neighbours, newest first"),
) -> MessagePage:
    """Newest first, oldest first after `after_id` (catching up), or around `around_id` (opening a search hit)."""
    return service.list_chat_messages(request.app.state.engine, chat_id, limit=limit, before_id=before_id,
                                      after_id=after_id, around_id=around_id)
