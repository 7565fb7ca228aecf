"""Analysis results: per-conversation analyses and what they found, commitments, analysis runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE = [
    # The latest result of each pass over a conversation (replaced when the pass runs again).
    """
    CREATE TABLE conversation_analyses (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        pass_name TEXT NOT NULL,
        prompt_id TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        model TEXT,
        completion_id TEXT,
        revision INTEGER NOT NULL,
        job_id INTEGER,
        status TEXT NOT NULL DEFAULT 'done' CHECK (status IN ('done', 'failed')),
        summary TEXT,
        result TEXT NOT NULL DEFAULT '{}',
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (conversation_id, pass_name)
    )
    """,
    "CREATE INDEX ix_conversation_analyses_chat ON conversation_analyses(chat_id, pass_name)",
    "CREATE INDEX ix_conversation_analyses_status ON conversation_analyses(status, updated_at)",
    # What each participant mentioned (people, places, dates ...).
    """
    CREATE TABLE entities (
        id INTEGER PRIMARY KEY,
        analysis_id INTEGER NOT NULL REFERENCES conversation_analyses(id) ON DELETE CASCADE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        participant TEXT NOT NULL,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        value TEXT,
        mentions INTEGER NOT NULL DEFAULT 1
    )
    """,
    "CREATE INDEX ix_entities_analysis ON entities(analysis_id)",
    "CREATE INDEX ix_entities_conversation ON entities(conversation_id)",
    "CREATE INDEX ix_entities_chat_kind ON entities(chat_id, kind)",
    "CREATE INDEX ix_entities_contact ON entities(contact_id) WHERE contact_id IS NOT NULL",
    # Topics of the whole conversation (participant NULL) and of each participant.
    """
    CREATE TABLE topics (
        id INTEGER PRIMARY KEY,
        analysis_id INTEGER NOT NULL REFERENCES conversation_analyses(id) ON DELETE CASCADE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        participant TEXT,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        topic TEXT NOT NULL,
        weight REAL NOT NULL DEFAULT 1
    )
    """,
    "CREATE INDEX ix_topics_analysis ON topics(analysis_id)",
    "CREATE INDEX ix_topics_conversation ON topics(conversation_id)",
    "CREATE INDEX ix_topics_chat_topic ON topics(chat_id, topic)",
    # Emotion scores per participant (one row per emotion with a score above 0).
    """
    CREATE TABLE emotions (
        id INTEGER PRIMARY KEY,
        analysis_id INTEGER NOT NULL REFERENCES conversation_analyses(id) ON DELETE CASCADE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        participant TEXT NOT NULL,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        emotion TEXT NOT NULL,
        score REAL NOT NULL
    )
    """,
    "CREATE INDEX ix_emotions_analysis ON emotions(analysis_id)",
    "CREATE INDEX ix_emotions_conversation ON emotions(conversation_id)",
    "CREATE INDEX ix_emotions_chat ON emotions(chat_id, emotion)",
    # Messages others found funny.
    """
    CREATE TABLE humor_items (
        id INTEGER PRIMARY KEY,
        analysis_id INTEGER NOT NULL REFERENCES conversation_analyses(id) ON DELETE CASCADE,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        participant TEXT NOT NULL,
        contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        text TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '[]',
        laughed_by TEXT NOT NULL DEFAULT '[]'
    )
    """,
    "CREATE INDEX ix_humor_items_analysis ON humor_items(analysis_id)",
    "CREATE INDEX ix_humor_items_conversation ON humor_items(conversation_id)",
    "CREATE INDEX ix_humor_items_chat ON humor_items(chat_id)",
    # Promises made in conversations; keyed by a fingerprint so re-analysis updates rather than duplicates.
    """
    CREATE TABLE commitments (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        committed_by TEXT NOT NULL,
        committer_contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
        is_from_me INTEGER NOT NULL DEFAULT 0,
        committed_to TEXT NOT NULL DEFAULT '[]',
        text TEXT NOT NULL,
        due_at INTEGER,
        due_text TEXT,
        confidence REAL,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'complete', 'cancelled', 'snoozed')),
        snoozed_until INTEGER,
        fingerprint TEXT NOT NULL UNIQUE,
        analysis_id INTEGER REFERENCES conversation_analyses(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )
    """,
    "CREATE INDEX ix_commitments_status_due ON commitments(status, due_at)",
    "CREATE INDEX ix_commitments_chat ON commitments(chat_id, status)",
    "CREATE INDEX ix_commitments_conversation ON commitments(conversation_id)",
    """
    CREATE TABLE commitment_events (
        id INTEGER PRIMARY KEY,
        commitment_id INTEGER NOT NULL REFERENCES commitments(id) ON DELETE CASCADE,
        event TEXT NOT NULL,
        at INTEGER NOT NULL,
        details TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX ix_commitment_events_commitment ON commitment_events(commitment_id, at)",
    # An explicit analysis run over many conversations (historic ones, a chat, everything).
    """
    CREATE TABLE analysis_runs (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'cancelled')),
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        estimate_tokens INTEGER,
        estimate_cost_usd REAL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
    )
    """,
    "CREATE INDEX ix_analysis_runs_status ON analysis_runs(status, created_at)",
]

DOWNGRADE = [
    "DROP TABLE analysis_runs",
    "DROP TABLE commitment_events",
    "DROP TABLE commitments",
    "DROP TABLE humor_items",
    "DROP TABLE emotions",
    "DROP TABLE topics",
    "DROP TABLE entities",
    "DROP TABLE conversation_analyses",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
