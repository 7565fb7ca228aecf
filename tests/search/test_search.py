from __future__ import annotations

import json
import subprocess
import sys

from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings
from backend.search import service
from backend.vectors import index as vindex
from tests.api_fixtures import AUTH, TOKEN


def test_embedding_skips_unchanged_chunks(corpus):
    engine, _, stats = corpus
    assert stats["embedded"] == stats["chunks"] > 100
    again = service.embed_conversations(engine)
    assert again["embedded"] == 0 and again["unchanged"] == stats["chunks"] and again["deleted"] == 0
    with engine.connect() as conn:
        dims = conn.exec_driver_sql("SELECT DISTINCT dims, length(vector) FROM embeddings").all()
    assert dims == [(384, 384 * 4)]


def test_hybrid_finds_planted_topics_with_their_messages(corpus):
    engine, topics, _ = corpus
    assert len(topics) == 4
    for topic in topics:
        results = service.hybrid_search(engine, " ".join(topic["keywords"]), limit=5)
        top = results[0]
        assert top["conversation_id"] in topic["conversation_ids"], topic["key"]
        assert {m["id"] for m in top["messages"]} <= topic["message_ids"]
        assert top["messages"] and all(m["sender"] and m["sent_at"] for m in top["messages"])


def test_vector_search_finds_a_topic_without_shared_words(corpus):
    engine, topics, _ = corpus
    lisbon = next(t for t in topics if t["key"] == "lisbon_trip")
    results = service.hybrid_search(engine, "holiday in Portugal", mode="vector", limit=10)
    assert any(r["conversation_id"] in lisbon["conversation_ids"] for r in results)
    assert service.hybrid_search(engine, "holiday in Portugal", mode="fts", limit=10) == [] or all(
        r["conversation_id"] not in lisbon["conversation_ids"]
        for r in service.hybrid_search(engine, "holiday in Portugal", mode="fts", limit=10))


def test_filters(corpus):
    engine, topics, _ = corpus
    topic = topics[0]
    q = " ".join(topic["keywords"])
    in_chat = service.hybrid_search(engine, q, chat_id=topic["chat_id"], limit=50)
    assert in_chat and all(m_chat == topic["chat_id"] for r in in_chat for m_chat in [r["chat_id"]])
    other = service.hybrid_search(engine, q, chat_id=topic["chat_id"] + 1000, limit=50)
    assert other == []
    with engine.connect() as conn:
        first_at, contact = conn.exec_driver_sql(
            "SELECT min(sent_at), (SELECT contact_id FROM chat_participants WHERE chat_id = ? LIMIT 1) "
            "FROM messages WHERE guid IN ({})".format(",".join("?" * len(topic["message_guids"]))),
            (topic["chat_id"], *topic["message_guids"])).one()
    later = service.hybrid_search(engine, q, since=first_at + 86_400_000, limit=50)
    assert all(m["sent_at"] >= first_at + 86_400_000 for r in later for m in r["messages"])
    assert not any(r["conversation_id"] in topic["conversation_ids"] for r in later)
    earlier = service.hybrid_search(engine, q, until=first_at, limit=50)
    assert all(m["sent_at"] < first_at for r in earlier for m in r["messages"])
    by_contact = service.hybrid_search(engine, q, contact_id=contact, limit=50)
    assert any(r["conversation_id"] in topic["conversation_ids"] for r in by_contact)
    with engine.connect() as conn:
        chats = {row[0] for row in conn.exec_driver_sql(
            "SELECT chat_id FROM chat_participants WHERE contact_id = ?", (contact,))}
    assert {r["chat_id"] for r in by_contact} <= chats


def _labelled_queries(topics: list[dict]) -> list[tuple[str, set[int]]]:
    queries = []
    for topic in topics:
        queries.append((topic["title"], topic["conversation_ids"]))
        queries.append((" ".join(topic["keywords"]), topic["conversation_ids"]))
        queries.extend((keyword, topic["conversation_ids"]) for keyword in topic["keywords"])
    return queries


def test_hybrid_recall_at_10_is_at_least_each_method_alone(corpus):
    engine, topics, _ = corpus
    queries = _labelled_queries(topics)

    def recall(mode: str) -> float:
        hits = 0.0
        for q, relevant in queries:
            found = {r["conversation_id"] for r in service.hybrid_search(engine, q, mode=mode, limit=10)}
            hits += len(found & relevant) / len(relevant)
        return hits / len(queries)

    scores = {mode: recall(mode) for mode in ("fts", "vector", "hybrid")}
    assert scores["hybrid"] >= scores["fts"] and scores["hybrid"] >= scores["vector"], scores
    assert scores["hybrid"] >= 0.9, scores


def test_index_rebuilds_and_reloads_for_search(corpus):
    engine, topics, _ = corpus
    q = " ".join(topics[1]["keywords"])
    before = service.hybrid_search(engine, q, mode="vector", limit=3)
    vindex.index_path(get_settings().embedding_model).unlink()
    vindex.build_index(engine, model=get_settings().embedding_model)  # bumps the version: the cache reloads
    assert service.hybrid_search(engine, q, mode="vector", limit=3) == before


def test_api_and_cli(corpus):
    engine, topics, _ = corpus
    topic = topics[2]
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        response = client.get("/api/search/conversations", params={"q": " ".join(topic["keywords"]), "limit": 5})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["results"][0]["conversation_id"] in topic["conversation_ids"]
        assert client.get("/api/search", params={"q": ""}).status_code in (400, 422)
        narrowed = client.get("/api/search/conversations",
                              params={"q": topic["keywords"][0], "chat_id": topic["chat_id"]}).json()
        assert {r["chat_id"] for r in narrowed["results"]} == {topic["chat_id"]}
    out = subprocess.run([sys.executable, "-m", "backend.cli.main", "search", " ".join(topic["keywords"]), "--limit",
                          "3", "--conversations"], capture_output=True, text=True, check=True, timeout=120)
    printed = json.loads(out.stdout.strip().splitlines()[-1])
    assert printed["results"][0]["conversation_id"] in topic["conversation_ids"]


def test_fts_quotes_the_users_words(corpus):
    engine, _, _ = corpus
    assert service.fts_expression('cake" OR NEAR(x') == '"cake" OR "near"'  # "or" is a stopword: dropped
    assert service.fts_expression("see you at the lake") == '"see" OR "lake"'
    assert service.fts_expression("what about you") == '"what" OR "about" OR "you"'  # stopwords alone: kept
    assert service.hybrid_search(engine, '"*) ( :', mode="fts") == []
    operators = service.hybrid_search(engine, 'Lisbon" AND NOT (', mode="fts", limit=50)
    assert operators and all(any(w in (m["text"] or "").lower() for w in ("lisbon", "and", "not")
                                 for m in r["messages"]) for r in operators)


def test_a_filtered_vector_search_covers_a_small_chat_however_far_its_chunks_rank_overall(corpus):
    engine, topics, _ = corpus
    model = get_settings().embedding_model
    with engine.connect() as conn:
        chat_id, chunks = conn.exec_driver_sql(
            "SELECT v.chat_id, count(*) FROM embeddings e JOIN conversations v ON v.id = e.ref_id "
            "WHERE e.kind = 'chunk' GROUP BY v.chat_id ORDER BY count(*) LIMIT 1").one()
    unfiltered = {key: None for key in ("chat_id", "contact_id", "since", "until", "chat_ids")}
    # a query whose 10 nearest chunks overall (what a search filtering afterwards would look through) all
    # lie in other chats
    query = next((q for t in topics for q in (t["title"], *t["keywords"])
                  if chat_id not in {hit["chat_id"] for hit in _chunk_chats(
                      engine, service.vector_ranking(engine, q, unfiltered, model=model, limit=10))}), None)
    assert query is not None
    found = service.vector_ranking(engine, query, {**unfiltered, "chat_id": chat_id}, model=model, limit=2)
    assert len(found) == min(2, chunks) and {hit["chat_id"] for hit in _chunk_chats(engine, found)} == {chat_id}


def _chunk_chats(engine, hits: list[dict]) -> list[dict]:
    with engine.connect() as conn:
        return [{"chat_id": conn.exec_driver_sql("SELECT chat_id FROM conversations WHERE id = ?",
                                                 (hit["ref_id"],)).scalar_one()} for hit in hits]
