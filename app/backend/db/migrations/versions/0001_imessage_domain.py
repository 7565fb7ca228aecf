"""iMessage domain, sync state, outbox and settings.

Times are INTEGER milliseconds since the Unix epoch (UTC); Apple's own dates are converted on import.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = [
    # People. A contact is one person: merged from every AddressBook source, or a bare handle
    # nobody named yet. When two contacts turn out to be one person, the loser points at the
    # winner through merged_into_id until every reference has moved.
    """
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        contact_key TEXT NOT NULL UNIQUE,
        display_name TEXT,
        first_name TEXT,
        last_name TEXT,
        nickname TEXT,
        organization TEXT,
        source_keys TEXT NOT NULL DEFAULT '[]',
        merged_into_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )
    """,
    "CREATE INDEX ix_contacts_display_name ON contacts(display_name COLLATE NOCASE)",
    """
    CREATE TABLE contact_identifiers (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'other')),
        value TEXT NOT NULL UNIQUE,
        from_addressbook INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX ix_contact_identifiers_contact ON contact_identifiers(contact_id)",
    # chat.db handles: one row per (identifier, service); many handles map to one contact.
    """
    CREATE TABLE handles (
        id INTEGER PRIMARY KEY,
        identifier TEXT NOT NULL,
        service TEXT NOT NULL,
        canonical TEXT NOT NULL,
        person_centric_id TEXT,
        source_rowid INTEGER,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        UNIQUE (identifier, service)
    )
    """,
    "CREATE INDEX ix_handles_source_rowid ON handles(source_rowid)",
    "CREATE INDEX ix_handles_contact ON handles(contact_id)",
    "CREATE INDEX ix_handles_canonical ON handles(canonical)",
    # A chat as the user sees it: chat.db's iMessage and SMS chats with the same partner are one.
    """
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        chat_key TEXT NOT NULL UNIQUE,
        is_group INTEGER NOT NULL DEFAULT 0,
        display_name TEXT,
        service TEXT,
        last_message_at INTEGER,
        last_message_id INTEGER,
        message_count INTEGER NOT NULL DEFAULT 0,
        unread_count INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )
    """,
    "CREATE INDEX ix_chats_last_message_at ON chats(last_message_at DESC)",
    # The chat.db chats behind each chat.
    """
    CREATE TABLE chat_sources (
        source_guid TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        source_rowid INTEGER,
        chat_identifier TEXT,
        service TEXT,
        style INTEGER,
        display_name TEXT,
        group_id TEXT
    )
    """,
    "CREATE INDEX ix_chat_sources_chat ON chat_sources(chat_id)",
    "CREATE INDEX ix_chat_sources_rowid ON chat_sources(source_rowid)",
    """
    CREATE TABLE chat_participants (
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        is_active INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (chat_id, contact_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX ix_chat_participants_contact ON chat_participants(contact_id)",
    # Runs of messages of one chat, split where a gap exceeds the conversation gap.
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        started_at INTEGER NOT NULL,
        last_message_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        -- open: may still grow; sealed: quiet for longer than the gap; ready: finalized, batch passes due;
        -- historic: already over when first imported (analysed only by an explicit run)
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'sealed', 'ready', 'historic')),
        sealed_at INTEGER,
        updated_at INTEGER NOT NULL
    )
    """,
    "CREATE INDEX ix_conversations_chat_started ON conversations(chat_id, started_at)",
    "CREATE INDEX ix_conversations_state_last ON conversations(state, last_message_at)",
    # Messages keyed by Apple's guid. Tapbacks are not messages here: they live in reactions.
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL,
        source_rowid INTEGER,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
        sender_contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        sender_handle TEXT,
        is_from_me INTEGER NOT NULL DEFAULT 0,
        service TEXT,
        sent_at INTEGER NOT NULL,
        delivered_at INTEGER,
        read_at INTEGER,
        edited_at INTEGER,
        retracted_at INTEGER,
        text TEXT,
        subject TEXT,
        kind TEXT NOT NULL DEFAULT 'message',
        item_type INTEGER NOT NULL DEFAULT 0,
        group_action_type INTEGER NOT NULL DEFAULT 0,
        group_title TEXT,
        other_handle TEXT,
        reply_to_guid TEXT,
        reply_to_part TEXT,
        effect TEXT,
        balloon_bundle_id TEXT,
        is_read INTEGER NOT NULL DEFAULT 0,
        is_audio INTEGER NOT NULL DEFAULT 0,
        is_unsent INTEGER NOT NULL DEFAULT 0,
        deleted_at INTEGER,
        has_attachments INTEGER NOT NULL DEFAULT 0,
        body_json TEXT,
        decode_error TEXT
    )
    """,
    # Unique constraints are named indexes (not column constraints) so a bulk load can drop and
    # rebuild them: building an index by sorting is far faster than growing it row by row.
    "CREATE UNIQUE INDEX ux_messages_guid ON messages(guid)",
    "CREATE INDEX ix_messages_chat_sent ON messages(chat_id, sent_at, id)",
    "CREATE INDEX ix_messages_conversation ON messages(conversation_id, sent_at)",
    "CREATE INDEX ix_messages_source_rowid ON messages(source_rowid)",
    "CREATE INDEX ix_messages_sender ON messages(sender_contact_id, sent_at)",
    "CREATE INDEX ix_messages_reply_to ON messages(reply_to_guid) WHERE reply_to_guid IS NOT NULL",
    # Chat list figures without rescanning long chats: visible messages, and unread ones.
    "CREATE INDEX ix_messages_chat_live ON messages(chat_id, sent_at) WHERE deleted_at IS NULL",
    """CREATE INDEX ix_messages_unread ON messages(chat_id)
       WHERE is_from_me = 0 AND is_read = 0 AND kind = 'message' AND deleted_at IS NULL""",
    """
    CREATE TABLE message_edits (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        part INTEGER NOT NULL,
        version INTEGER NOT NULL,
        text TEXT,
        edited_at INTEGER,
        UNIQUE (message_id, part, version)
    )
    """,
    # The latest tapback state per (sender, target message part, kind).
    """
    CREATE TABLE reactions (
        id INTEGER PRIMARY KEY,
        target_guid TEXT NOT NULL,
        target_part INTEGER NOT NULL DEFAULT 0,
        message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        sender_key TEXT NOT NULL,
        sender_contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        is_from_me INTEGER NOT NULL DEFAULT 0,
        kind TEXT NOT NULL,
        emoji TEXT NOT NULL DEFAULT '',
        source_guid TEXT NOT NULL,
        source_rowid INTEGER,
        reacted_at INTEGER NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1
    )
    """,
    "CREATE UNIQUE INDEX ux_reactions_state ON reactions(sender_key, target_guid, target_part, kind, emoji)",
    "CREATE INDEX ix_reactions_message ON reactions(message_id)",
    "CREATE INDEX ix_reactions_target ON reactions(target_guid)",
    """
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL,
        source_rowid INTEGER,
        message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        path TEXT,
        transfer_name TEXT,
        mime_type TEXT,
        uti TEXT,
        total_bytes INTEGER,
        created_at INTEGER,
        is_sticker INTEGER NOT NULL DEFAULT 0,
        file_present INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE UNIQUE INDEX ux_attachments_guid ON attachments(guid)",
    "CREATE INDEX ix_attachments_message ON attachments(message_id)",
    # Full-text index over message text; maintained by the repositories that write messages.
    """
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )
    """,
    # Watermarks of the sources (cursor ROWIDs, file identities, import summaries).
    """
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    )
    """,
    # Durable events, written in the transaction of the change that causes them.
    """
    CREATE TABLE event_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        relayed_at INTEGER
    )
    """,
    "CREATE INDEX ix_event_outbox_pending ON event_outbox(id) WHERE relayed_at IS NULL",
    """
    CREATE TABLE app_settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    )
    """,
]

DOWNGRADE = [
    "DROP TABLE app_settings",
    "DROP TABLE event_outbox",
    "DROP TABLE sync_state",
    "DROP TABLE messages_fts",
    "DROP TABLE attachments",
    "DROP TABLE reactions",
    "DROP TABLE message_edits",
    "DROP TABLE messages",
    "DROP TABLE conversations",
    "DROP TABLE chat_participants",
    "DROP TABLE chat_sources",
    "DROP TABLE chats",
    "DROP TABLE handles",
    "DROP TABLE contact_identifiers",
    "DROP TABLE contacts",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
