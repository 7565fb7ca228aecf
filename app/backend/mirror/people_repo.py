"""SQL that writes who is who in the mirror: contacts, their identifiers, handles, chats and participants."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from backend.db.clock import now_ms
from backend.db.session import execute, sqlite_of
from backend.mirror.repo import execute_many

# -- contacts and handles ------------------------------------------------------------------------

def upsert_contacts(conn: Connection, rows: Iterable[tuple]) -> None:
    """rows: (contact_key, display_name, first_name, last_name, nickname, organization, source_keys_json).

    A name never disappears because one source lacks it: NULLs keep what is there.
    """
    now = now_ms()
    execute_many(conn, """
        INSERT INTO contacts (contact_key, display_name, first_name, last_name, nickname, organization,
                              source_keys, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (contact_key) DO UPDATE SET
            display_name = coalesce(excluded.display_name, contacts.display_name),
            first_name = coalesce(excluded.first_name, contacts.first_name),
            last_name = coalesce(excluded.last_name, contacts.last_name),
            nickname = coalesce(excluded.nickname, contacts.nickname),
            organization = coalesce(excluded.organization, contacts.organization),
            source_keys = excluded.source_keys,
            merged_into_id = NULL,
            updated_at = excluded.updated_at
        WHERE contacts.display_name IS NOT excluded.display_name
           OR contacts.source_keys IS NOT excluded.source_keys
           OR contacts.merged_into_id IS NOT NULL
    """, [(*row, now, now) for row in rows])


def contact_ids_by_key(conn: Connection) -> dict[str, int]:
    rows = conn.exec_driver_sql("SELECT contact_key, id FROM contacts WHERE merged_into_id IS NULL").all()
    return {key: contact_id for key, contact_id in rows}


def list_addressbook_people(conn: Connection) -> list[tuple]:
    """The people the address books gave the mirror, as it holds them now: (contact_key, display_name,
    first_name, last_name, nickname, organization, source_keys_json, identifiers_json [[kind, value], ...])."""
    return [tuple(row) for row in conn.exec_driver_sql("""
        SELECT c.contact_key, c.display_name, c.first_name, c.last_name, c.nickname, c.organization, c.source_keys,
               (SELECT json_group_array(json_array(ci.kind, ci.value)) FROM contact_identifiers ci
                WHERE ci.contact_id = c.id AND ci.from_addressbook = 1) AS identifiers
        FROM contacts c
        WHERE c.contact_key LIKE 'ab:%' AND c.merged_into_id IS NULL
        ORDER BY c.contact_key
    """).all()]


def identifier_owners(conn: Connection) -> dict[str, int]:
    """Canonical identifier -> the contact that holds it now."""
    return dict(conn.exec_driver_sql("SELECT value, contact_id FROM contact_identifiers").all())


def upsert_identifiers(conn: Connection, rows: Iterable[tuple]) -> None:
    """rows: (contact_id, kind, value, from_addressbook)."""
    execute_many(conn, """
        INSERT INTO contact_identifiers (contact_id, kind, value, from_addressbook) VALUES (?, ?, ?, ?)
        ON CONFLICT (value) DO UPDATE SET contact_id = excluded.contact_id, kind = excluded.kind,
            from_addressbook = excluded.from_addressbook
        WHERE contact_identifiers.contact_id IS NOT excluded.contact_id
           OR contact_identifiers.from_addressbook IS NOT excluded.from_addressbook
    """, rows)


def merge_contact(conn: Connection, *, loser_id: int, winner_id: int) -> None:
    """Two contacts are one person: every reference moves to the winner; the loser points at it."""
    params = {"loser": loser_id, "winner": winner_id, "now": now_ms()}
    for sql in (
        "UPDATE messages SET sender_contact_id = :winner WHERE sender_contact_id = :loser",
        "UPDATE reactions SET sender_contact_id = :winner WHERE sender_contact_id = :loser",
        "UPDATE handles SET contact_id = :winner WHERE contact_id = :loser",
        "UPDATE contact_identifiers SET contact_id = :winner WHERE contact_id = :loser",
        """INSERT OR IGNORE INTO chat_participants (chat_id, contact_id, is_active)
           SELECT chat_id, :winner, is_active FROM chat_participants WHERE contact_id = :loser""",
        "DELETE FROM chat_participants WHERE contact_id = :loser",
        "UPDATE contacts SET merged_into_id = :winner WHERE merged_into_id = :loser",
        "UPDATE contacts SET merged_into_id = :winner, updated_at = :now WHERE id = :loser",
    ):
        execute(conn, sql, params)


def upsert_handles(conn: Connection, rows: Iterable[tuple]) -> None:
    """rows: (identifier, service, canonical, person_centric_id, source_rowid, contact_id)."""
    execute_many(conn, """
        INSERT INTO handles (identifier, service, canonical, person_centric_id, source_rowid, contact_id)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (identifier, service) DO UPDATE SET canonical = excluded.canonical,
            person_centric_id = excluded.person_centric_id, source_rowid = excluded.source_rowid,
            contact_id = excluded.contact_id
    """, rows)


# -- chats -------------------------------------------------------------------------------------------

def upsert_chats(conn: Connection, rows: Iterable[tuple]) -> None:
    """rows: (chat_key, is_group, display_name, service)."""
    now = now_ms()
    execute_many(conn, """
        INSERT INTO chats (chat_key, is_group, display_name, service, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (chat_key) DO UPDATE SET
            display_name = coalesce(excluded.display_name, chats.display_name),
            service = coalesce(excluded.service, chats.service),
            updated_at = excluded.updated_at
        WHERE chats.display_name IS NOT coalesce(excluded.display_name, chats.display_name)
    """, [(*row, now, now) for row in rows])


def chat_ids_by_key(conn: Connection) -> dict[str, int]:
    return dict(conn.exec_driver_sql("SELECT chat_key, id FROM chats").all())


def chat_source_owners(conn: Connection) -> dict[str, int]:
    """chat.db chat guid -> the mirror chat it feeds now."""
    return dict(conn.exec_driver_sql("SELECT source_guid, chat_id FROM chat_sources").all())


def upsert_chat_sources(conn: Connection, rows: Iterable[tuple]) -> None:
    """rows: (source_guid, chat_id, source_rowid, chat_identifier, service, style, display_name, group_id)."""
    execute_many(conn, """
        INSERT INTO chat_sources (source_guid, chat_id, source_rowid, chat_identifier, service, style,
                                  display_name, group_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source_guid) DO UPDATE SET chat_id = excluded.chat_id,
            source_rowid = excluded.source_rowid, display_name = excluded.display_name,
            group_id = excluded.group_id
    """, rows)


def move_chat(conn: Connection, *, from_chat_id: int, to_chat_id: int) -> None:
    """Merge one chat into another; the caller re-splits the target's conversations."""
    params = {"src": from_chat_id, "dst": to_chat_id}
    for sql in (
        "UPDATE messages SET chat_id = :dst WHERE chat_id = :src",
        "UPDATE conversations SET chat_id = :dst WHERE chat_id = :src",
        "UPDATE chat_sources SET chat_id = :dst WHERE chat_id = :src",
        """INSERT OR IGNORE INTO chat_participants (chat_id, contact_id, is_active)
           SELECT :dst, contact_id, is_active FROM chat_participants WHERE chat_id = :src""",
        "DELETE FROM chats WHERE id = :src",
    ):
        execute(conn, sql, params)


def ensure_participants(conn: Connection, rows: Iterable[tuple[int, int]]) -> None:
    """rows: (chat_id, contact_id)."""
    execute_many(conn, "INSERT OR IGNORE INTO chat_participants (chat_id, contact_id) VALUES (?, ?)", list(rows))


def contact_names(conn: Connection) -> dict[int, str | None]:
    return dict(sqlite_of(conn).execute(
        "SELECT id, display_name FROM contacts WHERE merged_into_id IS NULL").fetchall())
