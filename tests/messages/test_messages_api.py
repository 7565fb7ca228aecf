from __future__ import annotations

import json

from tests.api_fixtures import api, db, inbox_source, ok  # noqa: F401


def busiest_chat(db) -> int:
    return db.execute("SELECT chat_id FROM messages GROUP BY chat_id ORDER BY count(*) DESC LIMIT 1").fetchone()[0]


def newest_first(db, chat_id: int) -> list[int]:
    return [row[0] for row in db.execute(
        "SELECT id FROM messages WHERE chat_id = ? ORDER BY sent_at DESC, id DESC", (chat_id,))]


def test_messages_page_newest_first_without_gaps_or_duplicates(api, db):
    chat_id = busiest_chat(db)
    # Two messages sent in the same millisecond: the (sent_at, id) keyset still orders and splits them.
    a, b = newest_first(db, chat_id)[10:12]
    db.execute("UPDATE messages SET sent_at = (SELECT sent_at FROM messages WHERE id = ?) WHERE id = ?", (a, b))
    expected = newest_first(db, chat_id)
    assert len(expected) > 300

    seen, before_id = [], None
    while True:
        params = {"limit": 97, **({"before_id": before_id} if before_id else {})}
        page = ok(api.get(f"/api/chats/{chat_id}/messages", params=params))
        seen += [m["id"] for m in page["messages"]]
        assert all(m["chat_id"] == chat_id for m in page["messages"])
        before_id = page["next_before_id"]
        if before_id is None:
            break
        assert before_id == seen[-1]
    assert seen == expected


def test_catching_up_after_a_message_returns_newer_ones_oldest_first(api, db):
    chat_id = busiest_chat(db)
    expected = list(reversed(newest_first(db, chat_id)))
    anchor = expected[-25]
    page = ok(api.get(f"/api/chats/{chat_id}/messages", params={"after_id": anchor, "limit": 10}))
    assert [m["id"] for m in page["messages"]] == expected[-24:-14]
    assert page["next_after_id"] == expected[-15]
    rest = ok(api.get(f"/api/chats/{chat_id}/messages", params={"after_id": page["next_after_id"], "limit": 50}))
    assert [m["id"] for m in rest["messages"]] == expected[-14:] and rest["next_after_id"] is None
    latest = ok(api.get(f"/api/chats/{chat_id}/messages", params={"after_id": expected[-1]}))
    assert latest["messages"] == [] and latest["next_after_id"] is None


def test_reactions_attachments_senders_and_extras_match_the_mirror(api, db):
    active = {}
    for row in db.execute("SELECT message_id, kind, emoji, is_from_me FROM reactions WHERE is_active = 1"):
        active.setdefault(row["message_id"], []).append((row["kind"], bool(row["is_from_me"])))
    files = {}
    for row in db.execute("SELECT message_id, guid FROM attachments ORDER BY id"):
        files.setdefault(row["message_id"], []).append(row["guid"])
    rows = {row["id"]: row for row in db.execute("SELECT * FROM messages")}

    checked_reactions = checked_files = checked_links = 0
    for chat in ok(api.get("/api/chats", params={"limit": 200}))["chats"]:
        page = ok(api.get(f"/api/chats/{chat['id']}/messages", params={"limit": 500}))
        for message in page["messages"]:
            row = rows[message["id"]]
            assert sorted((r["kind"], r["is_from_me"]) for r in message["reactions"]) == sorted(
                active.get(message["id"], []))
            assert [a["guid"] for a in message["attachments"]] == files.get(message["id"], [])
            assert message["text"] == row["text"] and message["guid"] == row["guid"]
            assert message["conversation_id"] == row["conversation_id"]
            assert message["deleted"] is False and message["is_unsent"] == bool(row["is_unsent"])
            if row["is_from_me"]:
                assert message["sender"] is None
            else:
                assert message["sender"]["handle"] == row["sender_handle"]
                assert message["sender"]["contact_id"] == row["sender_contact_id"]
            for reaction in message["reactions"]:
                assert reaction["emoji"]  # classic tapbacks get their emoji too
                assert (reaction["sender_name"] is None) == reaction["is_from_me"]
            extras = json.loads(row["body_json"]) if row["body_json"] else {}
            assert message["links"] == extras.get("links", [])
            assert message["mentions"] == extras.get("mentions", [])
            checked_reactions += bool(message["reactions"])
            checked_files += bool(message["attachments"])
            checked_links += bool(message["links"])
    assert checked_reactions >= 50 and checked_files >= 50 and checked_links >= 3


def test_a_named_sender_carries_the_contact_name(api, db):
    row = db.execute(
        "SELECT m.id, c.display_name FROM messages m JOIN contacts c ON c.id = m.sender_contact_id "
        "WHERE c.display_name IS NOT NULL AND m.is_from_me = 0 LIMIT 1").fetchone()
    assert ok(api.get(f"/api/messages/{row['id']}"))["sender"]["name"] == row["display_name"]


def test_one_message_with_its_edit_history(api, db):
    message_id = db.execute(
        "SELECT message_id FROM message_edits GROUP BY message_id HAVING count(*) > 1 ORDER BY message_id LIMIT 1"
    ).fetchone()[0]
    versions = db.execute("SELECT part, version, text, edited_at FROM message_edits WHERE message_id = ? "
                          "ORDER BY part, version", (message_id,)).fetchall()
    message = ok(api.get(f"/api/messages/{message_id}"))
    assert [(e["part"], e["version"], e["text"], e["edited_at"]) for e in message["edits"]] == [
        tuple(v) for v in versions]
    assert message["edit_count"] == len(versions) - len({v["part"] for v in versions}) >= 1
    assert message["edited_at"] is not None

    plain = db.execute("SELECT id FROM messages WHERE id NOT IN (SELECT message_id FROM message_edits) "
                       "LIMIT 1").fetchone()[0]
    assert ok(api.get(f"/api/messages/{plain}"))["edits"] == []


def test_deleted_messages_stay_listed_and_are_flagged(api, db):
    chat_id = busiest_chat(db)
    message_id = newest_first(db, chat_id)[0]
    db.execute("UPDATE messages SET deleted_at = sent_at + 1000 WHERE id = ?", (message_id,))
    first = ok(api.get(f"/api/chats/{chat_id}/messages", params={"limit": 1}))["messages"][0]
    assert first["id"] == message_id and first["deleted"] is True and first["deleted_at"] is not None


def test_missing_messages_and_foreign_cursors_have_stable_codes(api, db):
    missing = api.get("/api/messages/99999999")
    assert missing.status_code == 404 and missing.json()["code"] == "message_not_found"
    chat_id = busiest_chat(db)
    other = db.execute("SELECT id FROM messages WHERE chat_id != ? LIMIT 1", (chat_id,)).fetchone()[0]
    foreign = api.get(f"/api/chats/{chat_id}/messages", params={"before_id": other})
    assert foreign.status_code == 400 and foreign.json()["code"] == "invalid_cursor"
    both = api.get(f"/api/chats/{chat_id}/messages", params={"before_id": other, "after_id": other})
    assert both.status_code == 400 and both.json()["code"] == "invalid_cursor"
    assert api.get("/api/chats/999999/messages").json()["code"] == "chat_not_found"


def test_a_page_around_a_message_centres_it_and_continues_both_ways(api, db):
    chat_id = busiest_chat(db)
    expected = newest_first(db, chat_id)
    target = expected[150]
    page = ok(api.get(f"/api/chats/{chat_id}/messages", params={"around_id": target, "limit": 21}))
    ids = [m["id"] for m in page["messages"]]
    assert ids == expected[140:161]  # 10 newer, the message, 10 older: newest first like every page
    assert page["next_before_id"] == expected[160] and page["next_after_id"] == expected[140]
    older = ok(api.get(f"/api/chats/{chat_id}/messages", params={"before_id": page["next_before_id"], "limit": 5}))
    assert [m["id"] for m in older["messages"]] == expected[161:166]
    newer = ok(api.get(f"/api/chats/{chat_id}/messages", params={"after_id": page["next_after_id"], "limit": 5}))
    assert [m["id"] for m in newer["messages"]] == list(reversed(expected[135:140]))

    newest = ok(api.get(f"/api/chats/{chat_id}/messages", params={"around_id": expected[2], "limit": 21}))
    assert [m["id"] for m in newest["messages"]] == expected[:21]  # few newer ones: the room goes to older ones
    assert newest["next_after_id"] is None and newest["next_before_id"] == expected[20]
    oldest = ok(api.get(f"/api/chats/{chat_id}/messages", params={"around_id": expected[-1], "limit": 5}))
    assert [m["id"] for m in oldest["messages"]] == expected[-3:] and oldest["next_before_id"] is None

    other = db.execute("SELECT id FROM messages WHERE chat_id != ? LIMIT 1", (chat_id,)).fetchone()[0]
    foreign = api.get(f"/api/chats/{chat_id}/messages", params={"around_id": other})
    assert foreign.status_code == 400 and foreign.json()["code"] == "invalid_cursor"
    mixed = api.get(f"/api/chats/{chat_id}/messages", params={"around_id": target, "before_id": target})
    assert mixed.status_code == 400 and mixed.json()["code"] == "invalid_cursor"
