"""SQL of the insights statistics: every count, join and aggregate over the mirror happens here.

A message is a visible one (kind 'message', not deleted: tapbacks live in `reactions`, system rows are not
messages). `since`/`until` bound `sent_at` (unix ms, half-open) and are left out of the SQL when None, so the
time index serves ranges. Chat filters are lists of integer ids written into the SQL text.
"""



from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import OWNER_CTE, label_sql
from backend.db.session import fetch_all, fetch_one, fetch_value

# The predicate of the partial insights indexes (migration 0010): keep it verbatim so they can be used.
VISIBLE = "m.kind = 'message' AND m.deleted_at IS NULL"
# Without statistics SQLite prefers the chat list's index and reads the table for `kind`; the covering
# indexes of migration 0010 are several times faster, so the aggregates name them.
BY_TIME = "messages m INDEXED BY ix_messages_insights_time"
BY_CHAT = "messages m INDEXED BY ix_messages_insights_chat"

_OWNER_CTE = OWNER_CTE  # every contact mapped to the live one at the end of its merge chain


def _range(column: str, since: int | None, until: int | None) -> str:
    return (f" AND {column} >= :since" if since is not None else "") + (
        f" AND {column} < :until" if until is not None else "")


def _chats(column: str, chat_ids: Sequence[int] | None) -> str:
    if chat_ids is None:
        return ""
    return f" AND {column} IN ({','.join(str(int(i)) for i in chat_ids) or 'NULL'})"


def _after(after_id: int | None) -> str:
    return f" AND m.id > {int(after_id)}" if after_id is not None else ""


def _params(since: int | None, until: int | None, **extra: Any) -> dict[str, Any]:
    return {"since": since, "until": until, **extra}


def get_fingerprint(conn: Connection) -> tuple[Any, ...]:
    """Cheap values that change whenever the mirror changes what insights count (new, deleted or edited
    messages, reactions added or removed, contacts renamed or merged)."""
    row = fetch_one(conn, """
        SELECT (SELECT max(id) FROM messages) AS messages, (SELECT sum(message_count) FROM chats) AS visible,
               (SELECT max(id) FROM message_edits) AS edits, (SELECT max(id) FROM reactions) AS reactions,
               (SELECT count(*) FROM reactions WHERE is_active = 1) AS active,
               (SELECT max(updated_at) FROM contacts) AS contacts,
               (SELECT count(*) FROM contacts WHERE merged_into_id IS NOT NULL) AS merged,
               (SELECT count(*) FROM chats) AS chats
    """)
    return tuple(row.values()) if row else ()


def get_bounds(conn: Connection) -> dict[str, Any]:
    """First and last visible message of the whole mirror."""
    return fetch_one(conn, f"""
        SELECT (SELECT min(m.sent_at) FROM messages m WHERE {VISIBLE}) AS first,
               (SELECT max(m.sent_at) FROM messages m WHERE {VISIBLE}) AS last
    """) or {"first": None, "last": None}


def has_messages(conn: Connection, *, since: int | None, until: int | None) -> bool:
    return bool(fetch_value(conn, f"SELECT EXISTS (SELECT 1 FROM messages m WHERE {VISIBLE}"
                                  f"{_range('m.sent_at', since, until)})", _params(since, until)))


def list_owners(conn: Connection) -> list[dict[str, Any]]:
    """Every contact with the live contact at the end of its merge chain, and that one's name."""
    return fetch_all(conn, f"""
        WITH RECURSIVE {_OWNER_CTE}
        SELECT o.member_id, o.live_id, {label_sql("w")} AS name
        FROM owner o JOIN contacts w ON w.id = o.live_id
    """)


def get_contact(conn: Connection, *, contact_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT id, merged_into_id FROM contacts WHERE id = :id", {"id": contact_id})


def list_chats(conn: Connection) -> list[dict[str, Any]]:
    """Every chat with its participants (contact ids as stored) and its own name."""
    return fetch_all(conn, """
        SELECT c.id AS chat_id, c.is_group, c.display_name,
               (SELECT group_concat(p.contact_id) FROM chat_participants p WHERE p.chat_id = c.id) AS members
        FROM chats c
    """)


def list_chat_counts(conn: Connection, *, since: int | None, until: int | None,
                     chat_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Per chat: visible messages, sent by the user, first and last."""
    return fetch_all(conn, f"""
        SELECT m.chat_id, count(*) AS messages, sum(m.is_from_me) AS sent, min(m.sent_at) AS first,
               max(m.sent_at) AS last
        FROM {BY_CHAT}
        WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}
        GROUP BY m.chat_id
    """, _params(since, until))


def list_hours(conn: Connection, *, local_sql: str, since: int | None, until: int | None,
               chat_ids: Sequence[int] | None = None, after_id: int | None = None) -> list[dict[str, Any]]:
    """Visible messages per local hour number (local wall-clock ms // 3600000): total and sent. `after_id`:
    only messages with a larger id (what was added since)."""
    source = "messages m" if after_id is not None else BY_CHAT if chat_ids is not None else BY_TIME
    return fetch_all(conn, f"""
        SELECT {local_sql} / 3600000 AS hour, count(*) AS messages, sum(m.is_from_me) AS sent
        FROM {source}
        WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}{_after(after_id)}
        GROUP BY hour
    """, _params(since, until))


def list_senders(conn: Connection, *, since: int | None, until: int | None,
                 chat_ids: Sequence[int] | None = None, after_id: int | None = None) -> list[dict[str, Any]]:
    """Per chat and sender contact (as stored; NULL for the user or an unknown handle): visible messages,
    first and last."""
    return fetch_all(conn, f"""
        SELECT m.chat_id, m.is_from_me, m.sender_contact_id, count(*) AS messages, min(m.sent_at) AS first,
               max(m.sent_at) AS last
        FROM {'messages m' if after_id is not None else BY_CHAT}
        WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}{_after(after_id)}
        GROUP BY m.chat_id, m.is_from_me, m.sender_contact_id
    """, _params(since, until))


def get_lengths(conn: Connection, *, since: int | None, until: int | None,
                chat_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Characters of message text, by side: sum and number of messages with text."""
    return fetch_all(conn, f"""
        SELECT m.is_from_me, sum(length(m.text)) AS chars, count(m.text) AS texts
        FROM messages m
        WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}
        GROUP BY m.is_from_me
    """, _params(since, until))


def list_reaction_counts(conn: Connection, *, since: int | None, until: int | None,
                         chat_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Active reactions made in the period, by kind and emoji, by who reacted and whose message it was."""
    return fetch_all(conn, f"""
        SELECT r.kind, r.emoji, r.is_from_me, t.is_from_me AS target_is_from_me, count(*) AS reactions
        FROM reactions r JOIN messages t ON t.id = r.message_id
        WHERE r.is_active = 1{_range('r.reacted_at', since, until)}{_chats('t.chat_id', chat_ids)}
        GROUP BY r.kind, r.emoji, r.is_from_me, t.is_from_me
    """, _params(since, until))


def list_reaction_pairs(conn: Connection, *, since: int | None, until: int | None,
                        chat_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Active reactions per (reactor, author): contact ids as stored, is_from_me for the user."""
    return fetch_all(conn, f"""
        SELECT r.is_from_me, r.sender_contact_id, t.is_from_me AS target_is_from_me,
               t.sender_contact_id AS target_contact_id, count(*) AS reactions
        FROM reactions r JOIN messages t ON t.id = r.message_id
        WHERE r.is_active = 1{_range('r.reacted_at', since, until)}{_chats('t.chat_id', chat_ids)}
        GROUP BY 1, 2, 3, 4
    """, _params(since, until))


def list_most_reacted(conn: Connection, *, since: int | None, until: int | None, limit: int,
                      chat_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Messages sent in the period with the most active reactions."""
    return fetch_all(conn, f"""
        SELECT m.id AS message_id, m.chat_id, m.is_from_me, m.sent_at, m.text, r.reactions
        FROM (SELECT message_id, count(*) AS reactions FROM reactions WHERE is_active = 1 AND message_id IS NOT NULL
              GROUP BY message_id) r
        CROSS JOIN messages m ON m.id = r.message_id
        WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}
        ORDER BY r.reactions DESC, m.sent_at DESC
        LIMIT :limit
    """, _params(since, until, limit=limit))


def list_openers(conn: Connection, *, since: int | None, until: int | None,
                 chat_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Conversations started in the period, per chat and by whether the user wrote their first message."""
    return fetch_all(conn, f"""
        SELECT chat_id, first_from_me AS is_from_me, count(*) AS conversations FROM (
            SELECT c.chat_id, (SELECT m.is_from_me FROM messages m
                               WHERE m.conversation_id = c.id AND {VISIBLE}
                               ORDER BY m.sent_at, m.id LIMIT 1) AS first_from_me
            FROM conversations c
            WHERE 1{_range('c.started_at', since, until)}{_chats('c.chat_id', chat_ids)})
        WHERE first_from_me IS NOT NULL
        GROUP BY chat_id, first_from_me
    """, _params(since, until))


def list_turn_changes(conn: Connection, *, since: int | None, until: int | None,
                      chat_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every message that answers a message from another sender in the same conversation (the first message
    of a turn), with both senders and the gap from the previous message (the last of the other turn)."""
    return fetch_all(conn, f"""
        SELECT chat_id, is_from_me, sender_contact_id, prev_from_me, prev_contact_id, sent_at - prev_at AS gap_ms
        FROM (
            SELECT m.chat_id, m.is_from_me, m.sender_contact_id, m.sent_at, m.conversation_id,
                   lag(m.is_from_me) OVER w AS prev_from_me, lag(m.sender_contact_id) OVER w AS prev_contact_id,
                   lag(m.sent_at) OVER w AS prev_at, lag(m.conversation_id) OVER w AS prev_conversation
            FROM {BY_CHAT}
            WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}
            WINDOW w AS (PARTITION BY m.chat_id ORDER BY m.sent_at, m.id))
        WHERE prev_at IS NOT NULL AND prev_conversation = conversation_id
          AND (is_from_me != prev_from_me OR (is_from_me = 0 AND sender_contact_id IS NOT prev_contact_id))
    """, _params(since, until))


def list_texts(conn: Connection, *, since: int | None, until: int | None,
               chat_ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
    """(is_from_me, text) of visible messages with text. Read through the driver's cursor: a year holds
    100k+ texts and building a mapping per row would cost seconds."""
    raw = conn.connection.driver_connection
    assert raw is not None
    return raw.execute(f"""
        SELECT m.is_from_me, m.text FROM messages m
        WHERE {VISIBLE} AND m.text IS NOT NULL{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}
    """, {k: v for k, v in _params(since, until).items() if v is not None}).fetchall()


def list_first_messages(conn: Connection) -> list[dict[str, Any]]:
    """Per chat: its first visible message ever, and how many visible messages it has."""
    return fetch_all(conn, f"""
        SELECT m.chat_id, min(m.sent_at) AS first FROM {BY_CHAT} WHERE {VISIBLE} GROUP BY m.chat_id
    """)


def get_longest_conversation(conn: Connection, *, since: int | None, until: int | None) -> dict[str, Any] | None:
    """The conversation started in the period with the most messages (then the longest in time)."""
    return fetch_one(conn, f"""
        SELECT c.id AS conversation_id, c.chat_id, c.started_at, c.last_message_at, c.message_count AS messages
        FROM conversations c
        WHERE c.message_count > 0{_range('c.started_at', since, until)}
        ORDER BY c.message_count DESC, c.last_message_at - c.started_at DESC, c.id
        LIMIT 1
    """, _params(since, until))



def list_messages(conn: Connection, *, since: int | None, until: int | None, chat_ids: Sequence[int] | None,
                  local_sql: str, cell: tuple[int, int] | None, limit: int) -> list[dict[str, Any]]:
    """The messages behind a figure: visible ones in the range (and chats, and local weekday x hour cell),
    oldest first."""
    where = ""
    if cell is not None:
        weekday, hour = int(cell[0]), int(cell[1])
        where = (f" AND ({local_sql} / 3600000) % 24 = {hour}"
                 f" AND ({local_sql} / 86400000 + 3) % 7 = {weekday}")
    return fetch_all(conn, f"""
        SELECT m.id AS message_id, m.chat_id, m.sent_at, m.is_from_me, m.sender_contact_id, m.text
        FROM messages m
        WHERE {VISIBLE}{_range('m.sent_at', since, until)}{_chats('m.chat_id', chat_ids)}{where}
        ORDER BY m.sent_at, m.id
        LIMIT :limit
    """, _params(since, until, limit=limit))


def list_new_openers(conn: Connection, *, after_id: int, since: int | None, until: int | None) -> list[dict[str, Any]]:
    """Of the messages added after `after_id`, those that open their conversation, per chat and side."""
    return fetch_all(conn, f"""
        SELECT m.chat_id, m.is_from_me, count(*) AS conversations
        FROM messages m
        WHERE {VISIBLE}{_after(after_id)}{_range('m.sent_at', since, until)}
          AND NOT EXISTS (SELECT 1 FROM messages p
                          WHERE p.conversation_id = m.conversation_id AND p.kind = 'message'
                            AND p.deleted_at IS NULL AND (p.sent_at < m.sent_at OR (p.sent_at = m.sent_at
                            AND p.id < m.id)))
        GROUP BY m.chat_id, m.is_from_me
    """, _params(since, until))


def get_appended(conn: Connection, *, after_id: int) -> dict[str, Any]:
    """What rows after `after_id` are: how many are not deleted (of any kind), and how many visible ones are
    dated before a message their chat already had (a late arrival that can re-split conversations)."""
    return fetch_one(conn, f"""
        SELECT count(*) AS live_rows,
               coalesce(sum(m.kind = 'message' AND EXISTS (
                   SELECT 1 FROM messages o WHERE o.chat_id = m.chat_id AND o.id <= {int(after_id)}
                     AND o.deleted_at IS NULL AND o.sent_at > m.sent_at)), 0) AS backdated
        FROM messages m
        WHERE m.id > {int(after_id)} AND m.deleted_at IS NULL
    """) or {"live_rows": 0, "backdated": 0}
