from __future__ import annotations

from fastapi import APIRouter, Request

from backend.messages import service
from backend.messages.schemas import MessageDetail

router = APIRouter(prefix="/messages", tags=["messages"])


@router.get("/{message_id}", response_model=MessageDetail)
def get_message(message_id: int, request: Request) -> MessageDetail:
    """One message with reactions, attachments, extras and its edit history."""
    return service.get_message(request.app.state.engine, message_id)
