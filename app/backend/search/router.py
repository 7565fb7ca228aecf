from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from backend.search import service
from backend.search.schemas import SearchHit, SearchResults

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchResults)
def search(
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
