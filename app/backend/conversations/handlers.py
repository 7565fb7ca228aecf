"""EventBus handlers of conversations."""

from __future__ import annotations

from typing import Any

from backend.events.handlers import handles
from backend.worker import task_refs
from backend.worker.celery_app import app


@handles("conversation.sealed")
def finalize_when_sealed(payload: dict[str, Any]) -> None:
    task_refs.FINALIZE_CONVERSATION.send(app, payload["conversation_id"], payload["revision"])
