"""SQL of search: the messages that make up conversation chunks, FTS5 hits, and the filters."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import label_sql
from backend.db.clock import now_ms
from backend.db.session import execute, fetch_all, fetch_one, fetch_value

# What counts as searchable: live messages with text.
_LIVE = "m.deleted_at IS NULL AND m.is_unsent = 0 AND m.kind = 'message' AND m.text IS NOT NULL AND m.text != ''"


def list_conversation_ids(conn: Connection) -> list[int]:
    return [row["id"] for row in fetch_all(conn, "SELECT id FROM conversations ORDER BY id")]


def list_chunk_messages(conn: Connection, *, conversation_ids: list[int]) -> list[dict[str, Any]]:
    """Searchable messages of the conversations, in conversation then time order."""
    if not conversation_ids:
        return []
    marks = ", ".join(f":c{i}" for i in range(len(conversation_ids)))
    return fetch_all(conn, f"""
        SELECT m.id, m.conversation_id, m.text FROM messages m
        WHERE m.conversation_id IN ({marks}) AND {_LIVE}
        ORDER BY m.conversation_id, m.sent_at, m.id
    """, {f"c{i}": cid for i, cid in enumerate(conversation_ids)})


def _filters(filters: dict[str, Any]) -> str:
    clauses = []
    if filters.get("chat_id") is not None:
        clauses.append("m.chat_id = :chat_id")
    if filters.get("chat_ids") is not None:  # a JSON array
        clauses.append("m.chat_id IN (SELECT value FROM json_each(:chat_ids))")
    if filters.get("contact_id") is not None:
        clauses.append("m.chat_id IN (SELECT chat_id FROM chat_participants WHERE contact_id = :contact_id)")
    if filters.get("since") is not None:
        clauses.append("m.sent_at >= :since")
    if filters.get("until") is not None:
        clauses.append("m.sent_at < :until")
    return "".join(f" AND {clause}" for clause in clauses)


def fts_message_hits(conn: Connection, *, match: str, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Messages matching the FTS5 expression, best bm25 first, with their conversation."""
    return fetch_all(conn, f"""
        SELECT m.id, m.conversation_id, bm25(messages_fts) AS rank
        FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
        WHERE messages_fts MATCH :match AND m.conversation_id IS NOT NULL AND {_LIVE}{_filters(filters)}
        ORDER BY rank LIMIT :limit
    """, {"match": match, "limit": limit, **filters})


def list_chunks_with_members(conn: Connection, *, chunk_ids: list[int],
                             filters: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """chunk id -> the chunk row with `message_ids`: its searchable messages (first..last, in time order)
    that pass the filters. One query for every candidate; chunks with no such message are absent."""
    if not chunk_ids:
        return {}
    rows = fetch_all(conn, f"""
        WITH chunk AS (
            SELECT e.id, e.ref_id, e.chunk_index, e.model, e.text_preview, e.first_message_id, e.last_message_id,
                   lo.sent_at AS lo_at, hi.sent_at AS hi_at
            FROM json_each(:chunk_ids) AS hit
            JOIN embeddings e ON e.id = hit.value
            JOIN messages lo ON lo.id = e.first_message_id
            JOIN messages hi ON hi.id = e.last_message_id
        )
        SELECT chunk.id, chunk.ref_id, chunk.chunk_index, chunk.model, chunk.text_preview,
               chunk.first_message_id, chunk.last_message_id,
               json_group_array(json_array(m.sent_at, m.id)) AS members
        FROM chunk
        JOIN messages m ON m.conversation_id = chunk.ref_id AND m.sent_at BETWEEN chunk.lo_at AND chunk.hi_at
        WHERE {_LIVE}
          AND (m.sent_at, m.id) >= (chunk.lo_at, chunk.first_message_id)
          AND (m.sent_at, m.id) <= (chunk.hi_at, chunk.last_message_id)
          {_filters(filters)}
        GROUP BY chunk.id
    """, {"chunk_ids": json.dumps(chunk_ids), **filters})
    out = {}
    for row in rows:
        members = sorted(json.loads(row.pop("members")))  # (sent_at, id): time order
        out[row["id"]] = {**row, "message_ids": [message_id for _, message_id in members]}
    return out


def get_message_texts(conn: Connection, *, ids: list[int]) -> dict[int, str]:
    """id -> text of these messages (the words a chunk's members share with the query)."""
    if not ids:
        return {}
    rows = conn.exec_driver_sql("SELECT m.id, m.text FROM messages m WHERE m.id IN (SELECT value FROM json_each(?))",
                                (json.dumps(ids),)).all()
    return {row[0]: row[1] or "" for row in rows}


def get_messages(conn: Connection, *, ids: list[int]) -> dict[int, dict[str, Any]]:
    """id -> message as search shows it (text, time, sender name, chat and conversation)."""
    if not ids:
        return {}
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    rows = fetch_all(conn, f"""
        SELECT m.id, m.guid, m.chat_id, m.conversation_id, m.text, m.sent_at, m.is_from_me,
               coalesce(sw.id, s.id) AS sender_contact_id,
               CASE WHEN m.is_from_me THEN 'Me'
                    ELSE coalesce({label_sql("sw")}, {label_sql("s")}, m.sender_handle) END AS sender
        FROM messages m
        LEFT JOIN contacts s ON s.id = m.sender_contact_id
        LEFT JOIN contacts sw ON sw.id = s.merged_into_id
        WHERE m.id IN ({marks})
    """, {f"i{n}": value for n, value in enumerate(ids)})
    return {row["id"]: row for row in rows}


# ---- what embed_pending picks up ------------------------------------------------------------------------

def list_unembedded_conversation_ids(conn: Connection, *, model: str, limit: int) -> list[int]:
    """Conversations past `open` with searchable messages but no chunk embedded with `model`."""
    return [row["id"] for row in fetch_all(conn, f"""
        SELECT c.id FROM conversations c
        WHERE c.state != 'open'
          AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.kind = 'chunk' AND e.ref_id = c.id AND e.model = :model)
          AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND {_LIVE})
        ORDER BY c.id LIMIT :limit
    """, {"model": model, "limit": limit})]


def list_conversations_updated_after(conn: Connection, *, updated_at: int, conversation_id: int,
                                     limit: int) -> list[dict[str, Any]]:
    """Conversations past `open` changed after the cursor (updated_at, id), in cursor order."""
    return fetch_all(conn, """
        SELECT id, updated_at FROM conversations
        WHERE state != 'open' AND (updated_at, id) > (:updated_at, :conversation_id)
        ORDER BY updated_at, id LIMIT :limit
    """, {"updated_at": updated_at, "conversation_id": conversation_id, "limit": limit})


def _cursor_key(model: str) -> str:
    return f"search.embed_cursor:{model}"


def get_embed_cursor(conn: Connection, *, model: str, key: str | None = None) -> tuple[int, int]:
    """(updated_at, conversation id) of the last conversation the pending sweep has embedded."""
    row = fetch_one(conn, "SELECT value FROM sync_state WHERE key = :key", {"key": key or _cursor_key(model)})
    if not row:
        return (0, 0)
    updated_at, conversation_id = json.loads(row["value"])
    return (int(updated_at), int(conversation_id))


def set_embed_cursor(conn: Connection, *, model: str, updated_at: int, conversation_id: int,
                     key: str | None = None) -> None:
    execute(conn, """
        INSERT INTO sync_state (key, value, updated_at) VALUES (:key, :value, :now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """, {"key": key or _cursor_key(model), "value": json.dumps([updated_at, conversation_id]), "now": now_ms()})


# ---- analyses: what is embedded of each ------------------------------------------------------------------

_ANALYSIS_DOCUMENT = """
    SELECT a.id, a.conversation_id, a.chat_id, a.pass_name, a.summary, a.updated_at,
           (SELECT group_concat(topic, ', ') FROM (
                SELECT t.topic FROM topics t WHERE t.analysis_id = a.id
                GROUP BY t.topic ORDER BY max(t.weight) DESC, t.topic LIMIT 12)) AS topics,
           (SELECT group_concat(text, ', ') FROM (
                SELECT n.text FROM entities n WHERE n.analysis_id = a.id
                GROUP BY n.text ORDER BY sum(n.mentions) DESC, n.text LIMIT 12)) AS entities
    FROM conversation_analyses a
"""


def list_analysis_documents(conn: Connection, *, conversation_ids: list[int]) -> list[dict[str, Any]]:
    """The analyses of these conversations with their summary, top topics and entities (comma-joined)."""
    if not conversation_ids:
        return []
    return fetch_all(conn, f"""
        {_ANALYSIS_DOCUMENT}
        WHERE a.status = 'done' AND a.conversation_id IN (SELECT value FROM json_each(:conversation_ids))
        ORDER BY a.id
    """, {"conversation_ids": json.dumps(conversation_ids)})


def list_analysis_documents_updated_after(conn: Connection, *, updated_at: int, analysis_id: int,
                                          limit: int) -> list[dict[str, Any]]:
    """Analyses changed after the cursor (updated_at, id), in cursor order, as `list_analysis_documents`."""
    return fetch_all(conn, f"""
        {_ANALYSIS_DOCUMENT}
        WHERE (a.updated_at, a.id) > (:updated_at, :analysis_id)
        ORDER BY a.updated_at, a.id LIMIT :limit
    """, {"updated_at": updated_at, "analysis_id": analysis_id, "limit": limit})


def delete_orphan_analysis_embeddings(conn: Connection, *, model: str) -> int:
    """Embeddings of analyses that no longer exist, or failed (their conversation was re-split or deleted)."""
    return execute(conn, """
        DELETE FROM embeddings
        WHERE kind = 'analysis' AND model = :model
          AND ref_id NOT IN (SELECT id FROM conversation_analyses WHERE status = 'done')
    """, {"model": model})


def list_chunk_embedding_ids(conn: Connection, *, model: str, filters: dict[str, Any]) -> list[int]:
    """Ids of the chunk vectors of `model` whose conversation can hold messages passing the filters (chat,
    chats, a contact's chats, a time range overlapping the conversation): the scope of a filtered vector
    search, applied inside the index scan so a small chat is searched as thoroughly as a large one."""
    return [row[0] for row in conn.exec_driver_sql("""
        SELECT e.id FROM embeddings e JOIN conversations v ON v.id = e.ref_id
        WHERE e.kind = 'chunk' AND e.model = :model
          AND (:chat_id IS NULL OR v.chat_id = :chat_id)
          AND (:chat_ids IS NULL OR v.chat_id IN (SELECT value FROM json_each(:chat_ids)))
          AND (:contact_id IS NULL
               OR v.chat_id IN (SELECT chat_id FROM chat_participants WHERE contact_id = :contact_id))
          AND (:since IS NULL OR v.last_message_at >= :since)
          AND (:until IS NULL OR v.started_at < :until)
    """, {"model": model, **{key: filters.get(key) for key in ("chat_id", "chat_ids", "contact_id", "since",
                                                                "until")}}).all()]


def list_analysis_embedding_ids(conn: Connection, *, model: str, chat_ids: list[int] | None,
                                conversation_ids: list[int] | None, since: int | None) -> list[int]:
    """Ids of the analysis vectors of `model` within a scope (chats, conversations: NULL means all; `since`:
    the conversation's last message at or after)."""
    return [row["id"] for row in fetch_all(conn, """
        SELECT e.id FROM embeddings e
        JOIN conversation_analyses a ON a.id = e.ref_id
        JOIN conversations v ON v.id = a.conversation_id
        WHERE e.kind = 'analysis' AND e.model = :model
          AND (:chat_ids IS NULL OR a.chat_id IN (SELECT value FROM json_each(:chat_ids)))
          AND (:conversation_ids IS NULL OR a.conversation_id IN (SELECT value FROM json_each(:conversation_ids)))
          AND (:since IS NULL OR v.last_message_at >= :since)
    """, {"model": model, "since": since, "chat_ids": None if chat_ids is None else json.dumps(chat_ids),
          "conversation_ids": None if conversation_ids is None else json.dumps(conversation_ids)})]


def list_analysis_hits(conn: Connection, *, embedding_ids: list[int]) -> dict[int, dict[str, Any]]:
    """embedding id -> the analysis it embeds (id, conversation, chat, pass, the conversation's last message)."""
    if not embedding_ids:
        return {}
    rows = fetch_all(conn, """
        SELECT e.id AS embedding_id, a.id AS analysis_id, a.conversation_id, a.chat_id, a.pass_name,
               v.last_message_at
        FROM json_each(:embedding_ids) AS hit
        JOIN embeddings e ON e.id = hit.value AND e.kind = 'analysis'
        JOIN conversation_analyses a ON a.id = e.ref_id AND a.status = 'done'
        JOIN conversations v ON v.id = a.conversation_id
    """, {"embedding_ids": json.dumps(embedding_ids)})
    return {row["embedding_id"]: row for row in rows}


def get_analysis_cursor(conn: Connection, *, model: str) -> tuple[int, int]:
    """(updated_at, analysis id) of the last analysis the pending sweep has embedded."""
    return get_embed_cursor(conn, model=model, key=f"search.embed_cursor.analysis:{model}")


def set_analysis_cursor(conn: Connection, *, model: str, updated_at: int, analysis_id: int) -> None:
    set_embed_cursor(conn, model=model, updated_at=updated_at, conversation_id=analysis_id,
                     key=f"search.embed_cursor.analysis:{model}")


# ---- message search: the messages matching a parsed query, counted, ranked and paged ----------------------

# What a message search looks through: live messages with text or an attachment.
_SEARCHABLE = ("m.deleted_at IS NULL AND m.is_unsent = 0 AND m.kind = 'message' "
               "AND ((m.text IS NOT NULL AND m.text != '') OR m.has_attachments = 1)")


# The messages with text that are not searched; their partial index (migration 0012) is how an unfiltered
# search counts and ranks in the word index alone. Together with _SEARCHABLE it covers every row with text.
_UNSEARCHABLE = "deleted_at IS NOT NULL OR is_unsent != 0 OR kind != 'message'"
_WHERE_KEYS = ("match", "marks", "chat_ids", "contact_ids", "sender_ids", "from_me", "since", "until",
               "has_attachment", "trigram", "contains", "not_match")


def _indexes_only(filters: dict[str, Any]) -> bool:
    """True when a search has nothing to check but words and symbols (their indexes answer alone)."""
    return filters.get("from_me") is None and not any(
        filters.get(key) not in (None, False, []) for key in _WHERE_KEYS if key not in ("match", "marks", "from_me"))


def _words_only(filters: dict[str, Any]) -> bool:
    """True when a search has a word expression and nothing else to check (the word index answers alone)."""
    return bool(filters.get("match")) and filters.get("from_me") is None and not any(
        filters.get(key) not in (None, False, []) for key in _WHERE_KEYS if key not in ("match", "from_me"))


def _message_where(filters: dict[str, Any], *, fts: bool = True) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of a message search and its parameters. filters: match (FTS5 over words), marks
    (list), chat_ids / contact_ids / sender_ids (lists), from_me, since, until, has_attachment; for partial
    matches: trigram (FTS5 over trigrams: substrings of three or more characters), contains (list of strings
    the text holds as they are), not_match (a word expression the message must NOT match). `fts`: False when
    the caller joins messages_fts itself."""
    clauses, params = [_SEARCHABLE], {}
    if fts and filters.get("match"):
        clauses.append("m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match)")
        params["match"] = filters["match"]
    if filters.get("trigram"):
        clauses.append("m.id IN (SELECT rowid FROM messages_trigram WHERE messages_trigram MATCH :trigram)")
        params["trigram"] = filters["trigram"]
    for i, part in enumerate(filters.get("contains") or []):
        clauses.append(f"instr(m.text, :contains{i}) > 0")
        params[f"contains{i}"] = part
    if filters.get("not_match"):
        clauses.append("m.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :not_match)")
        params["not_match"] = filters["not_match"]
    for i, mark in enumerate(filters.get("marks") or []):
        clauses.append(f"m.id IN (SELECT message_id FROM message_marks WHERE mark = :mark{i})")
        params[f"mark{i}"] = mark
    for key, clause in (
        ("chat_ids", "m.chat_id IN (SELECT value FROM json_each(:chat_ids))"),
        ("contact_ids", "m.chat_id IN (SELECT chat_id FROM chat_participants "
                        "WHERE contact_id IN (SELECT value FROM json_each(:contact_ids)))"),
        ("sender_ids", "m.sender_contact_id IN (SELECT value FROM json_each(:sender_ids))"),
    ):
        if filters.get(key) is not None:
            clauses.append(clause)
            params[key] = json.dumps([int(v) for v in filters[key]])
    if filters.get("from_me") is not None:
        clauses.append("m.is_from_me = :from_me")
        params["from_me"] = int(bool(filters["from_me"]))
    if filters.get("since") is not None:
        clauses.append("m.sent_at >= :since")
        params["since"] = filters["since"]
    if filters.get("until") is not None:
        clauses.append("m.sent_at < :until")
        params["until"] = filters["until"]
    if filters.get("has_attachment"):
        clauses.append("m.has_attachments = 1")
    return " AND ".join(clauses), params


def count_matching_messages(conn: Connection, *, filters: dict[str, Any]) -> int:
    """How many messages match: the exact `total` of a search. Words and symbols alone are counted in their
    indexes, without reading a message row."""
    marks = list(filters.get("marks") or [])
    if _indexes_only(filters) and (filters.get("match") or marks):
        # one index is walked (the first mark's, else the words'); the others are looked up as sets built once
        # (a mark's ids looked up inside the FTS5 scan would rerun the MATCH for each)
        params: dict[str, Any] = {f"mark{i}": mark for i, mark in enumerate(marks)}
        if marks:
            source, key = "SELECT message_id FROM message_marks WHERE mark = :mark0", "message_id"
            also = [f"message_id IN (SELECT message_id FROM message_marks WHERE mark = :mark{i})"
                    for i in range(1, len(marks))]
            if filters.get("match"):
                also.append("message_id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match)")
        else:
            source, key, also = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match", "rowid", []
        if filters.get("match"):
            params["match"] = filters["match"]
        checks = "".join(f" AND {clause}" for clause in also)
        return int(fetch_value(conn, f"""
            SELECT count(*) FROM ({source}{checks}
                                  AND {key} NOT IN (SELECT id FROM messages WHERE {_UNSEARCHABLE}))
        """, params) or 0)
    where, params = _message_where(filters)
    return int(fetch_value(conn, f"SELECT count(*) FROM messages m WHERE {where}", params) or 0)


def _excluding(exclude: list[int] | None) -> tuple[str, dict[str, Any]]:
    if not exclude:
        return "", {}
    return " AND m.id NOT IN (SELECT value FROM json_each(:exclude))", {"exclude": json.dumps(exclude)}


def list_matching_by_time(conn: Connection, *, filters: dict[str, Any], newest_first: bool, limit: int,
                          offset: int, exclude: list[int] | None = None, many: bool = False) -> list[int]:
    """Ids of matching messages (less `exclude`) in time order (ties by id), one page. `many`: the search
    matches many messages, so walking the messages in time order (migration 0010's index of visible messages
    by time) finds a page sooner than sorting every match."""
    where, params = _message_where(filters)
    skip, skipped = _excluding(exclude)
    direction = "DESC" if newest_first else "ASC"
    walk = " INDEXED BY ix_messages_insights_time" if many else ""
    return [row["id"] for row in fetch_all(conn, f"""
        SELECT m.id FROM messages m{walk} WHERE {where}{skip}
        ORDER BY m.sent_at {direction}, m.id {direction} LIMIT :limit OFFSET :offset
    """, {**params, **skipped, "limit": limit, "offset": offset})]


def list_matching_by_rank(conn: Connection, *, filters: dict[str, Any], limit: int, offset: int,
                          exclude: list[int] | None = None, window: int | None = None) -> list[int]:
    """Ids of matching messages (less `exclude`), best bm25 first (ties by id), one page; needs a `match`.
    `window`: only among the `window` most recent matches of the expression (highest ids), so that a word
    most messages hold is not scored in every one of them."""
    params: dict[str, Any] = {"match": filters["match"], "limit": limit, "offset": offset}
    newest = ""
    if window:
        newest = (" AND messages_fts.rowid >= (SELECT coalesce(min(rowid), 0) FROM (SELECT rowid FROM messages_fts"
                  " WHERE messages_fts MATCH :match ORDER BY rowid DESC LIMIT :window))")
        params["window"] = window
    if _words_only(filters):
        skip = ""
        if exclude:
            skip = " AND messages_fts.rowid NOT IN (SELECT value FROM json_each(:exclude))"
            params["exclude"] = json.dumps(exclude)
        return [row[0] for row in conn.exec_driver_sql(f"""
            SELECT messages_fts.rowid FROM messages_fts
            WHERE messages_fts MATCH :match{newest}{skip}
              AND messages_fts.rowid NOT IN (SELECT id FROM messages WHERE {_UNSEARCHABLE})
            ORDER BY bm25(messages_fts), messages_fts.rowid LIMIT :limit OFFSET :offset
        """, params).all()]
    where, where_params = _message_where(filters, fts=False)
    skip, skipped = _excluding(exclude)
    return [row["id"] for row in fetch_all(conn, f"""
        SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
        WHERE messages_fts MATCH :match{newest} AND {where}{skip}
        ORDER BY bm25(messages_fts), m.id LIMIT :limit OFFSET :offset
    """, {**where_params, **skipped, **params})]


def keep_matching(conn: Connection, *, ids: list[int], filters: dict[str, Any]) -> set[int]:
    """The ids among `ids` that pass the filters (the vector side's messages, checked like the rest)."""
    if not ids:
        return set()
    where, params = _message_where(filters)
    return {row["id"] for row in fetch_all(conn, f"""
        SELECT m.id FROM messages m WHERE m.id IN (SELECT value FROM json_each(:ids)) AND {where}
    """, {**params, "ids": json.dumps(ids)})}


def get_matching_texts(conn: Connection, *, ids: list[int], filters: dict[str, Any]) -> dict[int, str]:
    """id -> text of the ids among `ids` that pass the filters (`keep_matching` with the texts, one query)."""
    if not ids:
        return {}
    where, params = _message_where(filters)
    rows = conn.exec_driver_sql(f"""
        SELECT m.id, m.text FROM messages m WHERE m.id IN (SELECT value FROM json_each(:ids)) AND {where}
    """, {**params, "ids": json.dumps(ids)}).all()
    return {row[0]: row[1] or "" for row in rows}


def get_result_messages(conn: Connection, *, ids: list[int]) -> dict[int, dict[str, Any]]:
    """id -> message as a search result shows it: text, time, sender, chat (with its name) and conversation."""
    if not ids:
        return {}
    rows = fetch_all(conn, f"""
        SELECT m.id, m.guid, m.chat_id, m.conversation_id, m.text, m.sent_at, m.is_from_me, m.has_attachments,
               coalesce(sw.id, s.id) AS sender_contact_id,
               CASE WHEN m.is_from_me THEN 'Me'
                    ELSE coalesce({label_sql("sw")}, {label_sql("s")}, m.sender_handle) END AS sender,
               c.display_name AS chat_name, c.is_group AS chat_is_group
        FROM json_each(:ids) AS hit
        JOIN messages m ON m.id = hit.value
        JOIN chats c ON c.id = m.chat_id
        LEFT JOIN contacts s ON s.id = m.sender_contact_id
        LEFT JOIN contacts sw ON sw.id = s.merged_into_id
    """, {"ids": json.dumps(ids)})
    return {row["id"]: row for row in rows}


def find_contact_ids(conn: Connection, *, name: str) -> list[int]:
    """Contacts a typed name means (from:Sam): display, first, last or nick name starting with it, or an
    identifier equal to it, with the contacts merged into them."""
    rows = fetch_all(conn, """
        WITH hit AS (
            SELECT c.id FROM contacts c
            WHERE c.display_name LIKE :prefix ESCAPE '\\' OR c.first_name LIKE :prefix ESCAPE '\\'
               OR c.last_name LIKE :prefix ESCAPE '\\' OR c.nickname LIKE :prefix ESCAPE '\\'
               OR c.display_name LIKE :word ESCAPE '\\'
               OR c.id IN (SELECT contact_id FROM contact_identifiers WHERE value = :name)
        )
        SELECT id FROM hit
        UNION SELECT c.id FROM contacts c WHERE c.merged_into_id IN (SELECT id FROM hit)
        UNION SELECT c.merged_into_id FROM contacts c WHERE c.id IN (SELECT id FROM hit)
                                                        AND c.merged_into_id IS NOT NULL
    """, {"prefix": _like(name) + "%", "word": "% " + _like(name) + "%", "name": name})
    return sorted(row["id"] for row in rows)


def find_chat_ids(conn: Connection, *, name: str) -> list[int]:
    """Chats a typed name means (in:"Family"): the chat's name containing it, else the 1:1 chats of
    contacts with that name."""
    rows = fetch_all(conn, "SELECT id FROM chats WHERE display_name LIKE :pattern ESCAPE '\\'",
                     {"pattern": "%" + _like(name) + "%"})
    if rows:
        return sorted(row["id"] for row in rows)
    contacts = find_contact_ids(conn, name=name)
    return sorted(row["chat_id"] for row in fetch_all(conn, """
        SELECT p.chat_id FROM chat_participants p JOIN chats c ON c.id = p.chat_id
        WHERE c.is_group = 0 AND p.contact_id IN (SELECT value FROM json_each(:ids))
    """, {"ids": json.dumps(contacts)}))


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
