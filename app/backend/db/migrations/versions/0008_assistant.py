"""The assistant (Eve): threads, their messages, versioned documents, and what each thread is about.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = [
    """
    CREATE TABLE chatbot_threads (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_read_at INTEGER,
        deleted_at INTEGER
    )
    """,
    "CREATE INDEX ix_chatbot_threads_live ON chatbot_threads(updated_at DESC) WHERE deleted_at IS NULL",
    # status: pending (asked, not yet streamed) -> streaming -> done | error
    """
    CREATE TABLE chatbot_messages (
        id INTEGER PRIMARY KEY,
        thread_id INTEGER NOT NULL REFERENCES chatbot_threads(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'done' CHECK (status IN ('pending', 'streaming', 'done', 'error')),
        model TEXT,
        citations TEXT NOT NULL DEFAULT '[]',
        error_code TEXT,
        error TEXT,
        context TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )
    """,
    "CREATE INDEX ix_chatbot_messages_thread ON chatbot_messages(thread_id, id)",
    """
    CREATE TABLE chatbot_documents (
        id INTEGER PRIMARY KEY,
        thread_id INTEGER NOT NULL REFERENCES chatbot_threads(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        version INTEGER NOT NULL,
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER,
        UNIQUE (thread_id, title, version)
    )
    """,
    # What a thread is about: chats and contacts (exactly one of the two per row).
    """
    CREATE TABLE thread_contexts (
        id INTEGER PRIMARY KEY,
        thread_id INTEGER NOT NULL REFERENCES chatbot_threads(id) ON DELETE CASCADE,
        chat_id INTEGER REFERENCES chats(id) ON DELETE CASCADE,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
        CHECK ((chat_id IS NULL) != (contact_id IS NULL))
    )
    """,
    "CREATE UNIQUE INDEX ux_thread_contexts ON thread_contexts(thread_id, ifnull(chat_id, 0), ifnull(contact_id, 0))",
    # The thread's context when a document version was saved: {"chat_ids": [...], "contact_ids": [...]}.
    """
    CREATE TABLE document_contexts (
        document_id INTEGER PRIMARY KEY REFERENCES chatbot_documents(id) ON DELETE CASCADE,
        snapshot TEXT NOT NULL
    )
    """,
]

DOWNGRADE = [
    "DROP TABLE document_contexts",
    "DROP TABLE thread_contexts",
    "DROP TABLE chatbot_documents",
    "DROP TABLE chatbot_messages",
    "DROP TABLE chatbot_threads",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
