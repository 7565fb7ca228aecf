"""Eve offline: the common question forms answered from the tools, in plain sentences with the real numbers
and `[M<message_id>]` citations. A question the router does not know gets None (the caller quotes matching
messages and says that answering it needs a language model)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from backend.assistant.intents import Intent, parse
from backend.errors import BackendError
from backend.tools import schemas as s
from backend.tools.dates import day
from backend.tools.registry import call_tool_model

NO_MODEL = ("No language model is configured, so I can only answer common questions about your numbers and show "
            "matching messages. To ask anything else, set CHATSTATS_LLM_MODEL (for example ollama/llama3.1 for a "
            "model that runs on this computer, or openai/gpt-4o-mini with an API key).")

PRONOUNS = frozenset({"they", "he", "she", "them", "him", "her", "we", "you", "it"})


@dataclass
class OfflineAnswer:
    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    kind: str = ""


def answer(engine: Engine, question: str, *, contact_names: list[str] | None = None) -> OfflineAnswer | None:
    """The answer to a question of a known form; None for any other question."""
    intent = parse(question)
    if intent is None:
        return None
    if intent.person is not None and intent.person.lower() in PRONOUNS or intent.kind == "starts" and not intent.person:
        if not contact_names:
            return None if intent.kind == "said" else _ANSWERS[intent.kind](engine, replace(intent, person=None))
        intent = replace(intent, person=contact_names[0])
    try:
        return _ANSWERS[intent.kind](engine, intent)
    except BackendError as exc:
        return OfflineAnswer(text=exc.message, kind=intent.kind)


def _call(engine: Engine, name: str, args: dict[str, Any]) -> Any:
    return call_tool_model(engine, name, {k: v for k, v in args.items() if v is not None})


def _span_args(intent: Intent) -> dict[str, Any]:
    return {"since": intent.span.since, "until": intent.span.until}


def _cite(c: s.Cite) -> dict[str, Any]:
    return {"source_id": f"M{c.message_id}", "quote": (c.text or "")[:300], "kind": "message",
            "message_id": c.message_id, "conversation_id": c.conversation_id, "sender": c.sender,
            "sent_at": day(c.sent_at) or None}


def _refs(cites: list[s.Cite]) -> tuple[str, list[dict[str, Any]]]:
    usable = [c for c in cites if c.message_id is not None]
    return "".join(f" [M{c.message_id}]" for c in usable), [_cite(c) for c in usable]


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _top(engine: Engine, intent: Intent) -> OfflineAnswer:
    period = intent.span.preset if intent.span.preset and not intent.span.since else "all"
    result: s.TopPeopleResult = _call(engine, "top_people", {"period": period, **_span_args(intent), "limit": 5})
    label = intent.span.label
    if not result.people:
        return OfflineAnswer(text=f"You have no one-to-one messages {_when(label)}.", kind="top")
    first = result.people[0]
    refs, cites = _refs(result.citations[:1])
    text = (f"You text {first.name} the most {_when(label)}: {_n(first.messages, 'message')} ({first.sent:,} sent, "
            f"{first.received:,} received), {first.share:.0%} of your one-to-one messages.{refs}")
    if len(result.people) > 1:
        rest = ", ".join(f"{p.name} ({p.messages:,})" for p in result.people[1:4])
        text += f" Next come {rest}."
    return OfflineAnswer(text=text, citations=cites, kind="top")


def _when(label: str) -> str:
    return "of all time" if label == "all time" else label


def _stats(engine: Engine, intent: Intent) -> s.MessageStatsResult:
    return _call(engine, "message_stats", {"person": intent.person, "period": "all", **_span_args(intent)})


def _count(engine: Engine, intent: Intent) -> OfflineAnswer:
    stats = _stats(engine, intent)
    refs, cites = _refs(stats.citations)
    if stats.messages == 0:
        return OfflineAnswer(text=f"You exchanged no messages with {stats.name} {_when(intent.span.label)}.",
                             kind="count")
    return OfflineAnswer(
        text=(f"You exchanged {_n(stats.messages, 'message')} with {stats.name} {_when(intent.span.label)}: "
              f"{stats.sent:,} sent and {stats.received:,} received.{refs}"), citations=cites, kind="count")


def _last(engine: Engine, intent: Intent) -> OfflineAnswer:
    stats = _stats(engine, intent)
    if stats.last_message_at is None or not stats.citations:
        return OfflineAnswer(text=f"You have no messages with {stats.name} {_when(intent.span.label)}.", kind="last")
    latest = stats.citations[0]
    refs, cites = _refs([latest])
    who = "you wrote" if latest.sender == "Me" else f"{stats.name} wrote"
    quote = f": {who} \u201c{latest.text}\u201d" if latest.text else ""
    return OfflineAnswer(text=f"You last talked to {stats.name} on {day(stats.last_message_at)}{quote}.{refs}",
                         citations=cites, kind="last")


def _starts(engine: Engine, intent: Intent) -> OfflineAnswer:
    if intent.person is None:
        return OfflineAnswer(text="Whose conversations do you mean? Ask, for example, \u201cWho starts our "
                                  "conversations with Sam?\u201d", kind="starts")
    stats = _stats(engine, intent)
    me, them = stats.started_by_me or 0, stats.started_by_them or 0
    total = me + them
    if total == 0:
        return OfflineAnswer(text=f"You have no conversations with {stats.name} {_when(intent.span.label)}.",
                             kind="starts")
    refs, cites = _refs(stats.citations)
    leader = "You start" if me > them else f"{stats.name} starts" if them > me else "You and " + stats.name + " start"
    more = "more of them" if me != them else "them equally"
    return OfflineAnswer(
        text=(f"{leader} {more}: of your {_n(total, 'conversation')} with {stats.name} {_when(intent.span.label)}, "
              f"you started {me:,} ({me / total:.0%}) and {stats.name} started {them:,}.{refs}"),
        citations=cites, kind="starts")


def _said(engine: Engine, intent: Intent) -> OfflineAnswer:
    result: s.SearchResult = _call(engine, "search_messages", {"query": intent.topic, "person": intent.person,
                                                                 **_span_args(intent), "limit": 3})
    name = result.person or intent.person
    result.messages = [m for m in result.messages if m.matched]
    if not result.messages:
        return OfflineAnswer(text=f"I found no message from {name} about \u201c{intent.topic}\u201d.", kind="said")
    lines = [f"{name} wrote about \u201c{intent.topic}\u201d in {_n(result.total, 'message')}; the best matches:"]
    for m in result.messages:
        lines.append(f"- {day(m.sent_at)}: \u201c{m.text}\u201d [M{m.message_id}]")
    shown = {m.message_id for m in result.messages}
    cites = [_cite(c) for c in result.citations if c.message_id in shown]
    return OfflineAnswer(text="\n".join(lines), citations=cites, kind="said")


def _promises(engine: Engine, intent: Intent) -> OfflineAnswer:
    by = "me" if intent.kind == "promises_mine" else "them"
    result: s.CommitmentsResult = _call(engine, "commitments", {"status": "active", "by": by, "limit": 5})
    whose = "You have" if by == "me" else "People have"
    if result.total == 0:
        none = "You have no open promises" if by == "me" else "Nobody has an open promise to you"
        return OfflineAnswer(text=f"{none} in your analysed conversations.", kind=intent.kind)
    made = "made" if by == "me" else "made to you"
    lines = [f"{whose} {_n(result.total, 'open promise')} {made}:"]
    cites: list[dict[str, Any]] = []
    for c in result.commitments:
        due = f" (due {c.due_text or day(c.due_at)})" if c.due_text or c.due_at else ""
        who = "" if by == "me" else f"{c.committed_by}: "
        ref = f" [M{c.message_id}]" if c.message_id is not None else ""
        lines.append(f"- {who}\u201c{c.text}\u201d{due}{ref}")
    cites = [_cite(c) for c in result.citations if c.message_id is not None]
    return OfflineAnswer(text="\n".join(lines), citations=cites, kind=intent.kind)


def _summary(engine: Engine, intent: Intent) -> OfflineAnswer:
    result: s.ListConversationsResult = _call(engine, "list_conversations", {
        "person": intent.person, **_span_args(intent), "limit": 5})
    name = result.name or intent.person
    if result.messages == 0:
        return OfflineAnswer(text=f"You and {name} exchanged no messages {_when(intent.span.label)}.", kind="summary")
    text = (f"{intent.span.label.capitalize() if intent.span.label != 'all time' else 'In all'} you and {name} "
            f"exchanged {_n(result.messages, 'message')} in {_n(result.total, 'conversation')}.")
    lines = [text]
    cites: list[dict[str, Any]] = []
    for item in result.conversations[:3]:
        ref = f" [M{item.first_message_id}]" if item.first_message_id is not None else ""
        gist = item.summary or (f"it began with \u201c{item.first_text}\u201d" if item.first_text else "")
        lines.append(f"- {day(item.started_at)} ({_n(item.message_count, 'message')}): {gist}{ref}")
    cites = [_cite(c) for c in result.citations[:3] if c.message_id is not None]
    return OfflineAnswer(text="\n".join(lines), citations=cites, kind="summary")


def _year(engine: Engine, intent: Intent) -> OfflineAnswer:
    review: s.YearReviewResult = _call(engine, "year_review", {"year": intent.year})
    text = (f"In {review.year} you exchanged {_n(review.messages, 'message')} ({review.sent:,} sent, "
            f"{review.received:,} received).")
    if review.top_people:
        top = review.top_people[0]
        text += f" You texted {top.name} the most: {_n(top.messages, 'message')}."
    busiest = review.details.get("busiest_day")
    if isinstance(busiest, dict):
        text += f" Your busiest day was {busiest['day']} with {_n(int(busiest['messages']), 'message')}."
    return OfflineAnswer(text=text, kind="year")


_ANSWERS = {"top": _top, "count": _count, "last": _last, "starts": _starts, "said": _said,
            "promises_mine": _promises, "promises_theirs": _promises, "summary": _summary, "year": _year}
