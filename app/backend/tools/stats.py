"""The statistics tools, over the insights service (one definition of every count): top people, a person's or
a chat's message figures, a year in review. Each cites the latest message behind a figure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from backend.db.session import session_scope
from backend.insights import service as insights
from backend.tools import repo
from backend.tools.exceptions import ToolArgumentsInvalid
from backend.tools.people import resolve_person
from backend.tools.schemas import (
    Cite,
    MessageStatsArgs,
    MessageStatsResult,
    PeriodOut,
    RankedPerson,
    TopPeopleArgs,
    TopPeopleResult,
    YearReviewArgs,
    YearReviewResult,
)


def _period(preset: str | None, since: str | None, until: str | None) -> Any:
    return insights.make_period(preset=None if (since or until) else preset, since=since, until=until)


def _period_out(period: Any) -> PeriodOut:
    return PeriodOut(label=period.label, since_ms=period.since_ms, until_ms=period.until_ms)


def _latest_cite(engine: Engine, chat_ids: list[int], period: Any) -> Cite | None:
    with session_scope(engine) as conn:
        row = repo.latest_message(conn, chat_ids=chat_ids, since=period.since_ms, until=period.until_ms)
    if row is None:
        return None
    return Cite(message_id=row["message_id"], conversation_id=row["conversation_id"], chat_id=row["chat_id"],
                sent_at=row["sent_at"], sender=row["sender"], text=row["text"])


def _ranked(rank: Any) -> RankedPerson:
    return RankedPerson(contact_id=rank.contact_id, name=rank.name, messages=rank.messages, sent=rank.sent,
                        received=rank.received, share=round(float(rank.share), 4),
                        first_message_at=rank.first_message_at, last_message_at=rank.last_message_at)


def top_people(engine: Engine, args: TopPeopleArgs) -> TopPeopleResult:
    """The people you exchange the most one-to-one messages with in a period, most first."""
    period = _period(args.period, args.since, args.until)
    ranks = insights.top_people(engine, period, limit=args.limit)
    cites = [c for r in ranks[:3] if (c := _latest_cite(engine, list(getattr(r, "chat_ids", []) or []), period))]
    return TopPeopleResult(period=_period_out(period), people=[_ranked(r) for r in ranks], citations=cites)


def message_stats(engine: Engine, args: MessageStatsArgs) -> MessageStatsResult:
    """Messages exchanged with a person (their one-to-one chats) or in a chat, in a period; who starts."""
    if (args.person is None) == (args.chat is None):
        raise ToolArgumentsInvalid("message_stats needs exactly one of person or chat.")
    period = _period(args.period, args.since, args.until)
    if args.person is not None:
        person = resolve_person(engine, args.person)
        person_stats = insights.person_stats(engine, person["contact_id"], period)
        chat_ids = list(person_stats.chat_ids)
        contact_id, chat_id, name = person_stats.contact_id, None, person_stats.name
        stats: Any = person_stats
    else:
        assert args.chat is not None  # exactly one of the two, checked above
        chat_stats = insights.chat_stats(engine, args.chat, period)
        chat_ids = [chat_stats.chat_id]
        contact_id, chat_id, name = None, chat_stats.chat_id, chat_stats.name
        stats = chat_stats
    cite = _latest_cite(engine, chat_ids, period)
    initiations = stats.initiations
    return MessageStatsResult(
        period=_period_out(period), contact_id=contact_id, chat_id=chat_id, name=name,
        messages=stats.messages.total, sent=stats.messages.sent, received=stats.messages.received,
        first_message_at=stats.first_message_at, last_message_at=stats.last_message_at,
        started_by_me=initiations.me, started_by_them=initiations.them, share_started_by_me=initiations.share_me,
        citations=[cite] if cite else [])


def year_review(engine: Engine, args: YearReviewArgs) -> YearReviewResult:
    """A year in numbers: messages, the top people, the busiest day, the longest conversation."""
    review = insights.year_review(engine, args.year)
    details: dict[str, object] = {"people": review.people, "chats": review.chats}
    cites: list[Cite] = []
    if review.busiest_day is not None:
        details["busiest_day"] = {"day": review.busiest_day.day, "messages": review.busiest_day.messages}
    if review.longest_conversation is not None:
        longest = review.longest_conversation
        details["longest_conversation"] = {"conversation_id": longest.conversation_id, "name": longest.name,
                                           "messages": longest.messages}
        cites.append(Cite(conversation_id=longest.conversation_id, chat_id=longest.chat_id,
                          sent_at=longest.started_at))
    return YearReviewResult(year=review.year, messages=review.messages.total, sent=review.messages.sent,
                            received=review.messages.received, top_people=[_ranked(r) for r in review.top_people],
                            details=details, citations=cites)
