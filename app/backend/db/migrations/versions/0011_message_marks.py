"""Marks beside the word index: each message's emoji and symbol clusters, and a mark for a message with a
link (search.marks), so "😂" and has:link are answered by an index instead of a scan of every text.
Existing messages are marked here.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

from backend.search.marks import mark_rows

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    op.execute("""
    CREATE TABLE message_marks (
        mark TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (mark, message_id)
    ) WITHOUT ROWID
    """)
    op.execute("CREATE INDEX ix_message_marks_message ON message_marks(message_id)")
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.exec_driver_sql(
            "SELECT id, text FROM messages WHERE id > ? AND text IS NOT NULL AND text != '' ORDER BY id LIMIT ?",
            (last, BATCH)).all()
        if not rows:
            break
        last = rows[-1][0]
        marks = mark_rows([(row[0], row[1]) for row in rows])
        if marks:
            conn.exec_driver_sql("INSERT OR IGNORE INTO message_marks (mark, message_id) VALUES (?, ?)", marks)


def downgrade() -> None:
    op.execute("DROP TABLE message_marks")
