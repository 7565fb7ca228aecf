from __future__ import annotations

from backend.search.chunks import chunk_conversations


def _rows(conversation_id: int, texts: list[str], start: int = 1) -> list[dict]:
    return [{"id": start + i, "conversation_id": conversation_id, "text": t} for i, t in enumerate(texts)]


def test_chunks_never_cross_conversations_and_respect_limits():
    rows = _rows(1, ["hi"] * 45) + _rows(2, ["x" * 400] * 5, start=100) + _rows(3, ["y" * 3000], start=200)
    chunks = chunk_conversations(rows, max_messages=20, max_chars=1000)
    by_conv = {}
    for c in chunks:
        by_conv.setdefault(c.conversation_id, []).append(len(c.message_ids))
    assert by_conv == {1: [20, 20, 5], 2: [2, 2, 1], 3: [1]}
    assert [c.index for c in chunks if c.conversation_id == 1] == [0, 1, 2]
    assert chunks[0].text == "\n".join(["hi"] * 20)


def test_hash_changes_only_with_the_text():
    a = chunk_conversations(_rows(1, ["one", "two"]))[0]
    b = chunk_conversations(_rows(1, ["one", "two"], start=50))[0]
    c = chunk_conversations(_rows(1, ["one", "two!"]))[0]
    assert a.content_hash == b.content_hash != c.content_hash
