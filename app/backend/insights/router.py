from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from backend.insights import service
from backend.insights.schemas import Bucket, ChatInsights, ConversationInsights, RankedChats

router = APIRouter(prefix="/insights", tags=["insights"])


@router.get("/chats", response_model=RankedChats)
def rank_chats(
    request: Request,
    rank: Literal["volume"] = Query("volume"),
    limit: int = Query(20, ge=1, le=200),
    since: int | None = Query(None, description="unix ms; the last 365 days when left out"),
) -> RankedChats:
    """Chats ranked by how many messages they saw since `since`."""
    return service.rank_chats(request.app.state.engine, limit=limit, since=since)


@router.get("/chats/{chat_id}", response_model=ChatInsights)
def get_chat_insights(
    chat_id: int,
    request: Request,
    bucket: Bucket = Query("day"),
    since: int | None = Query(None, description="unix ms; the activity timeline starts here"),
) -> ChatInsights:
    """Summaries, topics, emotions per participant, entities, humour and activity of one chat."""
    return service.get_chat_insights(request.app.state.engine, chat_id, bucket=bucket, since=since)


@router.get("/conversations/{conversation_id}", response_model=ConversationInsights)
def get_conversation_insights(conversation_id: int, request: Request) -> ConversationInsights:
    """Each pass's analysis of the conversation with the rows it found."""
    return service.get_conversation_insights(request.app.state.engine, conversation_id)
