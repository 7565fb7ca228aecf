"""Embeddings of analyses: `embeddings.kind` may be 'analysis' (ref_id = conversation_analyses.id) as well as
'chunk'. SQLite cannot change a CHECK constraint in place, so the table is rebuilt with its ids kept (they
are the FAISS ids); the model index now also leads with kind, as every index read asks for one kind.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ("id, kind, ref_id, chunk_index, model, dims, content_hash, vector, text_preview, first_message_id, "
           "last_message_id, created_at")


def _table(name: str, kinds: str) -> str:
    return f"""
    CREATE TABLE {name} (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ({kinds})),
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
    """


UPGRADE = [
    _table("embeddings_new", "'chunk', 'analysis'"),
    f"INSERT INTO embeddings_new ({COLUMNS}) SELECT {COLUMNS} FROM embeddings",
    "DROP TABLE embeddings",
    "ALTER TABLE embeddings_new RENAME TO embeddings",
    "CREATE INDEX ix_embeddings_model ON embeddings(model, kind, id)",
]

DOWNGRADE = [
    "DELETE FROM embeddings WHERE kind != 'chunk'",
    _table("embeddings_old", "'chunk'"),
    f"INSERT INTO embeddings_old ({COLUMNS}) SELECT {COLUMNS} FROM embeddings",
    "DROP TABLE embeddings",
    "ALTER TABLE embeddings_old RENAME TO embeddings",
    "CREATE INDEX ix_embeddings_model ON embeddings(model, id)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
