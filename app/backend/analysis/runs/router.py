"""HTTP edge of analysis runs: estimate, create, list, read, cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from backend.analysis.runs import onboarding
from backend.analysis.runs import service as runs
from backend.analysis.runs.schemas import CreatedRun, Estimate, Onboarding, Run, RunList, RunRequest, Scope
from backend.errors import InvalidRequest
from backend.events.bus import redis_client

router = APIRouter(prefix="/analysis", tags=["analysis runs"])


@router.get("/estimate", response_model=Estimate)
def estimate(request: Request, scope: Scope = Query("onboarding"), chat_id: int | None = Query(None),
             since: date | None = Query(None), passes: list[str] | None = Query(None)) -> Estimate:
    """What a run of this scope would cost: conversations, model calls, tokens in and out, USD."""
    names = [name for item in passes or [] for name in item.split(",") if name] or None
    try:
        run_request = RunRequest(scope=scope, chat_id=chat_id, since=since, passes=names)
    except ValidationError as exc:
        raise InvalidRequest(str(exc)) from exc
    return runs.estimate(request.app.state.engine, run_request, model=request.app.state.settings.llm_model)


@router.post("/runs", response_model=CreatedRun, status_code=201)
def create_run(body: RunRequest, request: Request) -> CreatedRun:
    """Create a run (queued, with its estimate) and start it on the workers."""
    settings = request.app.state.settings
    client = redis_client(settings.redis_url) if settings.redis_url else None
    return runs.create_run(request.app.state.engine, body, model=settings.llm_model, client=client,
                           enqueue=_enqueuer(settings.redis_url),
                           confirm_jobs_over=settings.analysis_confirm_jobs_over)


@router.get("/runs", response_model=RunList)
def list_runs(request: Request, limit: int = Query(50, ge=1, le=500)) -> RunList:
    return runs.list_runs(request.app.state.engine, limit=limit)


@router.get("/runs/{run_id}", response_model=Run)
def get_run(run_id: int, request: Request) -> Run:
    """Status and progress, counted from SQLite."""
    return runs.get_run(request.app.state.engine, run_id)


@router.post("/runs/{run_id}/cancel", response_model=Run)
def cancel_run(run_id: int, request: Request) -> Run:
    """Cancel: jobs not started are withdrawn; jobs already running finish."""
    return runs.cancel_run(request.app.state.engine, run_id)


@router.get("/onboarding", response_model=Onboarding)
def get_onboarding(request: Request) -> Onboarding:
    """The history analysis: started (with its run), or awaiting consent to the estimate it carries."""
    return onboarding.get(request.app.state.engine, model=request.app.state.settings.llm_model)


@router.post("/onboarding/accept", response_model=CreatedRun, status_code=201)
def accept_onboarding(request: Request) -> CreatedRun:
    """The user accepts the estimate: the whole history is analysed, newest first."""
    settings = request.app.state.settings
    client = redis_client(settings.redis_url) if settings.redis_url else None
    return onboarding.accept(request.app.state.engine, model=settings.llm_model, client=client,
                             enqueue=_enqueuer(settings.redis_url))


@router.post("/onboarding/decline", response_model=Onboarding)
def decline_onboarding(request: Request) -> Onboarding:
    """Not now: the history stays unanalysed until a run is started (the offer stays in the UI)."""
    return onboarding.decline(request.app.state.engine)


def _enqueuer(redis_url: str) -> Callable[[int], None]:
    """Sends a run's start task; Celery loads with the first run, not with the API."""

    def enqueue(run_id: int) -> None:
        from backend.analysis.runs.tasks import enqueue_start_run  # noqa: PLC0415

        enqueue_start_run(run_id, redis_url=redis_url)

    return enqueue
