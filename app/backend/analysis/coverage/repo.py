"""SQL of analysis coverage: how many analysable conversations have every current batch pass done.

A conversation is *analysed* when each current (pass, prompt version) has a done job at the conversation's
current revision; *stale* when it is not, but results of an older prompt version or revision exist (a new
prompt version or a re-split made them out of date: a run re-analyses it).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.analysis.runs.repo import ANALYSABLE_STATES
from backend.db.session import fetch_all

_PER_CONVERSATION = f"""
    WITH current_passes(pass_name, prompt_version) AS (
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:passes)
    ),
    scoped AS (
        SELECT c.id, c.chat_id, c.revision FROM conversations c
        WHERE c.state IN {ANALYSABLE_STATES} AND c.message_count > 0
          AND (:chat IS NULL OR c.chat_id = :chat)
          AND (:contact IS NULL OR c.chat_id IN (SELECT chat_id FROM chat_participants WHERE contact_id = :contact))
    ),
    per_conversation AS (
        SELECT s.id, s.chat_id,
               (SELECT count(*) FROM analysis_jobs j JOIN current_passes p
                  ON p.pass_name = j.pass_name AND p.prompt_version = j.prompt_version
                WHERE j.conversation_id = s.id AND j.revision = s.revision AND j.status = 'done') AS current_done,
               EXISTS (SELECT 1 FROM analysis_jobs j JOIN current_passes p ON p.pass_name = j.pass_name
                       WHERE j.conversation_id = s.id AND j.status = 'done'
                         AND (j.prompt_version != p.prompt_version OR j.revision != s.revision)) AS outdated
        FROM scoped s
    )
"""


def _params(passes: list[tuple[str, str]], chat_id: int | None, contact_id: int | None) -> dict[str, Any]:
    return {"passes": json.dumps([list(p) for p in passes]), "chat": chat_id, "contact": contact_id,
            "n": len(passes)}


def count_coverage(conn: Connection, *, passes: list[tuple[str, str]], chat_id: int | None = None,
                   contact_id: int | None = None) -> dict[str, int]:
    """total, analysed and stale conversations of the scope (every one, a chat's, or a contact's chats)."""
    rows = fetch_all(conn, _PER_CONVERSATION + """
        SELECT count(*) AS total, coalesce(sum(current_done >= :n), 0) AS analysed,
               coalesce(sum(current_done < :n AND outdated), 0) AS stale
        FROM per_conversation
    """, _params(passes, chat_id, contact_id))
    return dict(rows[0])


def list_chat_coverage(conn: Connection, *, passes: list[tuple[str, str]]) -> list[dict[str, int]]:
    """Per chat with analysable conversations: chat_id, total, analysed, stale (chat id order)."""
    return fetch_all(conn, _PER_CONVERSATION + """
        SELECT chat_id, count(*) AS total, coalesce(sum(current_done >= :n), 0) AS analysed,
               coalesce(sum(current_done < :n AND outdated), 0) AS stale
        FROM per_conversation GROUP BY chat_id ORDER BY chat_id
    """, _params(passes, None, None))


def list_contact_coverage(conn: Connection, *, passes: list[tuple[str, str]]) -> list[dict[str, int]]:
    """Per contact: the conversations of the chats they take part in (contact id order)."""
    return fetch_all(conn, _PER_CONVERSATION + """
        SELECT cp.contact_id, count(*) AS total, coalesce(sum(pc.current_done >= :n), 0) AS analysed,
               coalesce(sum(pc.current_done < :n AND pc.outdated), 0) AS stale
        FROM per_conversation pc JOIN (SELECT DISTINCT chat_id, contact_id FROM chat_participants) cp
          ON cp.chat_id = pc.chat_id
        GROUP BY cp.contact_id ORDER BY cp.contact_id
    """, _params(passes, None, None))
