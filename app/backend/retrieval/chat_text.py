"""Search in the chat text for the `chat_text` retriever: hybrid search (FTS5 bm25 and vectors fused by
reciprocal rank, as `/api/search` ranks), flattened into messages.

`search(conn, question=..., chat_ids=..., limit=..., since_ms=..., mode=...) -> list[dict]`, each row a
message (message_id, conversation_id, chat_id, sent_at, text, is_from_me, sender), best first. The full-text
side matches the question's content words (stopwords dropped, long words by prefix); the vector side embeds
the whole question, so a message that says the same thing in other words is found too.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from backend.search import service as search_service
from backend.search.words import STOPWORDS

MIN_PREFIX = 4  # words this long also match longer forms ("concert" -> "concerts")
MODES = ("hybrid", "fts", "vector")


def match_query(question: str) -> str | None:
    """An FTS5 query: the question's content words, OR-ed, quoted (so no word is read as an operator)."""
    words: list[str] = []
    for word in re.findall(r"\w+", question.lower()):
        if len(word) > 1 and word not in STOPWORDS and word not in words:
            words.append(word)
    if not words:
        return None
    return " OR ".join(f'"{w}"*' if len(w) >= MIN_PREFIX else f'"{w}"' for w in words[:16])


def search(conn: Connection, *, question: str, chat_ids: list[int] | None, limit: int,
           since_ms: int | None = None, mode: str = "hybrid") -> list[dict[str, Any]]:
    """The best `limit` messages: conversations in fused rank order, their matched messages taken in turns
    (the best of each conversation first, then the second of each...), so the hits cover several
    conversations rather than one."""
    if limit <= 0 or not question.strip():
        return []
    if mode not in MODES:
        raise ValueError(f"unknown chat_text mode {mode!r}: use one of {', '.join(MODES)}")
    match = match_query(question)
    if match is None and mode == "fts":
        return []
    results = search_service.hybrid_search(
        conn.engine, question, chat_ids=chat_ids, since=since_ms, limit=limit, mode=mode,
        fts_match=match or "")  # "": a question of stopwords alone is left to the vectors
    rows: list[dict[str, Any]] = []
    turn = 0
    while len(rows) < limit:
        taken = [(result, result["messages"][turn]) for result in results if turn < len(result["messages"])]
        if not taken:
            break
        rows += [{"message_id": m["id"], "conversation_id": result["conversation_id"], "chat_id": result["chat_id"],
                  "sent_at": m["sent_at"], "text": m["text"], "is_from_me": m["is_from_me"], "sender": m["sender"]}
                 for result, m in taken]
        turn += 1
    return rows[:limit]
