"""Pipeline: failed tasks, analysis jobs, conversation revisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = [
    # A conversation's content revision: bumped whenever a sealed conversation is re-opened by new
    # content, so batch passes run again for the new content (and only once per revision).
    "ALTER TABLE conversations ADD COLUMN revision INTEGER NOT NULL DEFAULT 1",
    # Tasks that failed for good (or for now): what, why, how often; replayed with backoff.
    """
    CREATE TABLE failed_tasks (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        queue TEXT,
        args TEXT NOT NULL DEFAULT '[]',
        kwargs TEXT NOT NULL DEFAULT '{}',
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replaying', 'resolved', 'abandoned')),
        first_failed_at INTEGER NOT NULL,
        last_failed_at INTEGER NOT NULL,
        next_retry_at INTEGER,
        UNIQUE (task_name, args, kwargs)
    )
    """,
    "CREATE INDEX ix_failed_tasks_due ON failed_tasks(status, next_retry_at)",
    # One row per (conversation, pass, prompt version, revision): the exactly-once ledger of batch passes.
    """
    CREATE TABLE analysis_jobs (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        pass_name TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        revision INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (conversation_id, pass_name, prompt_version, revision)
    )
    """,
    "CREATE INDEX ix_analysis_jobs_status ON analysis_jobs(status, updated_at)",
]

DOWNGRADE = [
    "DROP TABLE analysis_jobs",
    "DROP TABLE failed_tasks",
    "ALTER TABLE conversations DROP COLUMN revision",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
