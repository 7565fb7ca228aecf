"""Search at scale and inside words.

- `messages_trigram`: a trigram index of message text beside the word index (`messages_fts`), kept by the same
  writers (mirror.repo fts_insert / fts_delete / fts_rebuild), so a query word is also found inside longer
  words ("inner" in "dinner") and in scripts written without spaces. Filled here for existing messages.
- `ix_messages_unsearchable`: the few messages that have text but are not searched (deleted, unsent, not a
  message), so an unfiltered search counts and ranks in the full-text index alone (`rowid NOT IN` these)
  instead of reading every matching message row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE VIRTUAL TABLE messages_trigram USING fts5(
        text, content='messages', content_rowid='id', tokenize='trigram'
    )
    """)
    op.execute("INSERT INTO messages_trigram (messages_trigram) VALUES ('rebuild')")
    op.execute("""CREATE INDEX ix_messages_unsearchable ON messages(id)
                  WHERE deleted_at IS NOT NULL OR is_unsent != 0 OR kind != 'message'""")


def downgrade() -> None:
    op.execute("DROP INDEX ix_messages_unsearchable")
    op.execute("DROP TABLE messages_trigram")
