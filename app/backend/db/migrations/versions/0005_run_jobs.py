"""Analysis runs own their jobs through a link table.

A job is unique per (conversation, pass, prompt version, revision) and may serve more than one run (a job
already done counts as done in every run that includes it), so runs link to jobs rather than jobs naming
one run. `created` marks the jobs a run created itself (the ones cancelling it may withdraw).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = [
    """
    CREATE TABLE analysis_run_jobs (
        run_id INTEGER NOT NULL REFERENCES analysis_runs(id) ON DELETE CASCADE,
        job_id INTEGER NOT NULL REFERENCES analysis_jobs(id) ON DELETE CASCADE,
        created INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, job_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX ix_analysis_run_jobs_job ON analysis_run_jobs(job_id)",
]

DOWNGRADE = [
    "DROP TABLE analysis_run_jobs",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
