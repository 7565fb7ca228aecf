"""EventBus handlers of the live passes: a new message schedules (debounced) the conversation's live passes."""

from __future__ import annotations

from backend.analysis.live import service as live
from backend.config import get_settings
from backend.db.engine import get_engine
from backend.events.bus import redis_client
from backend.events.handlers import handles
from backend.events.types import MessageCreated
from backend.worker import task_refs
from backend.worker.celery_app import app


@handles(MessageCreated)
def schedule_live_passes(event: MessageCreated) -> None:
    def send(conversation_id: int, pass_name: str, countdown: float) -> None:
        task_refs.CALL_LIVE_PASS.send_with(app, {"countdown": countdown}, conversation_id, pass_name)

    live.schedule_live_passes(get_engine(), redis_client(get_settings().redis_url), send,
                              message_id=event.message_id, conversation_id=event.conversation_id)
