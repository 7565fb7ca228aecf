"""Embeddings: the truth of every vector (the FAISS index in the data dir is a cache built from here).

A row is one embedded unit of a kind ('chunk': a window of a conversation's messages), keyed by the unit
and the model, with a hash of the text it was made from so unchanged units are not embedded again.
`vector` is the float32 little-endian array of `dims` values.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = [
    """
    CREATE TABLE embeddings (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('chunk')),
        ref_id INTEGER NOT NULL,
        chunk_index INTEGER NOT NULL,
        model TEXT NOT NULL,
        dims INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        text_preview TEXT,
        first_message_id INTEGER,
        last_message_id INTEGER,
        created_at INTEGER NOT NULL,
        UNIQUE (kind, ref_id, chunk_index, model)
    )
    """,
    "CREATE INDEX ix_embeddings_model ON embeddings(model, id)",
]

DOWNGRADE = [
    "DROP TABLE embeddings",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
