"""Analysis results read back: what a chat talks about and how it feels, and which chats are busiest."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Engine

from backend.db.clock import now_ms
from backend.db.session import session_scope
from backend.insights import repo
from backend.insights.exceptions import ChatNotFound, ConversationNotFound
from backend.insights.schemas import (
    ActivityBucket,
    Analysis,
    Bucket,
    ChatInsights,
    ConversationInsights,
    ConversationSummary,
    Emotion,
    EmotionScore,
    Entity,
    EntityCount,
    HumorItem,
    ParticipantEmotions,
    RankedChat,
    RankedChats,
    Topic,
    TopicWeight,
)

YEAR_MS = 365 * 24 * 3600 * 1000
SUMMARIES = 5
TOP_TOPICS = 15
TOP_ENTITIES = 20
HUMOR_ITEMS = 20


def _humor(row: dict[str, Any]) -> HumorItem:
    return HumorItem(**{k: v for k, v in row.items() if not k.endswith("_json") and k != "analysis_id"},
                     reason=json.loads(row["reason_json"] or "[]"),
                     laughed_by=json.loads(row["laughed_by_json"] or "[]"))


def _emotions(rows: list[dict[str, Any]]) -> list[ParticipantEmotions]:
    by_person: dict[tuple[str, int | None], list[EmotionScore]] = defaultdict(list)
    for row in rows:  # ordered per participant, strongest first
        by_person[(row["participant"], row["contact_id"])].append(
            EmotionScore(emotion=row["emotion"], score=row["score"], conversations=row["conversations"]))
    return [ParticipantEmotions(participant=p, contact_id=c, emotions=e) for (p, c), e in by_person.items()]


def require_chat(conn: Connection, chat_id: int) -> dict[str, Any]:
    row = repo.get_chat(conn, chat_id=chat_id)
    if row is None:
        raise ChatNotFound(f"No chat {chat_id}; GET /api/chats lists them.", chat_id=chat_id)
    return row


def get_chat_insights(engine: Engine, chat_id: int, *, bucket: Bucket = "day",
                      since: int | None = None) -> ChatInsights:
    with session_scope(engine) as conn:
        require_chat(conn, chat_id)
        return ChatInsights(
            chat_id=chat_id,
            summaries=[ConversationSummary(**{k: v for k, v in r.items() if k != "updated_at"})
                       for r in repo.list_latest_summaries(conn, chat_id=chat_id, limit=SUMMARIES)],
            topics=[TopicWeight(**r) for r in repo.list_top_topics(conn, chat_id=chat_id, limit=TOP_TOPICS)],
            emotions=_emotions(repo.list_participant_emotions(conn, chat_id=chat_id)),
            entities=[EntityCount(**r) for r in repo.list_top_entities(conn, chat_id=chat_id, limit=TOP_ENTITIES)],
            humor=[_humor(r) for r in repo.list_chat_humor(conn, chat_id=chat_id, limit=HUMOR_ITEMS)],
            bucket=bucket,
            activity=[ActivityBucket(**r) for r in repo.list_activity(conn, chat_id=chat_id, bucket=bucket,
                                                                      since=since)],
        )


def rank_chats(engine: Engine, *, limit: int = 20, since: int | None = None) -> RankedChats:
    """Chats by visible messages since `since` (the last 365 days when not given)."""
    since = since if since is not None else now_ms() - YEAR_MS
    with session_scope(engine) as conn:
        rows = repo.list_chats_by_volume(conn, since=since, limit=limit)
    return RankedChats(rank="volume", since=since, chats=[
        RankedChat(chat_id=r["chat_id"], name=r["chat_name"] or r["participants"] or "Unknown",
                   is_group=r["is_group"], messages=r["messages"], sent=r["sent"],
                   received=r["messages"] - r["sent"], last_message_at=r["last_message_at"])
        for r in rows])


def get_conversation_insights(engine: Engine, conversation_id: int) -> ConversationInsights:
    with session_scope(engine) as conn:
        conversation = repo.get_conversation(conn, conversation_id=conversation_id)
        if conversation is None:
            raise ConversationNotFound(f"No conversation {conversation_id}; GET /api/chats/{{chat_id}} "
                                       "and its conversations list them.", conversation_id=conversation_id)
        analyses = repo.list_conversation_analyses(conn, conversation_id=conversation_id)
        findings: dict[str, dict[int, list[Any]]] = {name: defaultdict(list) for name in
                                                     ("entities", "topics", "emotions", "humor")}
        for row in repo.list_conversation_entities(conn, conversation_id=conversation_id):
            findings["entities"][row.pop("analysis_id")].append(Entity(**row))
        for row in repo.list_conversation_topics(conn, conversation_id=conversation_id):
            findings["topics"][row.pop("analysis_id")].append(Topic(**row))
        for row in repo.list_conversation_emotions(conn, conversation_id=conversation_id):
            findings["emotions"][row.pop("analysis_id")].append(Emotion(**row))
        for row in repo.list_conversation_humor(conn, conversation_id=conversation_id):
            findings["humor"][row["analysis_id"]].append(_humor(row))
    return ConversationInsights(
        conversation_id=conversation["id"], **{k: v for k, v in conversation.items() if k != "id"},
        analyses=[Analysis(**{k: v for k, v in a.items() if k != "result_json"},
                           result=json.loads(a["result_json"] or "{}"),
                           **{name: rows.get(a["id"], []) for name, rows in findings.items()})  # type: ignore[arg-type]  # pydantic checks
                  for a in analyses])


# Exact statistics over the mirror (the overview, people, one person, one chat, a year): implemented in
# backend.insights.stats, re-exported here as the insights service's public surface.
from backend.insights.stats.period import Period, make_period  # noqa: E402
from backend.insights.stats.service import (  # noqa: E402
    chat_stats,
    messages_behind,
    overview,
    person_stats,
    top_people,
)
from backend.insights.stats.year import list_years, year_review  # noqa: E402

__all__ = ["Period", "chat_stats", "get_chat_insights", "get_conversation_insights", "list_years", "make_period",
           "messages_behind", "overview", "person_stats", "rank_chats", "top_people", "year_review"]
