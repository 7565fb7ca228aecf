"""EventBus handlers of search: a sealed conversation gets its chunks embedded, a persisted analysis its vector
(gathered: one task embeds many analyses, see coalesce.py)."""

from __future__ import annotations

from backend.config import get_settings
from backend.events.bus import redis_client
from backend.events.handlers import handles
from backend.events.types import AnalysisJobDone, ConversationSealed
from backend.search import coalesce
from backend.worker import task_refs
from backend.worker.celery_app import app


@handles(ConversationSealed)
def embed_when_sealed(event: ConversationSealed) -> None:
    task_refs.EMBED_CONVERSATIONS.send(app, [event.conversation_id])


@handles(AnalysisJobDone)
def embed_analysis_when_done(event: AnalysisJobDone) -> None:
    """Gathered in Redis: one task embeds the analyses of every conversation persisted meanwhile."""
    url = get_settings().redis_url
    if not url:
        task_refs.EMBED_ANALYSES.send(app, [event.conversation_id])
        return
    if coalesce.request(redis_client(url), event.conversation_id):
        task_refs.EMBED_REQUESTED_ANALYSES.send(app)
