"""Conversation chunks: windows of consecutive messages of one conversation, the unit that is embedded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

MAX_MESSAGES = 20
MAX_CHARS = 1000


@dataclass(frozen=True)
class Chunk:
    conversation_id: int
    index: int
    message_ids: tuple[int, ...]
    text: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def chunk_conversations(messages: Iterable[dict[str, Any]], *, max_messages: int = MAX_MESSAGES,
                        max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Split messages (ordered by conversation, then time) into chunks that never cross a conversation.

    A chunk closes at `max_messages` messages, or before a message that would take it past `max_chars`
    (a single longer message is a chunk of its own).
    """
    chunks: list[Chunk] = []
    for conversation_id, rows in groupby(messages, key=lambda row: row["conversation_id"]):
        ids: list[int] = []
        texts: list[str] = []
        size = 0
        index = 0
        for row in rows:
            body = row["text"].strip()
            if ids and (len(ids) >= max_messages or size + len(body) + 1 > max_chars):
                chunks.append(Chunk(conversation_id, index, tuple(ids), "\n".join(texts)))
                index += 1
                ids, texts, size = [], [], 0
            ids.append(row["id"])
            texts.append(body)
            size += len(body) + 1
        if ids:
            chunks.append(Chunk(conversation_id, index, tuple(ids), "\n".join(texts)))
    return chunks
