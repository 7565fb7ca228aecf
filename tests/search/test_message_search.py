"""Message search: exact totals against counts computed here from the texts, filters and the typed syntax,
sort orders, paging without gaps or repeats, highlights, symbols, the API and the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings
from backend.search.message_search import SearchFilters, search_messages
from tests.api_fixtures import AUTH, TOKEN


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def _rows() -> list[dict]:
    """Every searchable message, read straight from the database."""
    db = sqlite3.connect(get_settings().central_db_path)
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute(
        "SELECT m.id, m.text, m.chat_id, m.sent_at, m.is_from_me, m.sender_contact_id, m.has_attachments "
        "FROM messages m WHERE m.deleted_at IS NULL AND m.is_unsent = 0 AND m.kind = 'message' "
        "AND ((m.text IS NOT NULL AND m.text != '') OR m.has_attachments = 1)")]
    db.close()
    return rows


def _has_word_prefix(text: str | None, word: str) -> bool:
    return any(token.startswith(word) for token in re.findall(r"[^\W_]+", _fold(text or "")))


def _has_phrase(text: str | None, phrase: list[str]) -> bool:
    tokens = re.findall(r"[^\W_]+", _fold(text or ""))
    return any(tokens[i:i + len(phrase)] == phrase for i in range(len(tokens) - len(phrase) + 1))


def _all_pages(engine, q: str, *, sort: str, size: int, **kwargs) -> tuple[int, list[dict]]:
    out, offset, total = [], 0, None
    while True:
        page = search_messages(engine, q, sort=sort, offset=offset, limit=size, mode="fts", **kwargs)
        total = page["total"]
        out += page["results"]
        if len(page["results"]) < size:
            return total, out
        offset += size


def _common_word(rows: list[dict]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        for token in set(re.findall(r"[^\W_]+", _fold(row["text"] or ""))):
            if len(token) > 4:
                counts[token] = counts.get(token, 0) + 1
    return max(counts, key=lambda w: (counts[w], w))


def test_total_is_the_exact_count_of_matching_messages_for_words_emoji_and_phrases(corpus):
    engine, topics, _ = corpus
    rows = _rows()
    word = _common_word(rows)
    cases = {word: lambda t: _has_word_prefix(t, word)}
    emoji = [e for e in ("😂", "❤", "👍", "🎉", "😭", "🙏") if any(e in (r["text"] or "") for r in rows)]
    assert emoji, "the demo source has emoji"
    for e in emoji:
        cases[e] = lambda t, e=e: e in (t or "")
    cases['"surprise party"'] = lambda t: _has_phrase(t, ["surprise", "party"])
    cases['"the flights"'] = lambda t: _has_phrase(t, ["the", "flights"])
    cases["kitch"] = lambda t: _has_word_prefix(t, "kitch")  # a partial word
    cases[f"{word} {emoji[0]}"] = lambda t: _has_word_prefix(t, word) and emoji[0] in (t or "")
    for q, matches in cases.items():
        expected = sum(1 for r in rows if matches(r["text"]))
        assert expected > 0 or q.startswith(word), q
        found = search_messages(engine, q, mode="fts", limit=5)
        assert found["total"] == expected, q
        assert all(r["highlights"] for r in found["results"]), q


@pytest.mark.parametrize("walk_from", [500, 0])  # 0: every time-sorted page walks the messages by time
def test_sorts_and_paging_walk_every_match_once(corpus, monkeypatch, walk_from):
    from backend.search import message_search

    monkeypatch.setattr(message_search, "WALK_BY_TIME_FROM", walk_from)
    monkeypatch.setattr(message_search, "RANK_WINDOW", walk_from // 20)  # 0: bm25 over every match
    engine, _, _ = corpus
    rows = _rows()
    word = _common_word(rows)
    expected = {r["id"] for r in rows if _has_word_prefix(r["text"], word)}
    assert len(expected) > 25
    for sort in ("newest", "oldest", "relevance"):
        total, walked = _all_pages(engine, word, sort=sort, size=7)
        ids = [r["id"] for r in walked]
        assert total == len(expected) and len(ids) == len(set(ids)) and set(ids) == expected, sort
        times = [(r["sent_at"], r["id"]) for r in walked]
        if sort == "newest":
            assert times == sorted(times, reverse=True)
        if sort == "oldest":
            assert times == sorted(times)


def test_relevance_pages_past_the_fused_head_without_gaps(corpus, monkeypatch):
    from backend.search import message_search

    engine, _, _ = corpus
    monkeypatch.setattr(message_search, "RANKED", 10)  # a small head: pages cross into the bm25 tail
    rows = _rows()
    word = _common_word(rows)
    expected = {r["id"] for r in rows if _has_word_prefix(r["text"], word)}
    ids, offset = [], 0
    while page := search_messages(engine, word, offset=offset, limit=6)["results"]:
        ids += [r["id"] for r in page if r["matched"]]
        offset += 6
    assert len(ids) == len(set(ids)) and set(ids) == expected


def test_filters_and_typed_syntax(corpus):
    engine, topics, _ = corpus
    rows = _rows()
    word = _common_word(rows)
    db = sqlite3.connect(get_settings().central_db_path)
    chat_id, chat_name = db.execute(
        "SELECT id, display_name FROM chats WHERE display_name IS NOT NULL AND display_name != '' "
        "ORDER BY message_count DESC LIMIT 1").fetchone()
    sender_id, sender_name = db.execute(
        "SELECT c.id, c.first_name FROM contacts c JOIN messages m ON m.sender_contact_id = c.id "
        "WHERE c.first_name IS NOT NULL GROUP BY c.id ORDER BY count(*) DESC LIMIT 1").fetchone()
    same_first = {r[0] for r in db.execute("SELECT id FROM contacts WHERE first_name LIKE ? OR display_name LIKE ? "
                                           "OR last_name LIKE ? OR nickname LIKE ?", (f"{sender_name}%",) * 4)}
    named_chats = {r[0] for r in db.execute("SELECT id FROM chats WHERE display_name LIKE ?", (f"%{chat_name}%",))}
    times = sorted(r["sent_at"] for r in rows)
    middle = datetime.fromtimestamp(times[len(times) // 2] / 1000, UTC).date()
    middle_ms = int(datetime(middle.year, middle.month, middle.day, tzinfo=UTC).timestamp() * 1000)
    db.close()
    has = lambda r: _has_word_prefix(r["text"], word)  # noqa: E731 - a short predicate
    cases = [
        (f"{word} from:me", lambda r: has(r) and r["is_from_me"] == 1),
        (f"{word} from:them", lambda r: has(r) and r["is_from_me"] == 0),
        (f'{word} in:"{chat_name}"', lambda r: has(r) and r["chat_id"] in named_chats),
        (f"{word} from:{sender_name}", lambda r: has(r) and r["sender_contact_id"] in same_first),
        (f"{word} before:{middle.isoformat()}", lambda r: has(r) and r["sent_at"] < middle_ms),
        (f"{word} after:{middle.isoformat()}", lambda r: has(r) and r["sent_at"] >= middle_ms + 86_400_000),
        ("has:link", lambda r: re.search(r"https?://|www\.\w", r["text"] or "", re.I) is not None),
        ("has:attachment", lambda r: r["has_attachments"] == 1),
        (f"{word} from:nobody-by-this-name", lambda r: False),
    ]
    for q, keep in cases:
        expected = {r["id"] for r in rows if keep(r)}
        total, walked = _all_pages(engine, q, sort="newest", size=50)
        assert total == len(expected) and {r["id"] for r in walked} == expected, q
    assert any(len({r["id"] for r in rows if keep(r)}) > 0 for _, keep in cases[:6])
    # the same filters as API parameters
    by_param = search_messages(engine, word, filters=SearchFilters(chat_ids=[chat_id], from_me=False), mode="fts")
    assert by_param["total"] == sum(1 for r in rows if has(r) and r["chat_id"] == chat_id and not r["is_from_me"])


def test_a_question_ranks_its_topic_above_messages_sharing_function_words(corpus):
    engine, topics, _ = corpus
    for topic in topics:
        found = search_messages(engine, topic["title"], limit=10)
        assert {r["id"] for r in found["results"]} & topic["message_ids"], topic["key"]


def test_highlights_are_offsets_of_the_matched_words(corpus):
    engine, _, _ = corpus
    found = search_messages(engine, '"surprise party" dana', mode="fts", limit=50)
    assert found["total"] and sum(hit["matched"] for hit in found["results"]) == found["total"]
    for hit in found["results"]:
        spans = [hit["text"][a:b].lower() for a, b in hit["highlights"]]
        if hit["matched"]:  # every term
            assert "surprise party" in spans and any(s.startswith("dana") for s in spans)
        else:  # ranked for some of the terms: those are marked
            assert spans and set(spans) <= {"surprise party"} | {s for s in spans if s.startswith("dana")}


def test_api_and_cli(corpus):
    engine, topics, _ = corpus
    rows = _rows()
    word = _common_word(rows)
    expected = sum(1 for r in rows if _has_word_prefix(r["text"], word) and r["is_from_me"])
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        body = client.get("/api/search", params={"q": word, "from_me": "true", "sort": "newest", "limit": 3}).json()
        assert body["total"] == expected and len(body["results"]) == 3
        assert [r["sent_at"] for r in body["results"]] == sorted((r["sent_at"] for r in body["results"]), reverse=True)
        assert client.get("/api/search", params={"q": word, "sort": "sideways"}).status_code == 422
        assert client.get("/api/search", params={"q": word, "offset": -1}).status_code == 422
        assert client.get("/api/search", params={"q": '"*) ( : NEAR(' }).status_code == 200
    out = subprocess.run([sys.executable, "-m", "backend.cli.main", "search", f"{word} from:me", "--sort", "oldest",
                          "--limit", "2"], capture_output=True, text=True, check=True, timeout=120)
    printed = json.loads(out.stdout.strip().splitlines()[-1])
    assert printed["total"] == expected and len(printed["results"]) == 2
    bad = subprocess.run([sys.executable, "-m", "backend.cli.main", "search", word, "--sort", "sideways"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "relevance, newest or oldest" in (bad.stderr + bad.stdout)


@pytest.mark.parametrize(("text", "marks"), [
    ("lol 😂😂", {"😂"}), ("ok 👍🏽", {"👍🏽", "👍"}), ("❤️ you", {"❤"}), ("see https://x.io", {"has:link"}),
    ("🇵🇹 trip", {"🇵🇹"}), ("plain words", set()),
])
def test_marks_of_a_text(text, marks):
    from backend.search.marks import message_marks

    assert message_marks(text) == marks


def test_filters_alone_page_newest_first_and_an_empty_query_finds_nothing(corpus):
    engine, _, _ = corpus
    rows = _rows()
    linked = sorted((r for r in rows if re.search(r"https?://|www\.\w", r["text"] or "", re.I)),
                    key=lambda r: (r["sent_at"], r["id"]), reverse=True)
    assert linked
    found = search_messages(engine, "has:link", limit=5)  # relevance: with no words, newest first
    assert found["total"] == len(linked)
    assert [r["id"] for r in found["results"]] == [r["id"] for r in linked[:5]]
    for q in ("   ", "!!! ???", '""'):
        empty = search_messages(engine, q)
        assert empty["total"] == 0 and empty["results"] == [], q


def test_a_query_typed_again_is_not_embedded_again(corpus):
    engine, _, _ = corpus
    from backend.search.service import query_vectors

    query_vectors.clear()

    def embedded() -> int:
        db = sqlite3.connect(get_settings().central_db_path)
        try:
            return db.execute("SELECT count(*) FROM llm_calls WHERE purpose = 'search.query'").fetchone()[0]
        finally:
            db.close()

    before = embedded()
    first = search_messages(engine, "where should we eat tonight", mode="hybrid")
    again = search_messages(engine, "where  should we eat tonight", mode="hybrid", offset=0)  # spaces differ
    assert embedded() == before + 1
    assert [r["id"] for r in first["results"]] == [r["id"] for r in again["results"]]
    search_messages(engine, "where should we eat tonight from:me", mode="hybrid")  # same free text: cached
    assert embedded() == before + 1
