"""The six retrievers: each turns a slice's params and the question into items with text, source ids
and a token count. They only read; `fill.py` decides what fits.

Source ids name what an item rests on: "message:12", "conversation:4", "commitment:7", "analysis:topics:4".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from backend.retrieval import chat_text, repo
from backend.retrieval.tokens import count_tokens
from backend.search import analyses as analysis_search

DAY_MS = 86_400_000
DEFAULT_USER_NAME = "Me"
COMMITMENT_STATUS = {"open": "active"}  # the packs' word for a commitment not yet kept


@dataclass(frozen=True)
class Query:
    """What is being asked, and of which part of the mirror. `chat_ids` None: every chat."""

    question: str = ""
    chat_ids: list[int] | None = None
    conversation_id: int | None = None  # the conversation of the analysis packs (default: the latest in scope)
    checkpoint_message_id: int | None = None  # since/before_checkpoint scopes
    now_ms: int = 0
    model: str | None = None  # whose tokenizer counts


@dataclass(frozen=True)
class Item:
    kind: str  # message | conversation | analysis | artifact | user
    text: str
    source_ids: tuple[str, ...]
    tokens: int
    title: str | None = None
    sender: str | None = None
    sent_at: str | None = None
    conversation_id: int | None = None
    message_id: int | None = None

    def as_source(self, source_id: str) -> dict[str, Any]:
        """The item as the eve-answer-v1 prompt's `sources` entries are shaped."""
        return {"id": source_id, "kind": self.kind, "title": self.title, "text": self.text, "sender": self.sender,
                "sent_at": self.sent_at, "conversation_id": self.conversation_id, "message_id": self.message_id}


@dataclass
class State:
    """What earlier slices found, for later ones (around_hits, summaries of the hits' conversations)."""

    user_name: str = DEFAULT_USER_NAME
    hit_message_ids: list[int] = field(default_factory=list)
    hit_conversation_ids: list[int] = field(default_factory=list)


Retriever = Callable[[Connection, dict[str, Any], Query, State], list[Item]]


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="minutes")


def make_item(query: Query, *, kind: str, text: str, source_ids: tuple[str, ...], **fields: Any) -> Item:
    draft = Item(kind=kind, text=text, source_ids=source_ids, tokens=0, **fields)
    rendered = json.dumps(draft.as_source("S00"), ensure_ascii=False)
    return Item(kind=kind, text=text, source_ids=source_ids, tokens=count_tokens(rendered, model=query.model),
                **fields)


def _since(query: Query, params: dict[str, Any]) -> int | None:
    days = params.get("days")
    return None if days is None else int(query.now_ms - float(days) * DAY_MS)


def _message_item(query: Query, state: State, row: dict[str, Any]) -> Item:
    sender = state.user_name if row["is_from_me"] else (row["sender"] or "Unknown")
    return make_item(query, kind="message", text=row["text"], source_ids=(f"message:{row['message_id']}",),
                     sender=sender, sent_at=iso(row["sent_at"]), conversation_id=row["conversation_id"],
                     message_id=row["message_id"])


# ---- the six ------------------------------------------------------------------------------------------

def user_name(conn: Connection, params: dict[str, Any], query: Query, state: State) -> list[Item]:
    state.user_name = repo.get_user_name(conn) or DEFAULT_USER_NAME
    return [make_item(query, kind="user", text=state.user_name, source_ids=("settings:user.name",))]


def chat_text_hits(conn: Connection, params: dict[str, Any], query: Query, state: State) -> list[Item]:
    rows = chat_text.search(conn, question=query.question, chat_ids=query.chat_ids,
                            limit=int(params.get("limit", 12)), since_ms=_since(query, params),
                            mode=params.get("mode", "hybrid"))
    for row in rows:
        state.hit_message_ids.append(row["message_id"])
        if row["conversation_id"] is not None and row["conversation_id"] not in state.hit_conversation_ids:
            state.hit_conversation_ids.append(row["conversation_id"])
    return [_message_item(query, state, row) for row in rows]


def raw_conversation(conn: Connection, params: dict[str, Any], query: Query, state: State) -> list[Item]:
    scope = params.get("scope", "conversation")
    limit = int(params.get("max_messages", 200))
    if scope == "around_hits":
        seen = set(state.hit_message_ids)
        rows: list[dict[str, Any]] = []
        for message_id in state.hit_message_ids[: int(params.get("hits", 4))]:
            for row in repo.list_messages_around(conn, message_id=message_id, before=int(params.get("before", 3)),
                                                 after=int(params.get("after", 3))):
                if row["message_id"] not in seen:
                    seen.add(row["message_id"])
                    rows.append(row)
        return [_message_item(query, state, row) for row in rows]
    conversation_id = query.conversation_id or repo.get_latest_conversation_id(conn, chat_ids=query.chat_ids)
    if conversation_id is None:
        return []
    checkpoint = query.checkpoint_message_id
    if scope == "since_checkpoint":
        rows = repo.list_conversation_messages(conn, conversation_id=conversation_id, after_message_id=checkpoint,
                                               before_message_id=None, since_ms=None, limit=limit)
    elif scope == "before_checkpoint":
        if checkpoint is None:
            return []  # no checkpoint: the new messages are the whole conversation, nothing comes before
        rows = repo.list_conversation_messages(conn, conversation_id=conversation_id, after_message_id=None,
                                               before_message_id=checkpoint, since_ms=_since(query, params),
                                               limit=limit, newest=True)
    else:
        rows = repo.list_conversation_messages(conn, conversation_id=conversation_id, after_message_id=None,
                                               before_message_id=None, since_ms=None, limit=limit)
    return [_message_item(query, state, row) for row in rows]


def conversations(conn: Connection, params: dict[str, Any], query: Query, state: State) -> list[Item]:
    limit = int(params.get("limit", 6))
    if params.get("facet") == "contact_names":
        names = repo.list_contact_names(conn, limit=limit)
        if not names:
            return []
        return [make_item(query, kind="analysis", title="Contacts", text=", ".join(names), source_ids=("contacts",))]
    rows = repo.list_conversations(conn, conversation_ids=state.hit_conversation_ids or None,
                                   chat_ids=query.chat_ids, since_ms=_since(query, params), limit=limit)
    items = []
    for row in rows:
        when = f"{iso(row['started_at'])} to {iso(row['last_message_at'])}"
        title = f"Conversation in {row['chat_name'] or 'chat ' + str(row['chat_id'])}, {when}"
        text = row["summary"] or f"{row['message_count']} messages, not analysed yet."
        items.append(make_item(query, kind="conversation", title=title, text=text,
                               source_ids=(f"conversation:{row['conversation_id']}",),
                               sent_at=iso(row["last_message_at"]), conversation_id=row["conversation_id"]))
    return items


def analyses(conn: Connection, params: dict[str, Any], query: Query, state: State) -> list[Item]:
    """What the analyses found (topics, emotions, entities, commitments) per conversation.

    With a question and no conversation of its own, conversations come in order of how close their analyses
    (summary, topics, entities: embedded when persisted) are to the question; else the conversation of the
    query, or those of the chat text hits, newest first.
    """
    kinds = params.get("kind", ["topics", "emotions", "entities"])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    limit = int(params.get("limit", 6))
    ranked = _nearest_conversations(conn, params, query, limit)
    scope = ranked or _conversation_scope(query, state)
    items: list[Item] = []
    if "commitments" in kinds:
        items += _commitment_items(conn, params, query, scope, limit)
    facets = [k for k in kinds if k != "commitments"]
    if facets:
        rows = repo.list_analysis_facets(conn, kinds=facets, conversation_ids=scope, chat_ids=query.chat_ids,
                                         limit=len(ranked) * len(facets) if ranked else limit)
        if ranked:
            rank = {cid: i for i, cid in enumerate(ranked)}
            rows.sort(key=lambda row: rank[row["conversation_id"]])  # stable: the kinds' order within one
        for row in rows[:limit]:
            items.append(make_item(query, kind="analysis", title=row["kind"].capitalize(), text=row["items"] or "",
                                   source_ids=(f"analysis:{row['kind']}:{row['conversation_id']}",),
                                   sent_at=iso(row["last_message_at"]), conversation_id=row["conversation_id"]))
    return items[:limit]


def _nearest_conversations(conn: Connection, params: dict[str, Any], query: Query, limit: int) -> list[int]:
    """Conversations whose analyses are nearest the question, best first (empty: no question, a conversation
    given, or no analysis embedded in scope)."""
    if query.conversation_id is not None or not query.question.strip():
        return []
    hits = analysis_search.nearest_analyses(conn.engine, query.question, chat_ids=query.chat_ids,
                                            since=_since(query, params), limit=limit * 3)
    return list(dict.fromkeys(hit["conversation_id"] for hit in hits))[:limit]


def artifacts(conn: Connection, params: dict[str, Any], query: Query, state: State) -> list[Item]:
    """The commitments of the chats in scope, active ones due soonest first."""
    return _commitment_items(conn, {"status": ["open"]}, query, None, int(params.get("limit", 5)), kind="artifact")


def _conversation_scope(query: Query, state: State) -> list[int] | None:
    if query.conversation_id is not None:
        return [query.conversation_id]
    return state.hit_conversation_ids or None


def _commitment_items(conn: Connection, params: dict[str, Any], query: Query, conversation_ids: list[int] | None,
                      limit: int, *, kind: str = "analysis") -> list[Item]:
    status = params.get("status")
    statuses = None if status is None else [COMMITMENT_STATUS.get(s, s) for s in
                                            ([status] if isinstance(status, str) else status)]
    rows = repo.list_commitments(conn, statuses=statuses, conversation_ids=conversation_ids, chat_ids=query.chat_ids,
                                 limit=limit)
    items = []
    for row in rows:
        due = f" (due {row['due_text']})" if row["due_text"] else ""
        items.append(make_item(query, kind=kind, title="Commitment", text=f"{row['committed_by']}: {row['text']}{due}",
                               source_ids=(f"commitment:{row['commitment_id']}",), sender=row["committed_by"],
                               sent_at=iso(row["created_at"]), conversation_id=row["conversation_id"],
                               message_id=row["message_id"]))
    return items


RETRIEVERS: dict[str, Retriever] = {
    "user_name": user_name,
    "chat_text": chat_text_hits,
    "raw_conversation": raw_conversation,
    "conversations": conversations,
    "analyses": analyses,
    "artifacts": artifacts,
}
