"""SQL that writes the mirror: contacts, handles, chats, messages, reactions, edits, attachments.

Bulk statements take lists of tuples (executemany) in the column order named next to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from backend.db.clock import now_ms
from backend.db.session import execute, fetch_one, fetch_value, sqlite_of
from backend.search.marks import mark_rows


def execute_many(conn: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """executemany on the DBAPI connection, inside the caller's transaction (no per-row SQLAlchemy cost)."""
    sqlite_of(conn).executemany(sql, rows)


# -- chat figures -----------------------------------------------------------------------------------

def refresh_chat_stats(conn: Connection, chat_ids: Iterable[int] | None = None) -> None:
    """Recompute last message, counts and unread counts from the messages (all chats when None).

    Each figure is one indexed look-up per chat (ix_messages_chat_live, ix_messages_unread, and
    ix_messages_chat_sent from the newest end), so a live pass does not rescan a long chat.
    """
    where = ""
    if chat_ids is not None:
        ids = sorted({int(i) for i in chat_ids})
        if not ids:
            return
        where = f"WHERE chats.id IN ({','.join(map(str, ids))})"
    conn.exec_driver_sql(f"""
        UPDATE chats SET
            message_count = (SELECT count(*) FROM messages m
                             WHERE m.chat_id = chats.id AND m.deleted_at IS NULL),
            unread_count = (SELECT count(*) FROM messages m
                            WHERE m.chat_id = chats.id AND m.is_from_me = 0 AND m.is_read = 0
                              AND m.kind = 'message' AND m.deleted_at IS NULL),
            last_message_id = (SELECT m.id FROM messages m WHERE m.chat_id = chats.id AND m.deleted_at IS NULL
                               ORDER BY m.sent_at DESC, m.id DESC LIMIT 1),
            last_message_at = (SELECT max(m.sent_at) FROM messages m
                               WHERE m.chat_id = chats.id AND m.deleted_at IS NULL)
        {where}
    """)



# -- messages -------------------------------------------------------------------------------------

def load_source_maps(conn: Connection, *, handles: Sequence[tuple], chats: Sequence[tuple]) -> None:
    """Temp tables that map source ROWIDs to mirror ids for the SQL copy.

    handles: (source_rowid, contact_id, canonical); chats: (source_rowid, chat_id).
    """
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS source_handles "
                         "(rowid INTEGER PRIMARY KEY, contact_id INTEGER, canonical TEXT)")
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS source_chats (rowid INTEGER PRIMARY KEY, chat_id INTEGER)")
    conn.exec_driver_sql("DELETE FROM temp.source_handles")
    conn.exec_driver_sql("DELETE FROM temp.source_chats")
    execute_many(conn, "INSERT OR REPLACE INTO temp.source_handles (rowid, contact_id, canonical) VALUES (?, ?, ?)",
                 handles)
    execute_many(conn, "INSERT OR REPLACE INTO temp.source_chats (rowid, chat_id) VALUES (?, ?)", chats)


_LOADED_COLUMNS = (
    "guid", "source_rowid", "chat_id", "sender_contact_id", "sender_handle", "is_from_me", "service", "sent_at",
    "delivered_at", "read_at", "edited_at", "retracted_at", "text", "subject", "kind", "item_type",
    "group_action_type", "group_title", "other_handle", "reply_to_guid", "reply_to_part", "effect",
    "balloon_bundle_id", "is_read", "is_audio", "is_unsent", "has_attachments", "conversation_id",
)


def load_messages(
    conn: Connection, *, source_select: str, params: dict[str, Any], body_text_sql: str, date_sql: Callable[[str], str],
    kind_sql: str, epoch_ms: int, unknown_chat_id: int, upsert: bool, planned: bool = False,
    pre_decoded: bool = False,
) -> list[tuple[int, int, int, str | None]]:
    """Copy messages from the attached source in one INSERT ... SELECT.

    `source_select` yields normalized source columns (see source/chatdb/sql.py). With `planned`,
    each row lands in the conversation of temp.planned_conversations that holds its time (see
    load_planned_conversations). With `pre_decoded`, a row's text is taken from temp.body_texts when
    it is there (see load_body_texts) instead of from `body_text_sql`. With `upsert`, existing guids
    are refreshed (their conversation is left to the re-split; body extras are cleared for the extras
    pass to refill) and (id, chat_id, sent_at, text) of every row is returned.
    """
    retracted = date_sql("s.date_retracted")
    chat_sql = f"coalesce(sc.chat_id, {int(unknown_chat_id)})"
    sent_sql = f"coalesce({date_sql('s.date')}, {int(epoch_ms)})"
    conversation_sql, texts_join = "NULL", ""
    if pre_decoded:
        body_text_sql = f"CASE WHEN bt.rowid IS NULL THEN {body_text_sql} ELSE bt.text END"
        texts_join = "LEFT JOIN temp.body_texts bt ON bt.rowid = s.source_rowid"
    if planned:  # the conversation that started last at or before the message, in its chat
        conversation_sql = (f"(SELECT pc.id FROM temp.planned_conversations pc WHERE pc.chat_id = {chat_sql} "
                            f"AND pc.started_at <= {sent_sql} ORDER BY pc.started_at DESC LIMIT 1)")
    conflict = ""
    if upsert:
        updates = ", ".join(f"{c} = excluded.{c}" for c in _LOADED_COLUMNS if c not in ("guid", "conversation_id"))
        conflict = (f"ON CONFLICT (guid) DO UPDATE SET {updates}, body_json = NULL, decode_error = NULL "
                    "RETURNING id, chat_id, sent_at, text")
    sql = f"""
        INSERT INTO messages ({", ".join(_LOADED_COLUMNS)})
        SELECT s.guid, s.source_rowid, {chat_sql},
               CASE WHEN s.is_from_me THEN NULL ELSE sh.contact_id END,
               CASE WHEN s.is_from_me THEN NULL ELSE sh.canonical END,
               CASE WHEN s.is_from_me THEN 1 ELSE 0 END, s.service,
               {sent_sql}, {date_sql("s.date_delivered")},
               {date_sql("s.date_read")}, {date_sql("s.date_edited")}, {retracted},
               {body_text_sql}, nullif(s.subject, ''), {kind_sql}, coalesce(s.item_type, 0),
               coalesce(s.group_action_type, 0), s.group_title, oh.canonical, s.reply_to_guid,
               s.reply_to_part, s.effect, s.balloon_bundle_id, CASE WHEN s.is_read THEN 1 ELSE 0 END,
               CASE WHEN s.is_audio THEN 1 ELSE 0 END, CASE WHEN {retracted} IS NOT NULL THEN 1 ELSE 0 END,
               CASE WHEN s.has_attachments THEN 1 ELSE 0 END, {conversation_sql}
        FROM ({source_select}) AS s
        LEFT JOIN temp.source_chats sc ON sc.rowid = s.chat_rowid
        LEFT JOIN temp.source_handles sh ON sh.rowid = s.handle_rowid
        LEFT JOIN temp.source_handles oh ON oh.rowid = s.other_handle_rowid
        {texts_join}
        WHERE true ORDER BY s.source_rowid
        {conflict}
    """
    cursor = sqlite_of(conn).execute(sql, params)
    return cursor.fetchall() if upsert else []


def list_source_timeline(
    conn: Connection, *, source_select: str, date_sql: Callable[[str], str], epoch_ms: int, unknown_chat_id: int,
) -> list[tuple[int, int]]:
    """(chat_id, sent_at) of source messages in split order, as load_messages will store them."""
    return sqlite_of(conn).execute(f"""
        SELECT coalesce(sc.chat_id, {int(unknown_chat_id)}) AS chat_id,
               coalesce({date_sql("s.date")}, {int(epoch_ms)}) AS sent_at
        FROM ({source_select}) AS s LEFT JOIN temp.source_chats sc ON sc.rowid = s.chat_rowid
        ORDER BY chat_id, sent_at
    """).fetchall()


def load_body_texts(conn: Connection, texts_json: str) -> None:
    """temp.body_texts from a JSON object {source_rowid: text} (parsed in C)."""
    raw = sqlite_of(conn)
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS body_texts (rowid INTEGER PRIMARY KEY, text TEXT)")
    raw.execute("DELETE FROM temp.body_texts")
    raw.execute("INSERT INTO temp.body_texts SELECT CAST(key AS INTEGER), value FROM json_each(?)", (texts_json,))


def load_planned_conversations(conn: Connection, rows: Sequence[tuple[int, int, int]]) -> None:
    """temp.planned_conversations from (chat_id, started_at, conversation_id): where a bulk copy places rows."""
    raw = sqlite_of(conn)
    raw.execute("CREATE TEMP TABLE IF NOT EXISTS planned_conversations (chat_id INTEGER NOT NULL, "
                "started_at INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (chat_id, started_at)) WITHOUT ROWID")
    raw.execute("DELETE FROM temp.planned_conversations")
    raw.executemany("INSERT INTO temp.planned_conversations (chat_id, started_at, id) VALUES (?, ?, ?)", rows)


def changed_rowids(conn: Connection, *, source_select: str, date_sql: Callable[[str], str], unknown_chat_id: int,
                   params: dict[str, Any]) -> list[int]:
    """Source rows whose mirrored copy differs in what Messages changes after the fact: edits,
    unsends, read and delivery times, a body that arrived late, the chat a message belongs to."""
    return [rowid for (rowid,) in sqlite_of(conn).execute(f"""
        SELECT s.source_rowid FROM ({source_select}) AS s
        JOIN messages mm ON mm.guid = s.guid
        LEFT JOIN temp.source_chats sc ON sc.rowid = s.chat_rowid
        WHERE coalesce({date_sql("s.date_edited")}, -1) != coalesce(mm.edited_at, -1)
           OR coalesce({date_sql("s.date_retracted")}, -1) != coalesce(mm.retracted_at, -1)
           OR coalesce({date_sql("s.date_read")}, -1) != coalesce(mm.read_at, -1)
           OR coalesce({date_sql("s.date_delivered")}, -1) != coalesce(mm.delivered_at, -1)
           OR (CASE WHEN s.is_read THEN 1 ELSE 0 END) != mm.is_read
           OR (mm.text IS NULL AND mm.decode_error IS NULL AND s.body IS NOT NULL)
           OR (coalesce(s.text, '') != '' AND mm.text IS NOT s.text)
           OR coalesce(sc.chat_id, {int(unknown_chat_id)}) != mm.chat_id
    """, params).fetchall()]


def mark_deleted(conn: Connection, guids: Sequence[str]) -> list[tuple[int, int, int]]:
    """Messages deleted in Messages: kept and flagged, but out of their conversation (the caller re-splits).

    Returns (id, chat_id, sent_at) of the messages flagged now.
    """
    if not guids:
        return []
    return [tuple(r) for r in sqlite_of(conn).execute(
        "UPDATE messages SET deleted_at = ?, conversation_id = NULL "
        "WHERE deleted_at IS NULL AND guid IN (SELECT value FROM json_each(?)) RETURNING id, chat_id, sent_at",
        (now_ms(), json.dumps(list(guids))),
    ).fetchall()]


def conversation_chats(conn: Connection, conversation_ids: Iterable[int]) -> list[tuple[int, int]]:
    ids = sorted(conversation_ids)
    if not ids:
        return []
    return [tuple(r) for r in sqlite_of(conn).execute(
        "SELECT id, chat_id FROM conversations WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(ids),)).fetchall()]


def set_body_extras(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (text, body_json, decode_error, source guid) from full decodes of rich or odd blobs."""
    execute_many(conn, "UPDATE messages SET text = coalesce(text, ?), body_json = ?, decode_error = ? WHERE guid = ?",
                 rows)


def mark_unsent(conn: Connection, message_ids: Sequence[int]) -> None:
    execute_many(conn, "UPDATE messages SET is_unsent = 1 WHERE id = ?", [(i,) for i in message_ids])


def count_problem_messages(conn: Connection, *, unknown_chat_id: int, undated_at: int,
                           message_ids: Sequence[int] | None) -> dict[str, int]:
    """Messages kept despite a fault in the source, among `message_ids` (all when None)."""
    only = ""
    params: tuple = (unknown_chat_id, undated_at)
    if message_ids is not None:
        if not message_ids:
            return {}
        only = "WHERE id IN (SELECT value FROM json_each(?3))"
        params = (*params, "[" + ",".join(map(str, message_ids)) + "]")
    row = sqlite_of(conn).execute(f"""
        SELECT coalesce(sum(chat_id = ?1), 0),
               coalesce(sum(is_from_me = 0 AND sender_contact_id IS NULL AND kind = 'message'), 0),
               coalesce(sum(text IS NULL AND decode_error IS NOT NULL), 0),
               coalesce(sum(sent_at = ?2), 0)
        FROM messages {only}
    """, params).fetchone()
    return dict(zip(("without_chat", "without_sender", "undecodable", "undated"), row, strict=False))


def message_states(conn: Connection, guids: Sequence[str]) -> dict[str, tuple[int, str | None, int, int]]:
    """guid -> (id, text, chat_id, sent_at) of the messages that exist."""
    found: dict[str, tuple[int, str | None, int, int]] = {}
    raw = sqlite_of(conn)
    for start in range(0, len(guids), 500):
        chunk = tuple(guids[start:start + 500])
        rows = raw.execute(f"SELECT guid, id, text, chat_id, sent_at FROM messages WHERE guid IN "
                           f"({','.join('?' * len(chunk))})", chunk).fetchall()
        found.update({guid: (mid, text, chat_id, sent_at) for guid, mid, text, chat_id, sent_at in rows})
    return found


def next_message_id(conn: Connection) -> int:
    return (fetch_value(conn, "SELECT max(id) FROM messages") or 0) + 1


def fts_insert(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """rows: (message_id, text) of messages whose text is new: into the word and trigram indexes and the marks."""
    execute_many(conn, "INSERT INTO messages_fts (rowid, text) VALUES (?, ?)", rows)
    execute_many(conn, "INSERT INTO messages_trigram (rowid, text) VALUES (?, ?)", rows)
    execute_many(conn, "INSERT OR IGNORE INTO message_marks (mark, message_id) VALUES (?, ?)", mark_rows(rows))


def fts_delete(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """rows: (message_id, old_text) of messages whose indexed text changes or goes."""
    execute_many(conn, "INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', ?, ?)", rows)
    execute_many(conn, "INSERT INTO messages_trigram (messages_trigram, rowid, text) VALUES ('delete', ?, ?)", rows)
    execute_many(conn, "DELETE FROM message_marks WHERE message_id = ?", [(row[0],) for row in rows])


def fts_rebuild(conn: Connection) -> None:
    """The indexes of message text (words, trigrams and marks) rebuilt from the messages."""
    conn.exec_driver_sql("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
    conn.exec_driver_sql("INSERT INTO messages_trigram (messages_trigram) VALUES ('rebuild')")
    conn.exec_driver_sql("DELETE FROM message_marks")
    raw = conn.connection.driver_connection
    assert raw is not None  # a live DBAPI connection under an open Connection
    cursor = raw.execute("SELECT id, text FROM messages WHERE text IS NOT NULL AND text != ''")
    while rows := cursor.fetchmany(5000):
        raw.executemany("INSERT OR IGNORE INTO message_marks (mark, message_id) VALUES (?, ?)", mark_rows(rows))


# -- conversations -----------------------------------------------------------------------------------

def insert_conversations(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (id, chat_id, started_at, last_message_at, message_count, state, sealed_at, updated_at)."""
    execute_many(conn, """
        INSERT INTO conversations (id, chat_id, started_at, last_message_at, message_count, state, sealed_at,
                                   updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    """, rows)


def next_conversation_id(conn: Connection) -> int:
    return (fetch_value(conn, "SELECT max(id) FROM conversations") or 0) + 1


def list_chat_timeline(conn: Connection, *, chat_id: int, from_at: int) -> list[tuple[int, int, int | None]]:
    """(id, sent_at, conversation_id) of a chat's messages from the conversation holding `from_at`."""
    start = fetch_value(conn, """
        SELECT coalesce(max(started_at), :from_at) FROM conversations
        WHERE chat_id = :chat_id AND started_at <= :from_at
    """, {"chat_id": chat_id, "from_at": from_at})
    return [tuple(row) for row in conn.exec_driver_sql(
        "SELECT id, sent_at, conversation_id FROM messages WHERE chat_id = ? AND sent_at >= ? AND deleted_at IS NULL "
        "ORDER BY sent_at, id",
        (chat_id, min(start, from_at)),
    ).all()]


def update_conversation(conn: Connection, *, conversation_id: int, started_at: int, last_message_at: int,
                        message_count: int, reopen: bool) -> None:
    execute(conn, """
        UPDATE conversations SET started_at = :started_at, last_message_at = :last_message_at,
            message_count = :message_count, updated_at = :now,
            state = CASE WHEN :reopen THEN 'open' ELSE state END,
            sealed_at = CASE WHEN :reopen THEN NULL ELSE sealed_at END,
            revision = revision + CASE WHEN :reopen THEN 1 ELSE 0 END
        WHERE id = :id
    """, {"id": conversation_id, "started_at": started_at, "last_message_at": last_message_at,
          "message_count": message_count, "now": now_ms(), "reopen": 1 if reopen else 0})


def get_conversation(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM conversations WHERE id = :id", {"id": conversation_id})


def set_message_conversations(conn: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """rows: (conversation_id, message_id)."""
    execute_many(conn, "UPDATE messages SET conversation_id = ? WHERE id = ?", rows)


def delete_empty_conversations(conn: Connection, *, chat_id: int) -> int:
    return execute(conn, """
        DELETE FROM conversations WHERE chat_id = :chat_id
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id)
    """, {"chat_id": chat_id})


# -- reactions, edits, attachments ---------------------------------------------------------------------

_REACTION_INSERT = """
    INSERT INTO reactions (target_guid, target_part, message_id, sender_key, sender_contact_id, is_from_me,
                           kind, emoji, source_guid, source_rowid, reacted_at, is_active)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_ATTACHMENT_INSERT = """
    INSERT INTO attachments (guid, source_rowid, message_id, path, transfer_name, mime_type, uti,
                             total_bytes, created_at, is_sticker, file_present)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def insert_reactions_by_target(conn: Connection, rows: Sequence[tuple]) -> None:
    """Bulk load into an empty table, each row linked to its target message by guid here: rows as for
    upsert_reactions without message_id (target_guid, target_part, sender_key, ...)."""
    execute_many(conn, """
        INSERT INTO reactions (target_guid, target_part, message_id, sender_key, sender_contact_id, is_from_me,
                               kind, emoji, source_guid, source_rowid, reacted_at, is_active)
        VALUES (?1, ?2, (SELECT id FROM messages WHERE guid = ?1), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
    """, rows)


def upsert_reactions(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (target_guid, target_part, message_id, sender_key, sender_contact_id, is_from_me, kind, emoji,
    source_guid, source_rowid, reacted_at, is_active). An older event never overwrites a newer one."""
    execute_many(conn, _REACTION_INSERT + """
        ON CONFLICT (sender_key, target_guid, target_part, kind, emoji) DO UPDATE SET
            message_id = coalesce(excluded.message_id, reactions.message_id),
            sender_contact_id = excluded.sender_contact_id, source_guid = excluded.source_guid,
            source_rowid = excluded.source_rowid, reacted_at = excluded.reacted_at, is_active = excluded.is_active
        WHERE (excluded.reacted_at, excluded.source_rowid) >= (reactions.reacted_at, reactions.source_rowid)
    """, rows)


def link_reactions_to_messages(conn: Connection) -> int:
    """Attach reactions whose target message arrived after them."""
    return execute(conn, """
        UPDATE reactions SET message_id = (SELECT id FROM messages WHERE guid = reactions.target_guid)
        WHERE message_id IS NULL AND EXISTS (SELECT 1 FROM messages WHERE guid = reactions.target_guid)
    """)


def upsert_edits(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (message_id, part, version, text, edited_at)."""
    execute_many(conn, """
        INSERT INTO message_edits (message_id, part, version, text, edited_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (message_id, part, version) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at
    """, rows)


def insert_attachments(conn: Connection, rows: Sequence[tuple]) -> None:
    """Bulk load into an empty table, rows in ATTACHMENT_FIELDS order."""
    execute_many(conn, _ATTACHMENT_INSERT, rows)


def upsert_attachments(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows in ATTACHMENT_FIELDS order."""
    execute_many(conn, _ATTACHMENT_INSERT + """
        ON CONFLICT (guid) DO UPDATE SET source_rowid = excluded.source_rowid,
            message_id = coalesce(excluded.message_id, attachments.message_id), path = excluded.path,
            total_bytes = excluded.total_bytes, file_present = excluded.file_present
    """, rows)


# -- bulk loads ---------------------------------------------------------------------------------------

def drop_indexes(conn: Connection, tables: Sequence[str]) -> list[str]:
    """Drop the named indexes of `tables` (for a bulk load into an empty file); returns their SQL."""
    rows = conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({','.join('?' * len(tables))})", tuple(tables),
    ).all()
    for name, _sql in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def create_indexes(conn: Connection, statements: Sequence[str]) -> None:
    for sql in statements:
        conn.exec_driver_sql(sql)


# -- sync state -----------------------------------------------------------------------------------------

def get_sync_state(conn: Connection, key: str) -> Any:
    row = fetch_one(conn, "SELECT value FROM sync_state WHERE key = :key", {"key": key})
    return json.loads(row["value"]) if row else None


def set_sync_state(conn: Connection, key: str, value: Any) -> None:
    execute(conn, """
        INSERT INTO sync_state (key, value, updated_at) VALUES (:key, :value, :now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """, {"key": key, "value": json.dumps(value), "now": now_ms()})


def count_rows(conn: Connection) -> dict[str, int]:
    tables = ("contacts", "chats", "messages", "conversations", "reactions", "message_edits", "attachments")
    return {t: fetch_value(conn, f"SELECT count(*) FROM {t}") for t in tables}
