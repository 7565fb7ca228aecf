from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from backend.search import message_search, service
from backend.search.schemas import MessageSearchResults, SearchHit, SearchResults

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=MessageSearchResults)
def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=500,
                   description='words, "phrases", emoji, and from:Sam in:"Family" before:/after:YYYY-MM-DD has:link'),
    chat_id: list[int] | None = Query(None),
    contact_id: list[int] | None = Query(None, description="chats any of these people are in"),
    sender_id: list[int] | None = Query(None, description="messages these people sent"),
    from_me: bool | None = Query(None, description="true: sent by me; false: sent by others"),
    since: int | None = Query(None, description="unix ms, inclusive"),
    until: int | None = Query(None, description="unix ms, exclusive"),
    has_attachment: bool = False,
    has_link: bool = False,
    sort: Literal["relevance", "newest", "oldest"] = "relevance",
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(20, ge=1, le=100),
    mode: Literal["hybrid", "fts", "vector"] = "hybrid",
) -> MessageSearchResults:
    """Messages matching `q` and the filters: the exact `total`, one page in `sort` order, highlights."""
    filters = message_search.SearchFilters(
        chat_ids=chat_id, contact_ids=contact_id, sender_ids=sender_id, from_me=from_me, since=since, until=until,
        has_attachment=has_attachment, has_link=has_link)
    found = message_search.search_messages(request.app.state.engine, q, filters=filters, sort=sort, offset=offset,
                                           limit=limit, mode=mode)
    return MessageSearchResults(**found)


@router.get("/conversations", response_model=SearchResults)
def search_conversations(
    request: Request,
    q: str = Query(..., min_length=1, max_length=500),
    chat_id: int | None = None,
    contact_id: int | None = None,
    since: int | None = Query(None, description="unix ms, inclusive"),
    until: int | None = Query(None, description="unix ms, exclusive"),
    limit: int = Query(20, ge=1, le=100),
    mode: Literal["hybrid", "fts", "vector"] = "hybrid",
) -> SearchResults:
    """Conversations matching `q` (full-text and vector rankings fused), with their matched messages."""
    results = service.hybrid_search(request.app.state.engine, q, chat_id=chat_id, contact_id=contact_id,
                                    since=since, until=until, limit=limit, mode=mode)
    return SearchResults(q=q, mode=mode, results=[SearchHit.model_validate(hit) for hit in results])
