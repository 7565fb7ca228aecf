from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings

TOKEN = "test-token-assistant-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _ids(sql: str) -> list[int]:
    with sqlite3.connect(get_settings().central_db_path) as conn:
        return [row[0] for row in conn.execute(sql)]


def test_threads_contexts_and_documents_round_trip(imported):
    chats = _ids("SELECT id FROM chats ORDER BY id LIMIT 2")
    contacts = _ids("SELECT id FROM contacts ORDER BY id LIMIT 1")
    with TestClient(create_app(token=TOKEN), base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        created = client.post("/api/assistant/threads", json={"title": "Trip", "chat_ids": chats[:1]})
        assert created.status_code == 201
        thread = created.json()
        assert thread["title"] == "Trip" and thread["unread"] is False and thread["latest_message"] is None
        tid = thread["id"]
        other = client.post("/api/assistant/threads", json={}).json()
        assert other["title"] == "New chat"

        assert client.get(f"/api/assistant/threads/{tid}/contexts").json() == {"chat_ids": chats[:1], "contact_ids": []}
        put = client.put(f"/api/assistant/threads/{tid}/contexts", json={"chat_ids": chats, "contact_ids": contacts})
        assert put.json() == {"chat_ids": chats, "contact_ids": contacts}

        assert client.patch(f"/api/assistant/threads/{tid}", json={"title": "Summer trip"}).json()["title"] == "Summer trip"
        listed = client.get("/api/assistant/threads").json()["threads"]
        assert [t["id"] for t in listed] == [tid, other["id"]]  # the one touched last comes first

        first = client.post(f"/api/assistant/threads/{tid}/documents", json={"title": "Plan", "content": "v1"}).json()
        client.put(f"/api/assistant/threads/{tid}/contexts", json={"chat_ids": chats[:1], "contact_ids": []})
        second = client.post(f"/api/assistant/threads/{tid}/documents", json={"title": "Plan", "content": "v2"}).json()
        notes = client.post(f"/api/assistant/threads/{tid}/documents", json={"title": "Notes", "content": "n"}).json()
        assert (first["version"], second["version"], notes["version"]) == (1, 2, 1)
        assert first["context"] == {"chat_ids": chats, "contact_ids": contacts}  # the context when it was saved
        assert second["context"] == {"chat_ids": chats[:1], "contact_ids": []}
        latest = client.get(f"/api/assistant/threads/{tid}/documents").json()["documents"]
        assert [(d["title"], d["version"]) for d in latest] == [("Notes", 1), ("Plan", 2)]
        every = client.get(f"/api/assistant/threads/{tid}/documents?all_versions=true").json()["documents"]
        assert [(d["title"], d["version"]) for d in every] == [("Notes", 1), ("Plan", 2), ("Plan", 1)]
        assert second["read_at"] is None
        assert client.post(f"/api/assistant/documents/{second['id']}/read").json()["read_at"] is not None

        assert client.delete(f"/api/assistant/threads/{tid}").status_code == 204
        gone = client.get(f"/api/assistant/threads/{tid}")
        assert gone.status_code == 404 and gone.json()["code"] == "thread_not_found"
        assert [t["id"] for t in client.get("/api/assistant/threads").json()["threads"]] == [other["id"]]
        assert client.get(f"/api/assistant/documents/{second['id']}").status_code == 404


def test_asking_stores_the_question_and_a_pending_reply(imported):
    with TestClient(create_app(token=TOKEN), base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        tid = client.post("/api/assistant/threads", json={"title": "Q"}).json()["id"]
        asked = client.post(f"/api/assistant/threads/{tid}/messages", json={"content": "Where is the party?"}).json()
        assert asked["user_message"]["content"] == "Where is the party?"
        messages = client.get(f"/api/assistant/threads/{tid}/messages").json()["messages"]
        assert [(m["role"], m["status"]) for m in messages] == [("user", "done"), ("assistant", "pending")]
        assert messages[1]["id"] == asked["assistant_message_id"]
        assert asked["stream_url"] == f"/api/assistant/threads/{tid}/messages/{messages[1]['id']}/stream"
        assert client.post("/api/assistant/threads/999/messages", json={"content": "x"}).status_code == 404
        assert client.post(f"/api/assistant/threads/{tid}/messages", json={"content": ""}).status_code in (400, 422)
