from __future__ import annotations

from fastapi import APIRouter, Request

from backend.health.schemas import Health
from backend.health.service import get_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Public (no token): database reachable, migrations at head, version."""
    return get_health(request.app.state.engine)
