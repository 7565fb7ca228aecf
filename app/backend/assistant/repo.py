"""SQL of the assistant: chatbot_threads, chatbot_messages, chatbot_documents, thread/document contexts."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one, fetch_value

_THREAD = """
    SELECT t.id, t.title, t.created_at, t.updated_at, t.last_read_at,
           (SELECT max(m.id) FROM chatbot_messages m WHERE m.thread_id = t.id) AS latest_message_id,
           EXISTS (SELECT 1 FROM chatbot_messages m WHERE m.thread_id = t.id AND m.role = 'assistant'
                   AND m.status IN ('done', 'error') AND m.updated_at > ifnull(t.last_read_at, 0)) AS unread
    FROM chatbot_threads t
"""
_MESSAGE = """SELECT id, thread_id, role, content, status, model, citations, error_code, error, created_at, updated_at
              FROM chatbot_messages"""
_DOCUMENT = """SELECT d.id, d.thread_id, d.title, d.version, d.content, d.created_at, d.read_at,
                      c.snapshot FROM chatbot_documents d LEFT JOIN document_contexts c ON c.document_id = d.id"""


# ---- threads ----------------------------------------------------------------------------------------

def create_thread(conn: Connection, *, title: str, now_ms: int) -> int:
    return fetch_value(conn, """INSERT INTO chatbot_threads (title, created_at, updated_at)
                                VALUES (:title, :now, :now) RETURNING id""", {"title": title, "now": now_ms})


def get_thread(conn: Connection, *, thread_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"{_THREAD} WHERE t.id = :id AND t.deleted_at IS NULL", {"id": thread_id})


def list_threads(conn: Connection, *, limit: int) -> list[dict[str, Any]]:
    return fetch_all(conn, f"{_THREAD} WHERE t.deleted_at IS NULL ORDER BY t.updated_at DESC, t.id DESC LIMIT :limit",
                     {"limit": limit})


def update_thread(conn: Connection, *, thread_id: int, title: str, now_ms: int) -> int:
    return execute(conn, """UPDATE chatbot_threads SET title = :title, updated_at = :now
                            WHERE id = :id AND deleted_at IS NULL""", {"id": thread_id, "title": title, "now": now_ms})


def touch_thread(conn: Connection, *, thread_id: int, now_ms: int) -> int:
    return execute(conn, "UPDATE chatbot_threads SET updated_at = :now WHERE id = :id",
                   {"id": thread_id, "now": now_ms})


def mark_thread_read(conn: Connection, *, thread_id: int, now_ms: int) -> int:
    return execute(conn, """UPDATE chatbot_threads SET last_read_at = :now WHERE id = :id AND deleted_at IS NULL""",
                   {"id": thread_id, "now": now_ms})


def delete_thread(conn: Connection, *, thread_id: int, now_ms: int) -> int:
    return execute(conn, """UPDATE chatbot_threads SET deleted_at = :now WHERE id = :id AND deleted_at IS NULL""",
                   {"id": thread_id, "now": now_ms})


# ---- contexts ---------------------------------------------------------------------------------------

def list_thread_contexts(conn: Connection, *, thread_id: int) -> dict[str, list[int]]:
    rows = fetch_all(conn, "SELECT chat_id, contact_id FROM thread_contexts WHERE thread_id = :id ORDER BY id",
                     {"id": thread_id})
    return {"chat_ids": [r["chat_id"] for r in rows if r["chat_id"] is not None],
            "contact_ids": [r["contact_id"] for r in rows if r["contact_id"] is not None]}


def list_missing_context_ids(conn: Connection, *, chat_ids: list[int], contact_ids: list[int]
                             ) -> dict[str, list[int]]:
    """The given chat and contact ids that name no row (a thread context must name existing ones)."""
    found_chats = {r["id"] for r in fetch_all(
        conn, "SELECT id FROM chats WHERE id IN (SELECT value FROM json_each(:ids))", {"ids": json.dumps(chat_ids)})}
    found_contacts = {r["id"] for r in fetch_all(
        conn, "SELECT id FROM contacts WHERE id IN (SELECT value FROM json_each(:ids))",
        {"ids": json.dumps(contact_ids)})}
    return {"chat_ids": [i for i in dict.fromkeys(chat_ids) if i not in found_chats],
            "contact_ids": [i for i in dict.fromkeys(contact_ids) if i not in found_contacts]}


def replace_thread_contexts(conn: Connection, *, thread_id: int, chat_ids: list[int], contact_ids: list[int]) -> None:
    execute(conn, "DELETE FROM thread_contexts WHERE thread_id = :id", {"id": thread_id})
    for chat_id in dict.fromkeys(chat_ids):
        execute(conn, "INSERT INTO thread_contexts (thread_id, chat_id) VALUES (:id, :chat_id)",
                {"id": thread_id, "chat_id": chat_id})
    for contact_id in dict.fromkeys(contact_ids):
        execute(conn, "INSERT INTO thread_contexts (thread_id, contact_id) VALUES (:id, :contact_id)",
                {"id": thread_id, "contact_id": contact_id})


# ---- messages ---------------------------------------------------------------------------------------

def create_message(conn: Connection, *, thread_id: int, role: str, content: str, status: str, model: str | None,
                   now_ms: int) -> int:
    return fetch_value(conn, """
        INSERT INTO chatbot_messages (thread_id, role, content, status, model, created_at, updated_at)
        VALUES (:thread_id, :role, :content, :status, :model, :now, :now) RETURNING id
    """, {"thread_id": thread_id, "role": role, "content": content, "status": status, "model": model, "now": now_ms})


def get_message(conn: Connection, *, thread_id: int, message_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"{_MESSAGE} WHERE id = :id AND thread_id = :thread_id",
                     {"id": message_id, "thread_id": thread_id})


def list_messages(conn: Connection, *, thread_id: int, before_id: int | None = None) -> list[dict[str, Any]]:
    return fetch_all(conn, f"{_MESSAGE} WHERE thread_id = :thread_id AND (:before IS NULL OR id < :before) ORDER BY id",
                     {"thread_id": thread_id, "before": before_id})


def get_message_thread_id(conn: Connection, *, message_id: int) -> int | None:
    return fetch_value(conn, "SELECT thread_id FROM chatbot_messages WHERE id = :id", {"id": message_id})


def claim_message(conn: Connection, *, message_id: int, now_ms: int) -> int:
    """pending -> streaming; 0 when another stream already took it (or it is finished)."""
    return execute(conn, """UPDATE chatbot_messages SET status = 'streaming', updated_at = :now
                            WHERE id = :id AND status = 'pending'""", {"id": message_id, "now": now_ms})


def finish_message(conn: Connection, *, message_id: int, status: str, content: str, model: str | None,
                   citations: list[dict[str, Any]], context: dict[str, Any] | None, error_code: str | None,
                   error: str | None, now_ms: int) -> int:
    return execute(conn, """
        UPDATE chatbot_messages SET status = :status, content = :content, model = :model, citations = :citations,
               context = :context, error_code = :error_code, error = :error, updated_at = :now
        WHERE id = :id
    """, {"id": message_id, "status": status, "content": content, "model": model, "citations": json.dumps(citations),
          "context": None if context is None else json.dumps(context), "error_code": error_code, "error": error,
          "now": now_ms})


# ---- documents --------------------------------------------------------------------------------------

def create_document(conn: Connection, *, thread_id: int, title: str, content: str, snapshot: dict[str, Any],
                    now_ms: int) -> int:
    """A new version of the thread's document with this title (version 1 when it is the first)."""
    document_id = fetch_value(conn, """
        INSERT INTO chatbot_documents (thread_id, title, version, content, created_at)
        VALUES (:thread_id, :title,
                (SELECT ifnull(max(version), 0) + 1 FROM chatbot_documents
                 WHERE thread_id = :thread_id AND title = :title),
                :content, :now)
        RETURNING id
    """, {"thread_id": thread_id, "title": title, "content": content, "now": now_ms})
    execute(conn, "INSERT INTO document_contexts (document_id, snapshot) VALUES (:id, :snapshot)",
            {"id": document_id, "snapshot": json.dumps(snapshot)})
    return document_id


def get_document(conn: Connection, *, document_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"""{_DOCUMENT} JOIN chatbot_threads t ON t.id = d.thread_id
                               WHERE d.id = :id AND t.deleted_at IS NULL""", {"id": document_id})


def list_documents(conn: Connection, *, thread_id: int, all_versions: bool) -> list[dict[str, Any]]:
    """The latest version of each title (or every version), titles in order, newest version first."""
    return fetch_all(conn, f"""
        {_DOCUMENT} WHERE d.thread_id = :thread_id
          AND (:all OR d.version = (SELECT max(version) FROM chatbot_documents x
                                    WHERE x.thread_id = d.thread_id AND x.title = d.title))
        ORDER BY d.title, d.version DESC
    """, {"thread_id": thread_id, "all": int(all_versions)})


def mark_document_read(conn: Connection, *, document_id: int, now_ms: int) -> int:
    return execute(conn, "UPDATE chatbot_documents SET read_at = :now WHERE id = :id",
                   {"id": document_id, "now": now_ms})
