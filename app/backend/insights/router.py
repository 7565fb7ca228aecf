from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from backend.insights import service
from backend.insights.schemas import Bucket, ChatInsights, ConversationInsights, RankedChats
from backend.insights.stats.metrics import metrics_markdown
from backend.insights.stats.schemas import (
    ChatStats,
    DrillDown,
    MetricsDoc,
    Overview,
    PersonRank,
    PersonStats,
    StatsBucket,
    YearList,
    YearReview,
)

router = APIRouter(prefix="/insights", tags=["insights"])

_PERIOD = Query(None, description="30d, this_year, last_year or all (default)")
_SINCE = Query(None, description="local date YYYY-MM-DD (inclusive); wins over the preset")
_UNTIL = Query(None, description="local date YYYY-MM-DD (inclusive)")
_BUCKET = Query(None, description="day, week or month; chosen from the period's length when left out")


@router.get("/overview", response_model=Overview)
def get_overview(request: Request, period: str | None = _PERIOD, since: str | None = _SINCE,
                 until: str | None = _UNTIL, bucket: StatsBucket | None = _BUCKET,
                 limit: int = Query(10, ge=1, le=100)) -> Overview:
    """Totals, activity, hour x weekday, people ranked, streaks and reactions over a period."""
    return service.overview(request.app.state.engine, service.make_period(period, since, until), bucket=bucket,
                            limit=limit)


@router.get("/people", response_model=list[PersonRank])
def list_people(request: Request, period: str | None = _PERIOD, since: str | None = _SINCE,
                until: str | None = _UNTIL, limit: int = Query(50, ge=1, le=1000)) -> list[PersonRank]:
    """People ranked by messages exchanged in one-to-one chats."""
    return service.top_people(request.app.state.engine, service.make_period(period, since, until), limit=limit)


@router.get("/people/{contact_id}", response_model=PersonStats)
def get_person(contact_id: int, request: Request, period: str | None = _PERIOD, since: str | None = _SINCE,
               until: str | None = _UNTIL, bucket: StatsBucket | None = _BUCKET) -> PersonStats:
    """One person: messages, who starts, response times, streaks, emoji, words, reactions, activity."""
    return service.person_stats(request.app.state.engine, contact_id, service.make_period(period, since, until),
                                bucket=bucket)


@router.get("/chats/{chat_id}/stats", response_model=ChatStats)
def get_chat_stats(chat_id: int, request: Request, period: str | None = _PERIOD, since: str | None = _SINCE,
                   until: str | None = _UNTIL, bucket: StatsBucket | None = _BUCKET) -> ChatStats:
    """One chat: members' shares, reactions, who replies to whom, activity."""
    return service.chat_stats(request.app.state.engine, chat_id, service.make_period(period, since, until),
                              bucket=bucket)


@router.get("/messages", response_model=DrillDown)
def list_messages_behind(request: Request, since_ms: int | None = Query(None, description="unix ms, inclusive"),
                         until_ms: int | None = Query(None, description="unix ms, exclusive"),
                         contact_id: int | None = Query(None, description="a person's one-to-one chats"),
                         chat_id: int | None = Query(None), weekday: int | None = Query(None, ge=0, le=6),
                         hour: int | None = Query(None, ge=0, le=23),
                         limit: int = Query(100, ge=1, le=500)) -> DrillDown:
    """The messages behind a bar, a heatmap cell (local weekday, Monday = 0, and hour) or a person."""
    cell = (weekday, hour) if weekday is not None and hour is not None else None
    return service.messages_behind(request.app.state.engine, since_ms=since_ms, until_ms=until_ms,
                                   contact_id=contact_id, chat_id=chat_id, cell=cell, limit=limit)


@router.get("/years", response_model=YearList)
def list_years(request: Request) -> YearList:
    """Every calendar year (local time) with messages."""
    return service.list_years(request.app.state.engine)


@router.get("/years/{year}", response_model=YearReview)
def get_year(year: int, request: Request) -> YearReview:
    """The yearly review: top people, busiest day, new people, longest conversation, emoji, streaks."""
    return service.year_review(request.app.state.engine, year)


@router.get("/metrics", response_model=MetricsDoc)
def get_metrics() -> MetricsDoc:
    """The definition of every metric (METRICS.md)."""
    return MetricsDoc(markdown=metrics_markdown())


@router.get("/chats", response_model=RankedChats)
def rank_chats(
    request: Request,
    rank: Literal["volume"] = Query("volume"),
    limit: int = Query(20, ge=1, le=200),
    since: int | None = Query(None, description="unix ms; the last 365 days when left out"),
) -> RankedChats:
    """Chats ranked by how many messages they saw since `since`."""
    return service.rank_chats(request.app.state.engine, limit=limit, since=since)


@router.get("/chats/{chat_id}", response_model=ChatInsights)
def get_chat_insights(
    chat_id: int,
    request: Request,
    bucket: Bucket = Query("day"),
    since: int | None = Query(None, description="unix ms; the activity timeline starts here"),
) -> ChatInsights:
    """Summaries, topics, emotions per participant, entities, humour and activity of one chat."""
    return service.get_chat_insights(request.app.state.engine, chat_id, bucket=bucket, since=since)


@router.get("/conversations/{conversation_id}", response_model=ConversationInsights)
def get_conversation_insights(conversation_id: int, request: Request) -> ConversationInsights:
    """Each pass's analysis of the conversation with the rows it found."""
    return service.get_conversation_insights(request.app.state.engine, conversation_id)
