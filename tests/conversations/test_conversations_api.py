from __future__ import annotations

from tests.api_fixtures import api, db, inbox_source, ok  # noqa: F401


def chat_conversations(api, chat_id: int, limit: int) -> list[dict]:
    items, before = [], None
    while True:
        params = {"limit": limit, **({"before": before} if before else {})}
        body = ok(api.get(f"/api/chats/{chat_id}/conversations", params=params))
        items += body["conversations"]
        before = body["next_before"]
        if before is None:
            return items


def test_conversations_of_each_chat_are_newest_first_and_sum_to_its_messages(api, db):
    chats = ok(api.get("/api/chats", params={"limit": 200}))["chats"]
    for chat in chats:
        conversations = chat_conversations(api, chat["id"], limit=4)
        expected = [r[0] for r in db.execute(
            "SELECT id FROM conversations WHERE chat_id = ? ORDER BY started_at DESC, id DESC", (chat["id"],))]
        assert [c["id"] for c in conversations] == expected
        assert sum(c["message_count"] for c in conversations) == chat["message_count"]
        assert all(c["chat_id"] == chat["id"] for c in conversations)
    assert sum(len(chat_conversations(api, c["id"], 500)) for c in chats) == db.execute(
        "SELECT count(*) FROM conversations").fetchone()[0]


def test_a_conversation_with_its_messages_oldest_first(api, db):
    conversation_id, count = db.execute(
        "SELECT id, message_count FROM conversations ORDER BY message_count DESC LIMIT 1").fetchone()
    expected = [r[0] for r in db.execute(
        "SELECT id FROM messages WHERE conversation_id = ? ORDER BY sent_at, id", (conversation_id,))]
    assert len(expected) == count > 20

    body = ok(api.get(f"/api/conversations/{conversation_id}"))
    assert [m["id"] for m in body["messages"]] == expected and body["next_after_id"] is None
    assert body["first_message"]["id"] == expected[0]
    assert body["message_count"] == count
    assert all(m["conversation_id"] == conversation_id for m in body["messages"])
    reactions = db.execute("SELECT count(*) FROM reactions r JOIN messages m ON m.id = r.message_id "
                           "WHERE m.conversation_id = ? AND r.is_active = 1", (conversation_id,)).fetchone()[0]
    assert sum(len(m["reactions"]) for m in body["messages"]) == reactions

    # The same message shape as the chat's own message list.
    chat_page = ok(api.get(f"/api/chats/{body['chat_id']}/messages", params={"limit": 500}))["messages"]
    by_id = {m["id"]: m for m in chat_page}
    assert all(by_id[m["id"]] == m for m in body["messages"] if m["id"] in by_id)

    first = ok(api.get(f"/api/conversations/{conversation_id}", params={"limit": 7}))
    rest = ok(api.get(f"/api/conversations/{conversation_id}",
                      params={"limit": 500, "after_id": first["next_after_id"]}))
    assert [m["id"] for m in first["messages"] + rest["messages"]] == expected


def test_missing_conversations_and_chats_are_404(api):
    response = api.get("/api/conversations/999999")
    assert response.status_code == 404 and response.json()["code"] == "conversation_not_found"
    response = api.get("/api/chats/999999/conversations")
    assert response.status_code == 404 and response.json()["code"] == "chat_not_found"
