"""Coverage: "N of M conversations analysed", overall, per chat and per person, counted in SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from backend.analysis import jobs
from backend.analysis.coverage import repo
from backend.analysis.coverage.schemas import ChatCoverage, ContactCoverage, Coverage, CoverageList
from backend.analysis.runs import repo as runs_repo
from backend.db.session import session_scope


def current_passes(conn: Connection) -> list[tuple[str, str]]:
    return [(p.name, p.prompt_version) for p in jobs.enabled_batch_passes(conn)]


def _counts(row: dict[str, Any]) -> dict[str, int]:
    total, analysed = int(row["total"]), int(row["analysed"])
    return {"total": total, "analysed": analysed, "stale": int(row["stale"]), "remaining": total - analysed}


def get_coverage(engine: Engine, *, chat_id: int | None = None, contact_id: int | None = None) -> Coverage:
    with session_scope(engine) as conn:
        passes = current_passes(conn)
        row = repo.count_coverage(conn, passes=passes, chat_id=chat_id, contact_id=contact_id)
        active = runs_repo.list_active_run_ids(conn)
    return Coverage(**_counts(row), passes=dict(passes), active_run_ids=active)


def list_coverage(engine: Engine, *, by: str) -> CoverageList:
    with session_scope(engine) as conn:
        passes = current_passes(conn)
        if by == "contact":
            return CoverageList(contacts=[ContactCoverage(contact_id=r["contact_id"], **_counts(r))
                                          for r in repo.list_contact_coverage(conn, passes=passes)])
        return CoverageList(chats=[ChatCoverage(chat_id=r["chat_id"], **_counts(r))
                                   for r in repo.list_chat_coverage(conn, passes=passes)])

