"""The conversation JSON the prompts read, built from a real imported demo conversation."""

from __future__ import annotations

import json

from backend.analysis.context import ME, conversation_context, conversation_payload, estimate_tokens
from backend.db.engine import get_engine
from backend.db.session import session_scope
from tests.analysis.helpers import busiest_conversation, db


def _payload(conversation_id: int) -> dict:
    with session_scope(get_engine()) as conn:
        return conversation_payload(conn, conversation_id)


def test_payload_has_the_messages_oldest_first_with_names_and_active_reactions(imported):
    conversation_id = busiest_conversation()
    payload = _payload(conversation_id)
    rows = db().execute("""
        SELECT m.id, m.is_from_me, m.text, m.sent_at, coalesce(c.display_name, m.sender_handle) AS name
        FROM messages m LEFT JOIN contacts c ON c.id = m.sender_contact_id
        WHERE m.conversation_id = ? AND m.deleted_at IS NULL AND m.kind = 'message' AND m.is_unsent = 0
        ORDER BY m.sent_at, m.id
    """, (conversation_id,)).fetchall()

    assert [m["id"] for m in payload["messages"]] == [r["id"] for r in rows]
    assert len(rows) >= 3
    for message, row in zip(payload["messages"], rows, strict=True):
        assert message["sender"] == (ME if row["is_from_me"] else row["name"])
        assert message["text"] == (row["text"] or "")
        assert message["is_from_me"] is bool(row["is_from_me"])
    stamps = [m["sent_at"] for m in payload["messages"]]
    assert stamps == sorted(stamps) and stamps[0][-6] in "+-"  # ISO 8601 with an offset
    names = {p["name"]: p["is_me"] for p in payload["participants"]}
    assert names[ME] is True and {m["sender"] for m in payload["messages"]} <= set(names)

    active = db().execute("""
        SELECT r.message_id, r.kind, r.is_from_me, coalesce(c.display_name, r.sender_key) AS name
        FROM reactions r JOIN messages m ON m.id = r.message_id LEFT JOIN contacts c ON c.id = r.sender_contact_id
        WHERE m.conversation_id = ? AND r.is_active = 1 AND r.kind != 'sticker'
    """, (conversation_id,)).fetchall()
    assert active, "the demo conversation should carry reactions"
    got = sorted((m["id"], r["type"], r["sender"]) for m in payload["messages"] for r in m["reactions"])
    assert got == sorted((r["message_id"], r["kind"], ME if r["is_from_me"] else r["name"]) for r in active)
    assert estimate_tokens(payload) == len(json.dumps(payload, ensure_ascii=False)) // 4 + 1


def test_deleted_messages_are_left_out_and_merged_contacts_are_followed(imported):
    conversation_id = busiest_conversation()
    conn = db()
    first = conn.execute("SELECT id FROM messages WHERE conversation_id = ? AND is_from_me = 1 ORDER BY sent_at LIMIT 1",
                         (conversation_id,)).fetchone()[0]
    sender = conn.execute("SELECT sender_contact_id FROM messages WHERE conversation_id = ? AND is_from_me = 0 "
                          "AND sender_contact_id IS NOT NULL LIMIT 1", (conversation_id,)).fetchone()[0]
    with conn:
        conn.execute("UPDATE messages SET deleted_at = 1 WHERE id = ?", (first,))
        winner = conn.execute("INSERT INTO contacts (contact_key, display_name, created_at, updated_at) "
                              "VALUES ('winner', 'Winner Person', 0, 0)").lastrowid
        conn.execute("UPDATE contacts SET merged_into_id = ? WHERE id = ?", (winner, sender))
    with session_scope(get_engine()) as session:
        context = conversation_context(session, conversation_id)
    assert first not in {m["id"] for m in context.payload["messages"]}
    senders = {m["sender"] for m in context.payload["messages"] if not m["is_from_me"]}
    assert "Winner Person" in senders
    assert context.contact_ids["Winner Person"] == winner and context.contact_ids[ME] is None
