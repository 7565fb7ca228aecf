"""Full-text search in the chat text (FTS5, bm25), the `chat_text` retriever's engine.

Hybrid search (bm25 + vectors by reciprocal rank) may replace it; keep the interface:
`search(conn, question=..., chat_ids=..., limit=..., since_ms=...) -> list[dict]`, each row a message
(message_id, conversation_id, chat_id, sent_at, text, is_from_me, sender), best first.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from backend.retrieval import repo

STOPWORDS = frozenset("""
a about after again all am an and any are as at be been before but by can could did do does doing for from
had has have he her him his how i if in into is it its me my no not of on or our she so than that the their
them then there they this to too up us was we were what when where which who whom why will with would you
your yours said say tell told ever get got just about anything something
""".split())
MIN_PREFIX = 4  # words this long also match longer forms ("concert" -> "concerts")


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
           since_ms: int | None = None) -> list[dict[str, Any]]:
    match = match_query(question)
    if match is None or limit <= 0:
        return []
    return repo.search_messages(conn, match=match, chat_ids=chat_ids, since_ms=since_ms, limit=limit)
