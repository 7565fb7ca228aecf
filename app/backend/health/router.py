from __future__ import annotations

from fastapi import APIRouter, Request

from backend.health.schemas import Health
from backend.health.service import get_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Public (no token): database, migrations, version, and every process of `chatstats up`."""
    state = request.app.state
    return get_health(state.engine, redis_url=state.settings.redis_url, watcher=state.watcher,
                      live_sync=state.settings.live_sync and state.watcher is not None)


@router.get("/health/live")
def live() -> dict[str, str]:
    """Public (no token): the API is up and serving, checking nothing else (what `chatstats up` waits for
    before it starts the workers' checks; /api/health pings the workers, which may not be up yet)."""
    return {"status": "ok"}
