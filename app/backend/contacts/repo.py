"""SQL of contacts as the API reads them. A live contact has merged_into_id IS NULL; a merged one
points (possibly through a chain) at the contact that absorbed it, and its identifiers, messages
and chats count for that contact until the mirror has moved every reference."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one, fetch_value

# Every contact mapped to the live contact at the end of its merge chain (bounded against cycles).
OWNER_CTE = """
    owner(member_id, live_id, depth) AS (
        SELECT id, id, 0 FROM contacts WHERE merged_into_id IS NULL
        UNION ALL
        SELECT c.id, o.live_id, o.depth + 1
        FROM contacts c JOIN owner o ON c.merged_into_id = o.member_id
        WHERE o.depth < 32
    )
"""

# One page of live contacts (ordering needs only chat activity), then per-row extras for that page.
_CONTACTS_SQL = """
    WITH RECURSIVE {owner},
    activity AS (
        SELECT o.live_id AS contact_id, count(DISTINCT p.chat_id) AS chat_count,
               max(ch.last_message_at) AS last_message_at
        FROM chat_participants p
        JOIN owner o ON o.member_id = p.contact_id
        JOIN chats ch ON ch.id = p.chat_id
        GROUP BY o.live_id
    ),
    page AS (
        SELECT c.id, c.contact_key, c.display_name, c.first_name, c.last_name, c.nickname, c.organization,
               ifnull(a.chat_count, 0) AS chat_count, a.last_message_at
        FROM contacts c
        LEFT JOIN activity a ON a.contact_id = c.id
        WHERE c.merged_into_id IS NULL {where}
        ORDER BY c.display_name IS NULL, a.last_message_at IS NULL, a.last_message_at DESC,
                 c.display_name COLLATE NOCASE, c.id
        LIMIT :limit OFFSET :offset
    )
    SELECT page.*,
           (SELECT count(*) FROM messages m JOIN owner o ON o.member_id = m.sender_contact_id
            WHERE o.live_id = page.id) AS message_count,
           (SELECT json_group_array(json_object('kind', kind, 'value', value)) FROM (
                SELECT ci.kind, ci.value FROM contact_identifiers ci
                JOIN owner o ON o.member_id = ci.contact_id
                WHERE o.live_id = page.id
                ORDER BY ci.from_addressbook DESC, ci.id)) AS identifiers_json,
           (SELECT json_group_array(member_id) FROM (
                SELECT member_id FROM owner WHERE live_id = page.id AND member_id != page.id
                ORDER BY member_id)) AS merged_ids_json
    FROM page
    ORDER BY page.display_name IS NULL, page.last_message_at IS NULL, page.last_message_at DESC,
             page.display_name COLLATE NOCASE, page.id
"""

_MATCHES_Q = r"""
    AND (c.display_name LIKE :q ESCAPE '\' OR c.nickname LIKE :q ESCAPE '\'
         OR c.organization LIKE :q ESCAPE '\'
         OR EXISTS (SELECT 1 FROM contact_identifiers ci JOIN owner o ON o.member_id = ci.contact_id
                    WHERE o.live_id = c.id AND ci.value LIKE :q ESCAPE '\'))
"""


def label_sql(alias: str) -> str:
    """SQL naming the contact `alias`: its display name, else its first identifier (AddressBook first).

    Other domains' repositories embed this so that a contact is named the same way everywhere.
    """
    return (
        f"coalesce({alias}.display_name, (SELECT ci.value FROM contact_identifiers ci "
        f"WHERE ci.contact_id = {alias}.id ORDER BY ci.from_addressbook DESC, ci.id LIMIT 1))"
    )


def list_contacts(conn: Connection, *, q_like: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Live contacts, named first, then by latest chat activity; `q_like` is a LIKE pattern."""
    sql = _CONTACTS_SQL.format(owner=OWNER_CTE, where=_MATCHES_Q if q_like is not None else "")
    return fetch_all(conn, sql, {"q": q_like, "limit": limit, "offset": offset})


def get(conn: Connection, *, contact_id: int) -> dict[str, Any] | None:
    """One live contact with the same columns as `list_contacts`."""
    sql = _CONTACTS_SQL.format(owner=OWNER_CTE, where="AND c.id = :contact_id")
    return fetch_one(conn, sql, {"contact_id": contact_id, "limit": 1, "offset": 0})


def get_live_id(conn: Connection, *, contact_id: int) -> int | None:
    """The live contact at the end of `contact_id`'s merge chain (itself when live); None when unknown."""
    return fetch_value(
        conn,
        """
        WITH RECURSIVE chain(id, merged_into_id, depth) AS (
            SELECT id, merged_into_id, 0 FROM contacts WHERE id = :contact_id
            UNION ALL
            SELECT c.id, c.merged_into_id, chain.depth + 1
            FROM contacts c JOIN chain ON c.id = chain.merged_into_id
            WHERE chain.depth < 32
        )
        SELECT id FROM chain WHERE merged_into_id IS NULL
        """,
        {"contact_id": contact_id},
    )
