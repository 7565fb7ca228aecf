"""Partial matches: words found inside longer words (trigram index) and short tokens of scripts written without
spaces, listed after the word matches and counted exactly in `partial`; the trigram index follows live edits.
Every count is checked against one computed here with Python's `in` over the texts of the database."""

from __future__ import annotations

import re
import sqlite3
import unicodedata

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.search.message_search import PARTIAL_BELOW, search_messages
from backend.source.demo.live import LiveSourceWriter

TEXTS = [
    "Dinner at the Spinner bar?", "the winner takes it all", "INNERMOST thoughts", "inner peace",
    "今日は東京に行く", "東京タワーが見える", "Привет, как дела?", "ok see you", "a book by the lake",
    "spin the beginner wheel",
]


def _texts() -> dict[int, str]:
    db = sqlite3.connect(get_settings().central_db_path)
    try:
        return dict(db.execute(
            "SELECT id, text FROM messages WHERE deleted_at IS NULL AND is_unsent = 0 AND kind = 'message' "
            "AND text IS NOT NULL AND text != ''").fetchall())
    finally:
        db.close()


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def _word_start(text: str, word: str) -> bool:
    return any(token.startswith(word) for token in re.findall(r"[^\W_]+", _fold(text)))


def _expected(word: str) -> tuple[set[int], set[int]]:
    """(word matches, partial matches) of a one-word query, from the texts."""
    texts = _texts()
    words = {i for i, t in texts.items() if _word_start(t, word)}
    if len(word) >= 3:
        inside = {i for i, t in texts.items() if word in t.lower()}
    elif not word.isascii():
        inside = {i for i, t in texts.items() if word in t}
    else:
        inside = set()
    return words, inside - words


def _walk(engine, q: str, sort: str) -> tuple[dict, list[dict]]:
    out, offset = [], 0
    while True:
        page = search_messages(engine, q, sort=sort, offset=offset, limit=7, mode="fts")
        out += page["results"]
        if len(page["results"]) < 7:
            return page, out
        offset += 7


def test_partial_matches_follow_the_word_matches_with_exact_counts(live_sync, imported):
    with LiveSourceWriter(imported / "chat.db", seed=11) as writer:
        guids = [writer.write_message(text=text) for text in TEXTS]
    live_sync.run_pass()
    engine = get_engine(get_settings().central_db_path)
    checked = 0
    for q in ("inner", "INNER", "pin", "東京", "ривет", "ok", "ee"):
        word = q.lower()
        words, inside = _expected(word)
        assert len(words) < PARTIAL_BELOW, q  # else partial matches are not looked for
        for sort in ("relevance", "newest", "oldest"):
            last, walked = _walk(engine, q, sort)
            assert last["total"] == len(words) and last["partial"] == len(inside), (q, sort)
            ids = [r["id"] for r in walked]
            assert len(ids) == len(set(ids)) and set(ids) == words | inside, (q, sort)
            # words first, then the partial matches, each flagged
            assert [r["partial"] for r in walked] == sorted(r["partial"] for r in walked), (q, sort)
            assert {r["id"] for r in walked if r["partial"]} == inside, (q, sort)
        checked += bool(inside)
    assert checked >= 4  # inner, pin, 東京 and ривет have matches inside words
    # a partial hit is highlighted where the word sits inside the longer one
    hit = next(r for r in search_messages(engine, "inner", limit=50, mode="fts")["results"]
               if r["text"] == "the winner takes it all")
    assert hit["partial"] and [hit["text"][a:b] for a, b in hit["highlights"]] == ["inner"]

    # the trigram index follows edits and deletions
    before = _expected("xylo")
    with LiveSourceWriter(imported / "chat.db", seed=12) as writer:
        writer.edit_message(guids[8], "a xylophone by the lake")
        live_sync.run_pass()
        assert search_messages(engine, "ylop", mode="fts")["partial"] == len(_expected("ylop")[1]) == 1
        assert search_messages(engine, "xylo", mode="fts")["total"] == len(before[0]) + 1
        writer.edit_message(guids[8], "a book by the lake")
        live_sync.run_pass()
        assert search_messages(engine, "ylop", mode="fts")["partial"] == len(_expected("ylop")[1]) == 0
        writer.delete_message(guids[1])
        live_sync.run_pass()
    words, inside = _expected("inner")
    found = search_messages(engine, "inner", limit=50, mode="fts")
    assert found["total"] == len(words) and found["partial"] == len(inside)
    assert "the winner takes it all" not in {r["text"] for r in found["results"]}
