"""LLM gateway: the audit log of every provider call and the response cache.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = [
    # One row per provider request (each retry attempt, each repair) and per cache hit.
    """
    CREATE TABLE llm_calls (
        id INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        model TEXT NOT NULL,
        provider TEXT NOT NULL,
        prompt_id TEXT,
        prompt_version TEXT,
        purpose TEXT NOT NULL DEFAULT 'analysis',
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        latency_ms INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'cached')),
        error TEXT,
        completion_id TEXT,
        request_hash TEXT
    )
    """,
    "CREATE INDEX ix_llm_calls_created ON llm_calls(created_at)",
    "CREATE INDEX ix_llm_calls_prompt ON llm_calls(prompt_id, prompt_version, created_at)",
    "CREATE INDEX ix_llm_calls_status ON llm_calls(status, created_at)",
    "CREATE INDEX ix_llm_calls_request_hash ON llm_calls(request_hash)",
    # Validated JSON replies keyed by sha256 of (model, messages, schema, temperature).
    """
    CREATE TABLE llm_cache (
        request_hash TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at INTEGER NOT NULL
    )
    """,
]

DOWNGRADE = [
    "DROP TABLE llm_cache",
    "DROP TABLE llm_calls",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
