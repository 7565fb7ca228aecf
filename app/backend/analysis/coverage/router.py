"""HTTP edge of analysis coverage: overall, one chat's or one person's, and lists by chat or person."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from backend.analysis.coverage import service
from backend.analysis.coverage.schemas import Coverage, CoverageList

router = APIRouter(prefix="/analysis", tags=["analysis coverage"])


@router.get("/coverage", response_model=Coverage)
def get_coverage(request: Request, chat_id: int | None = Query(None), contact_id: int | None = Query(None)) -> Coverage:
    """N of M conversations analysed (every current batch pass done), overall or of a chat or a person."""
    return service.get_coverage(request.app.state.engine, chat_id=chat_id, contact_id=contact_id)


@router.get("/coverage/list", response_model=CoverageList)
def list_coverage(request: Request, by: Literal["chat", "contact"] = Query("chat")) -> CoverageList:
    """Coverage of every chat (by=chat) or every person (by=contact)."""
    return service.list_coverage(request.app.state.engine, by=by)
