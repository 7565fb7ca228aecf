"""Sources other than a Sequoia chat.db: an older macOS schema, and an iPhone backup."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from backend.config import get_settings
from backend.mirror.importer import import_source
from backend.source.addressbook.writer import ContactSpec, write_iphone_addressbook
from backend.source.attributed_body import encode_attributed_body
from backend.source.backup import write_fake_backup

OLD_SCHEMA = """
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT,
    service TEXT NOT NULL, uncanonicalized_id TEXT, UNIQUE (id, service));
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER,
    state INTEGER, account_id TEXT, properties BLOB, chat_identifier TEXT, service_name TEXT, room_name TEXT,
    display_name TEXT, group_id TEXT);
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT,
    handle_id INTEGER DEFAULT 0, subject TEXT, attributedBody BLOB, service TEXT, date INTEGER, date_read INTEGER,
    date_delivered INTEGER, is_from_me INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, item_type INTEGER DEFAULT 0,
    group_title TEXT, group_action_type INTEGER DEFAULT 0, associated_message_guid TEXT,
    associated_message_type INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0);
CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER, PRIMARY KEY (chat_id, message_id));
CREATE TABLE chat_handle_join (chat_id INTEGER, handle_id INTEGER, UNIQUE(chat_id, handle_id));
"""


def _old_chat_db(path, *, dates_in_seconds: bool):
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute("INSERT INTO handle (id, service) VALUES ('+15555550123', 'iMessage')")
    conn.execute("INSERT INTO chat (guid, style, chat_identifier, service_name) "
                 "VALUES ('iMessage;-;+15555550123', 45, '+15555550123', 'iMessage')")
    conn.execute("INSERT INTO chat_handle_join VALUES (1, 1)")
    base = 500_000_000  # 2016-11 in seconds since 2001
    rows = [
        ("OLD-1", "plain text column", None, 1, 0, base),
        ("OLD-2", None, encode_attributed_body("only in the body"), 1, 0, base + 60),
        ("OLD-3", "from me", None, 0, 1, base + 3 * 3600),
        ("OLD-4", None, None, 1, 0, base + 3 * 3600 + 5),
    ]
    for guid, text, body, handle, from_me, seconds in rows:
        date = seconds if dates_in_seconds else seconds * 1_000_000_000
        conn.execute("INSERT INTO message (guid, text, attributedBody, handle_id, is_from_me, date, service) "
                     "VALUES (?, ?, ?, ?, ?, ?, 'iMessage')", (guid, text, body, handle, from_me, date))
    conn.execute("INSERT INTO message (guid, handle_id, date, associated_message_guid, associated_message_type) "
                 "VALUES ('OLD-5', 1, ?, 'p:0/OLD-1', 2001)", (base + 30 if dates_in_seconds else (base + 30) * 10**9,))
    conn.execute("INSERT INTO chat_message_join SELECT 1, ROWID FROM message")
    conn.commit()
    conn.close()


def test_an_older_macos_schema_imports(tmp_path):
    for seconds in (True, False):
        source = tmp_path / f"old-{seconds}.db"
        _old_chat_db(source, dates_in_seconds=seconds)
        summary = import_source(get_settings(), source=source)
        conn = sqlite3.connect(get_settings().central_db_path)
        texts = dict(conn.execute("SELECT guid, text FROM messages"))
        assert texts["OLD-1"] == "plain text column" and texts["OLD-2"] == "only in the body"
        sent = dict(conn.execute("SELECT guid, sent_at FROM messages"))
        assert sent["OLD-1"] == 978_307_200_000 + 500_000_000 * 1000  # seconds and nanoseconds alike
        conversations = conn.execute("SELECT count(DISTINCT conversation_id) FROM messages").fetchone()[0]
        assert conversations == 2  # three hours apart
        assert conn.execute("SELECT kind FROM reactions WHERE target_guid = 'OLD-1'").fetchone()[0] == "like"
        assert summary.counts["messages"] == 4
        conn.close()


def test_an_iphone_backup_imports_messages_and_contacts(tmp_path, isolated_data_dir):
    sms = tmp_path / "sms.db"
    _old_chat_db(sms, dates_in_seconds=False)
    book = write_iphone_addressbook(tmp_path / "AddressBook.sqlitedb", [
        ContactSpec(first_name="Pat", last_name="Backup", phones=(("mobile", "(555) 555-0123"),))])
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms, addressbook_db=book)
    result = subprocess.run([sys.executable, "-m", "backend.cli.main", "import", "--backup", str(backup)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "CHATSTATS_DEFAULT_REGION": "US"})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["counts"]["messages"] == 4
    conn = sqlite3.connect(isolated_data_dir / "central.db")
    name = conn.execute("""SELECT c.display_name FROM messages m JOIN contacts c ON c.id = m.sender_contact_id
                           WHERE m.guid = 'OLD-1'""").fetchone()[0]
    assert name == "Pat Backup"
