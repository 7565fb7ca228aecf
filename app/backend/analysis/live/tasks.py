"""Celery tasks of the live passes (thin: each calls one service of `backend.analysis.live.service`).

- `llm.call_live_pass` (llm queue, the gevent worker; sent with a countdown by the message.created
  handler): clears the conversation's debounce key, asks the model about the new messages, then sends
- `analysis.persist_live_result` (db queue, the single writer).
The call is named `llm.` (not `analysis.live_pass`) because tasks are routed by name prefix and a
network call must not hold the single writer.
"""

from __future__ import annotations

from typing import Any

from backend.analysis.live import service as live
from backend.config import get_settings
from backend.db.engine import get_engine
from backend.events.bus import redis_client
from backend.events.publish import relay_now
from backend.llm.errors import LLMTransientError
from backend.worker import task_refs
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask, TransientError, redacted_argsrepr


class LiveModelUnavailable(TransientError):
    """The provider failed in a way a later attempt can get past (rate limit, timeout, 5xx)."""


@app.task(name=task_refs.CALL_LIVE_PASS.name, base=ChatStatsTask, ignore_result=True, max_retries=8,
          retry_backoff_base_s=5.0, retry_backoff_max_s=300.0)
def call_live_pass(conversation_id: int, pass_name: str) -> bool:
    settings = get_settings()
    if settings.redis_url:  # messages from now on schedule the next run
        redis_client(settings.redis_url).delete(live.debounce_key(conversation_id))
    try:
        payload = live.call_live_pass(get_engine(), conversation_id, pass_name)
    except LLMTransientError as exc:
        raise LiveModelUnavailable(str(exc)) from exc
    if payload is None:
        return False
    persist_live_result.apply_async((payload,), argsrepr=redacted_argsrepr(payload))
    return True


@app.task(name=task_refs.PERSIST_LIVE_RESULT.name, base=ChatStatsTask, ignore_result=True)
def persist_live_result(payload: dict[str, Any]) -> bool:
    written = live.persist_live_result(get_engine(), payload)
    if written:
        relay_now()  # analysis.job_done
    return written
