"""SSE of pipeline progress for the UI, read from the EventBus stream (resumable by entry id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from backend.errors import InvalidRequest
from backend.events.bus import STREAM
from backend.events.stream_reader import check_stream_name, read_stream, require_broker
from backend.live.streams import SSE_HEADERS

router = APIRouter(prefix="/analysis/streaming", tags=["analysis progress"])

SCOPE_KEYS = {"conversation": "conversation_id", "chat": "chat_id", "run": "run_id", "job": "job_id"}


def scope_filter(scope: str) -> Callable[[dict[str, Any]], bool]:
    """`all`, `event:<name prefix>`, or `<conversation|chat|run|job>:<id>` (matched on the event's payload)."""
    if scope in ("", "all"):
        return lambda _entry: True
    kind, _, value = scope.partition(":")
    if kind == "event" and value:
        return lambda entry: str(entry.get("name", "")).startswith(value)
    if kind in SCOPE_KEYS and value.isdigit():
        key, wanted = SCOPE_KEYS[kind], int(value)

        def accepts(entry: dict[str, Any]) -> bool:
            payload = entry.get("payload")
            return isinstance(payload, dict) and payload.get(key) == wanted

        return accepts
    raise InvalidRequest(f"Unknown scope {scope!r}: use all, event:<prefix>, conversation:<id>, chat:<id>, "
                         "run:<id> or job:<id>.", scope=scope)


def _start(start_id: str | None, last_event_id: str | None) -> str:
    return last_event_id or start_id or "$"


@router.get("/queue/stream")
async def queue_stream(request: Request, scope: str = Query("all"), start_id: str | None = Query(None),
                       last_event_id: str | None = Header(None)) -> EventSourceResponse:
    """Pipeline events (sealing, analysis readiness, jobs, runs) for a scope, live; `start_id` (or
    Last-Event-ID) resumes after that stream entry ("0" replays what the stream still holds)."""
    accepts = scope_filter(scope)
    frames = read_stream(require_broker(request.app.state.settings.redis_url), STREAM,
                         start_id=_start(start_id, last_event_id), accepts=accepts)
    return EventSourceResponse(frames, headers=SSE_HEADERS)


@router.get("/redis_stream/{stream}")
async def redis_stream(stream: str, request: Request, start_id: str | None = Query(None),
                       last_event_id: str | None = Header(None)) -> EventSourceResponse:
    """Any ChatStats stream (`chatstats:*`) as SSE, resumable by entry id."""
    frames = read_stream(require_broker(request.app.state.settings.redis_url), check_stream_name(stream),
                         start_id=_start(start_id, last_event_id))
    return EventSourceResponse(frames, headers=SSE_HEADERS)
