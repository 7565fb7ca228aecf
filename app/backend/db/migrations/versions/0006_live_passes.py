"""Live passes: per (conversation, live pass) the last message analysed and the merged result so far.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = [
    # A live pass sends only the messages after (last_sent_at, last_message_id) with `result`, and stores
    # the merged reply here (and through the usual results in conversation_analyses and its findings).
    """
    CREATE TABLE live_pass_state (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        pass_name TEXT NOT NULL,
        last_message_id INTEGER NOT NULL,
        last_sent_at INTEGER NOT NULL,
        result TEXT NOT NULL DEFAULT '{}',
        model TEXT,
        runs INTEGER NOT NULL DEFAULT 0,
        messages_analysed INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, pass_name)
    )
    """,
]

DOWNGRADE = [
    "DROP TABLE live_pass_state",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
