from __future__ import annotations

import sqlite3

from backend.config import get_settings
from backend.mirror.importer import import_source
from backend.source.addressbook.writer import ContactSpec, write_addressbook


def _mirror() -> sqlite3.Connection:
    return sqlite3.connect(get_settings().central_db_path)


def test_an_unnamed_handle_gets_a_name_and_every_reference_follows(demo_source):
    import_source(get_settings(), source=demo_source / "chat.db", addressbook_dir=demo_source / "AddressBook")
    conn = _mirror()
    # a person the AddressBook does not know, with messages and a 1:1 chat
    contact_id, key, identifier = conn.execute("""
        SELECT c.id, c.contact_key, ci.value FROM contacts c JOIN contact_identifiers ci ON ci.contact_id = c.id
        WHERE c.display_name IS NULL AND c.merged_into_id IS NULL AND ci.kind = 'phone'
          AND EXISTS (SELECT 1 FROM messages m WHERE m.sender_contact_id = c.id)
          AND EXISTS (SELECT 1 FROM chats WHERE chat_key = 'dm:' || c.contact_key)
        LIMIT 1
    """).fetchone()
    sent = conn.execute("SELECT count(*) FROM messages WHERE sender_contact_id = ?", (contact_id,)).fetchone()[0]
    chat_messages = conn.execute("SELECT message_count FROM chats WHERE chat_key = ?", (f"dm:{key}",)).fetchone()[0]
    conn.close()

    # the user saves them in Contacts (a new store, as iCloud or Google would add)
    write_addressbook(demo_source / "AddressBook", {"NEWSOURCE": [
        ContactSpec(first_name="Zelda", last_name="Quince", phones=(("_$!<Mobile>!$_", identifier),))]})
    summary = import_source(get_settings(), source=demo_source / "chat.db", addressbook_dir=demo_source / "AddressBook")
    assert summary.mode == "in_place" and summary.written["contacts_merged"] >= 1

    conn = _mirror()
    named_id, merged_into = conn.execute(
        "SELECT id, merged_into_id FROM contacts WHERE display_name = 'Zelda Quince'").fetchone()
    assert merged_into is None
    assert conn.execute("SELECT merged_into_id FROM contacts WHERE id = ?", (contact_id,)).fetchone()[0] == named_id
    assert conn.execute("SELECT count(*) FROM messages WHERE sender_contact_id = ?", (named_id,)).fetchone()[0] == sent
    assert conn.execute("SELECT count(*) FROM messages WHERE sender_contact_id = ?", (contact_id,)).fetchone()[0] == 0
    assert conn.execute("SELECT contact_id FROM contact_identifiers WHERE value = ?", (identifier,)).fetchone()[0] == named_id
    assert conn.execute("SELECT count(*) FROM handles WHERE contact_id = ?", (contact_id,)).fetchone()[0] == 0
    # the 1:1 chat moved with the person, with all of its messages and conversations
    new_key = conn.execute("SELECT contact_key FROM contacts WHERE id = ?", (named_id,)).fetchone()[0]
    assert conn.execute("SELECT count(*) FROM chats WHERE chat_key = ?", (f"dm:{key}",)).fetchone()[0] == 0
    chat_id, count = conn.execute("SELECT id, message_count FROM chats WHERE chat_key = ?", (f"dm:{new_key}",)).fetchone()
    assert count == chat_messages
    assert conn.execute("SELECT count(*) FROM messages WHERE chat_id = ? AND conversation_id IS NULL",
                        (chat_id,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM chat_participants WHERE chat_id = ? AND contact_id = ?",
                        (chat_id, named_id)).fetchone()[0] == 1
