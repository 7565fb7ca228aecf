from __future__ import annotations

from tests.api_fixtures import UNREAD_MARKED, api, db, inbox_source, ok  # noqa: F401

VISIBLE_CHATS = """
    SELECT id FROM chats WHERE chat_key != 'unknown:no-chat' OR message_count > 0
    ORDER BY ifnull(last_message_at, 0) DESC, id DESC
"""


def all_pages(api, path: str, key: str, limit: int, **params) -> list[dict]:
    items, cursor = [], None
    for _ in range(100):
        body = ok(api.get(path, params={"limit": limit, **params, **({"before": cursor} if cursor else {})}))
        items += body[key]
        cursor = body["next_before"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_chats_are_newest_first_and_pages_have_no_gaps_or_duplicates(api, db):
    # Two chats with the same last activity: the cursor must still split them exactly once.
    first, second = [row[0] for row in db.execute("SELECT id FROM chats ORDER BY id LIMIT 2")]
    db.execute("UPDATE chats SET last_message_at = (SELECT last_message_at FROM chats WHERE id = ?) WHERE id = ?",
               (first, second))
    expected = [row[0] for row in db.execute(VISIBLE_CHATS)]
    assert len(expected) >= 8

    whole = ok(api.get("/api/chats", params={"limit": 200}))
    assert [chat["id"] for chat in whole["chats"]] == expected
    assert whole["next_before"] is None
    times = [chat["last_message_at"] for chat in whole["chats"]]
    assert times == sorted(times, reverse=True)

    for limit in (1, 3):
        paged = all_pages(api, "/api/chats", "chats", limit)
        assert [chat["id"] for chat in paged] == expected


def test_unread_counts_equal_a_count_of_unread_received_messages(api, db):
    chats = ok(api.get("/api/chats", params={"limit": 200}))["chats"]
    counted = dict(db.execute(
        "SELECT chat_id, count(*) FROM messages WHERE is_from_me = 0 AND is_read = 0 AND kind = 'message' "
        "GROUP BY chat_id"
    ).fetchall())
    assert {chat["id"]: chat["unread_count"] for chat in chats} == {
        chat["id"]: counted.get(chat["id"], 0) for chat in chats
    }
    assert sum(chat["unread_count"] for chat in chats) == UNREAD_MARKED


def test_one_to_one_chats_are_named_after_their_contact(api, db):
    expected = {
        row["chat_id"]: (row["name"], row["in_contacts"])
        for row in db.execute(
            """
            SELECT p.chat_id, c.display_name IS NOT NULL AS in_contacts,
                   coalesce(c.display_name, (SELECT value FROM contact_identifiers i
                   WHERE i.contact_id = c.id ORDER BY i.from_addressbook DESC, i.id LIMIT 1)) AS name
            FROM chats ch JOIN chat_participants p ON p.chat_id = ch.id JOIN contacts c ON c.id = p.contact_id
            WHERE ch.is_group = 0 AND ch.display_name IS NULL
            """
        )
    }
    chats = {chat["id"]: chat for chat in ok(api.get("/api/chats", params={"limit": 200}))["chats"]}
    assert len(expected) >= 4
    for chat_id, (name, _) in expected.items():
        assert chats[chat_id]["display_name"] == name
        assert chats[chat_id]["is_group"] is False and chats[chat_id]["is_named"] is False
        assert [p["display_name"] for p in chats[chat_id]["participants"]] == [name]
    assert sum(in_contacts for _, in_contacts in expected.values()) >= 3  # AddressBook names, not numbers


def test_named_and_unnamed_groups(api, db):
    groups = db.execute("SELECT id, display_name FROM chats WHERE is_group = 1 ORDER BY id").fetchall()
    assert ok(api.get(f"/api/chats/{groups[0]['id']}"))["display_name"] == groups[0]["display_name"]

    group_id = max(groups, key=lambda g: db.execute(
        "SELECT count(*) FROM chat_participants WHERE chat_id = ?", (g["id"],)).fetchone()[0])["id"]
    db.execute("UPDATE chats SET display_name = NULL WHERE id = ?", (group_id,))
    chat = ok(api.get(f"/api/chats/{group_id}"))
    first_names = [
        row[0] for row in db.execute(
            """
            SELECT coalesce(c.first_name, c.display_name) FROM chat_participants p
            JOIN contacts c ON c.id = p.contact_id WHERE p.chat_id = ? AND p.is_active = 1
            ORDER BY c.display_name IS NULL, c.display_name COLLATE NOCASE, c.id
            """, (group_id,))
    ]
    assert len(first_names) >= 4
    assert chat["display_name"] == f"{first_names[0]}, {first_names[1]} and {len(first_names) - 2} others"
    assert chat["is_named"] is False and chat["is_group"] is True
    assert len(chat["participants"]) == len(first_names)
    assert all(p["identifiers"] for p in chat["participants"])


def test_last_message_preview(api, db):
    chats = ok(api.get("/api/chats", params={"limit": 200}))["chats"]
    for chat in chats:
        row = db.execute(
            "SELECT id, text, is_from_me, sent_at FROM messages WHERE chat_id = ? ORDER BY sent_at DESC, id DESC",
            (chat["id"],),
        ).fetchone()
        last = chat["last_message"]
        assert last["id"] == row["id"] and last["sent_at"] == row["sent_at"] == chat["last_message_at"]
        assert last["is_from_me"] == bool(row["is_from_me"])
        assert (last["sender_name"] is None) == bool(row["is_from_me"])
        if last["text"] is not None:
            assert len(last["text"]) <= 120
    # A long text is trimmed to a one-line preview.
    chat_id, message_id = chats[0]["id"], chats[0]["last_message"]["id"]
    db.execute("UPDATE messages SET text = ? WHERE id = ?", ("word " * 100, message_id))
    preview = ok(api.get(f"/api/chats/{chat_id}"))["last_message"]["text"]
    assert len(preview) == 120 and preview.endswith("…") and preview.startswith("word word")


def test_name_filter_matches_chat_and_participant_names(api, db):
    person = db.execute(
        """
        SELECT c.id, c.first_name FROM contacts c JOIN chat_participants p ON p.contact_id = c.id
        WHERE c.first_name IS NOT NULL GROUP BY c.id ORDER BY count(*) DESC, c.id LIMIT 1
        """
    ).fetchone()
    expected = {
        row[0] for row in db.execute(
            """
            SELECT DISTINCT ch.id FROM chats ch LEFT JOIN chat_participants p ON p.chat_id = ch.id
            LEFT JOIN contacts c ON c.id = p.contact_id
            WHERE ch.display_name LIKE :q OR c.display_name LIKE :q
               OR c.id IN (SELECT contact_id FROM contact_identifiers WHERE value LIKE :q)
            """, {"q": f"%{person['first_name']}%"})
    }
    found = all_pages(api, "/api/chats", "chats", 2, q=person["first_name"].upper())
    assert {chat["id"] for chat in found} == expected
    assert 0 < len(expected) < db.execute("SELECT count(*) FROM chats").fetchone()[0]
    named = db.execute("SELECT id, display_name FROM chats WHERE display_name IS NOT NULL "
                       "AND chat_key != 'unknown:no-chat' LIMIT 1").fetchone()
    assert named["id"] in {c["id"] for c in ok(api.get("/api/chats", params={"q": named["display_name"][:5]}))["chats"]}
    assert ok(api.get("/api/chats", params={"q": "zz%_no such name"}))["chats"] == []


def test_the_internal_chat_of_chatless_messages_shows_only_when_it_has_messages(api, db):
    unknown = db.execute(
        "SELECT id, display_name, message_count FROM chats WHERE chat_key = 'unknown:no-chat'").fetchone()
    assert unknown["message_count"] == 1  # the demo has one message that references no chat
    listed = {c["id"]: c for c in ok(api.get("/api/chats", params={"limit": 200}))["chats"]}
    assert listed[unknown["id"]]["display_name"] == unknown["display_name"] == "Messages without a chat"

    db.execute("DELETE FROM messages WHERE chat_id = ?", (unknown["id"],))
    db.execute("UPDATE chats SET message_count = 0, last_message_id = NULL WHERE id = ?", (unknown["id"],))
    listed = {c["id"] for c in ok(api.get("/api/chats", params={"limit": 200}))["chats"]}
    assert unknown["id"] not in listed
    assert api.get(f"/api/chats/{unknown['id']}").json()["code"] == "chat_not_found"


def test_one_chat_has_the_list_shape_and_missing_chats_are_404(api):
    listed = ok(api.get("/api/chats", params={"limit": 200}))["chats"]
    assert ok(api.get(f"/api/chats/{listed[2]['id']}")) == listed[2]
    missing = api.get("/api/chats/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "chat_not_found"
    bad = api.get("/api/chats", params={"before": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


def test_a_bare_time_cursor_means_strictly_older(api):
    chats = ok(api.get("/api/chats", params={"limit": 200}))["chats"]
    pivot = chats[3]["last_message_at"]
    older = ok(api.get("/api/chats", params={"limit": 200, "before": str(pivot)}))["chats"]
    assert [c["id"] for c in older] == [c["id"] for c in chats if (c["last_message_at"] or 0) < pivot]


INBOX_PATHS = [
    "/api/chats", "/api/chats/1", "/api/chats/1/messages", "/api/chats/1/conversations",
    "/api/conversations/1", "/api/messages/1", "/api/contacts", "/api/contacts/1",
]


def test_every_inbox_endpoint_requires_the_token(api):
    for path in INBOX_PATHS:
        assert api.get(path).status_code == 200, path
        assert api.get(path, headers={"Authorization": ""}).status_code == 401, path
        assert api.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
