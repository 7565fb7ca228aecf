"""The tools that read messages, people, conversations, analyses and commitments (statistics: `stats.py`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from backend.commitments import service as commitments_service
from backend.conversations import service as conversations_service
from backend.conversations.exceptions import ConversationNotFound
from backend.db.session import session_scope
from backend.search import message_search as search_service
from backend.search.message_search import SearchFilters
from backend.tools import repo
from backend.tools.dates import range_ms
from backend.tools.people import find_people, resolve_person
from backend.tools.schemas import (
    Cite,
    CommitmentItem,
    CommitmentsArgs,
    CommitmentsResult,
    ConversationAnalysisArgs,
    ConversationAnalysisResult,
    ConversationItem,
    ConversationMessage,
    FindPersonArgs,
    FindPersonResult,
    FoundMessage,
    GetConversationArgs,
    GetConversationResult,
    ListConversationsArgs,
    ListConversationsResult,
    PersonMatch,
    SearchArgs,
    SearchResult,
)


def search_messages(engine: Engine, args: SearchArgs, *, mode: str = "hybrid") -> SearchResult:
    """Messages matching the words (full text, and by meaning when vectors exist), best first, with the exact
    number of messages that contain them."""
    person = resolve_person(engine, args.person) if args.person else None
    since, until = range_ms(args.since, args.until)
    filters = SearchFilters(chat_ids=[args.chat] if args.chat is not None else None,
                            sender_ids=[person["contact_id"]] if person else None,
                            from_me=False if person else None, since=since, until=until)
    page = _search(engine, args.query, filters=filters, limit=args.limit, mode=mode)
    found = [FoundMessage(message_id=m["id"], conversation_id=m["conversation_id"], chat_id=m["chat_id"],
                          sent_at=m["sent_at"], sender=m["sender"] or "Unknown",
                          sender_contact_id=m["sender_contact_id"], is_from_me=m["is_from_me"], text=m["text"],
                          matched=m["matched"])
             for m in page["results"]]
    return SearchResult(query=args.query, person=person["name"] if person else None, total=page["total"],
                        messages=found, citations=[_cite(m) for m in found])


def _search(engine: Engine, q: str, *, filters: SearchFilters, limit: int, mode: str) -> dict[str, Any]:
    if mode != "fts":
        try:
            return search_service.search_messages(engine, q, filters=filters, limit=limit, mode=mode)  # type: ignore[arg-type]  # a Mode literal
        except Exception:  # noqa: BLE001 - no embedding model at hand: full text alone still answers
            pass
    return search_service.search_messages(engine, q, filters=filters, limit=limit, mode="fts")


def _cite(m: FoundMessage | ConversationMessage, *, conversation_id: int | None = None,
          chat_id: int | None = None) -> Cite:
    return Cite(message_id=m.message_id, conversation_id=getattr(m, "conversation_id", conversation_id),
                chat_id=getattr(m, "chat_id", chat_id), sent_at=m.sent_at, sender=m.sender, text=m.text)


def find_person(engine: Engine, args: FindPersonArgs) -> FindPersonResult:
    """Contacts whose name, nickname, number or email matches, best first, with their one-to-one chat."""
    matches = [PersonMatch(contact_id=p["contact_id"], name=p["name"] or "Unknown", chat_id=p["chat_id"],
                           messages=p["messages"], last_message_at=p["last_message_at"])
               for p in find_people(engine, args.name)]
    return FindPersonResult(query=args.name, matches=matches)


def _chat_scope(engine: Engine, *, chat: int | None, person: str | None) -> tuple[list[int], str | None]:
    if chat is not None:
        return [chat], None
    if person:
        found = resolve_person(engine, person)
        with session_scope(engine) as conn:
            return repo.list_direct_chat_ids(conn, contact_id=found["contact_id"]), found["name"]
    return [], None


def list_conversations(engine: Engine, args: ListConversationsArgs) -> ListConversationsResult:
    """A chat's (or a person's one-to-one chat's) conversations in a range, newest first, with summaries."""
    chat_ids, name = _chat_scope(engine, chat=args.chat, person=args.person)
    since, until = range_ms(args.since, args.until)
    with session_scope(engine) as conn:
        rows = repo.list_conversations(conn, chat_ids=chat_ids, since=since, until=until, limit=args.limit)
        counted = repo.count_messages(conn, chat_ids=chat_ids, since=since, until=until)
    items = [ConversationItem(**row) for row in rows]
    return ListConversationsResult(
        chat_id=chat_ids[0] if chat_ids else None, name=name, total=len(items), messages=counted["total"],
        conversations=items,
        citations=[Cite(message_id=i.first_message_id, conversation_id=i.conversation_id, chat_id=i.chat_id,
                        sent_at=i.started_at, text=i.first_text) for i in items])


def get_conversation(engine: Engine, args: GetConversationArgs) -> GetConversationResult:
    """One conversation's messages, oldest first."""
    detail = conversations_service.get_conversation(engine, args.id, limit=args.limit)
    messages = [ConversationMessage(message_id=m.id, sent_at=m.sent_at, sender=_sender(m), is_from_me=m.is_from_me,
                                    text=m.text) for m in detail.messages]
    return GetConversationResult(
        conversation_id=detail.id, chat_id=detail.chat_id, started_at=detail.started_at,
        last_message_at=detail.last_message_at, message_count=detail.message_count, messages=messages,
        citations=[_cite(m, conversation_id=detail.id, chat_id=detail.chat_id) for m in messages])


def _sender(message: Any) -> str:
    if message.is_from_me:
        return "Me"
    sender = message.sender
    name = (sender.name or sender.handle) if sender is not None else None
    return str(name or "Unknown")


def conversation_analysis(engine: Engine, args: ConversationAnalysisArgs) -> ConversationAnalysisResult:
    """A conversation's latest finished analysis: summary, topics, promises."""
    with session_scope(engine) as conn:
        if not repo.conversation_exists(conn, conversation_id=args.id):
            raise ConversationNotFound(f"No conversation {args.id}; list_conversations lists them.",
                                       conversation_id=args.id)
        analysis = repo.get_conversation_analysis(conn, conversation_id=args.id)
        topics = repo.list_analysis_topics(conn, analysis_id=analysis["id"]) if analysis else []
        promised = repo.list_conversation_commitments(conn, conversation_id=args.id)
    cites = [Cite(conversation_id=args.id)] + [Cite(message_id=c["message_id"], conversation_id=args.id,
                                                    sender=c["committed_by"], text=c["text"]) for c in promised]
    return ConversationAnalysisResult(
        conversation_id=args.id, analysed=analysis is not None, summary=analysis["summary"] if analysis else None,
        topics=topics, commitments=[c["text"] for c in promised], model=analysis["model"] if analysis else None,
        citations=cites)


def commitments(engine: Engine, args: CommitmentsArgs) -> CommitmentsResult:
    """Promises found in conversations: by me, to me (by them), or both; active ones due soonest first."""
    listed = commitments_service.list_commitments(engine, status=args.status, limit=1000).commitments
    if args.by != "anyone":
        listed = [c for c in listed if c.is_from_me == (args.by == "me")]
    items = [CommitmentItem(commitment_id=c.id, text=c.text, committed_by=c.committed_by, is_from_me=c.is_from_me,
                            status=c.status, due_at=c.due_at, due_text=c.due_text, chat_id=c.chat_id,
                            conversation_id=c.conversation_id, message_id=c.message_id) for c in listed]
    shown = items[:args.limit]
    return CommitmentsResult(
        status=args.status, by=args.by, total=len(items), commitments=shown,
        citations=[Cite(message_id=c.message_id, conversation_id=c.conversation_id, chat_id=c.chat_id,
                        sender=c.committed_by, text=c.text) for c in shown])
