"""Indexes for exact insights over the whole history: visible messages (kind 'message', not deleted) by time and
by chat, each carrying the columns the aggregates read, so that an overview scans a narrow index instead of the
table with its texts and blobs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = [
    """CREATE INDEX ix_messages_insights_time ON messages(sent_at, chat_id, is_from_me, sender_contact_id)
       WHERE kind = 'message' AND deleted_at IS NULL""",
    """CREATE INDEX ix_messages_insights_chat ON messages(chat_id, sent_at, is_from_me, conversation_id,
       sender_contact_id) WHERE kind = 'message' AND deleted_at IS NULL""",
    """CREATE INDEX ix_messages_insights_conversation ON messages(conversation_id, sent_at, id, is_from_me)
       WHERE kind = 'message' AND deleted_at IS NULL""",
    "CREATE INDEX ix_reactions_reacted ON reactions(reacted_at) WHERE is_active = 1",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for name in ("ix_reactions_reacted", "ix_messages_insights_conversation", "ix_messages_insights_chat",
                 "ix_messages_insights_time"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
