"""Writes source rows into central.db: the one code path of full imports and incremental syncs.

`MirrorWriter` works inside a transaction the caller owns. On an empty mirror (`bulk=True`) it
skips look-ups of existing rows and plans conversations in memory; otherwise it upserts by guid
and re-splits the conversations of the chats that changed. Both paths use the same transforms
and the same split function, so they give the same mirror.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection

from backend.conversations.split import plan_conversations
from backend.db.clock import now_ms
from backend.mirror import repo
from backend.mirror.attachments import transform_attachments
from backend.mirror.chats import Chats, unknown_chat
from backend.mirror.messages import (
    F_CHAT, F_CONVERSATION, F_ID, F_SENT_AT, Lookups, TransformedBatch, latest_reactions, transform_messages,
)
from backend.mirror.people import People

TEXT_FIELD = 14


@dataclass(slots=True)
class WriteStats:
    messages_new: int = 0
    messages_updated: int = 0
    reactions: int = 0
    edits: int = 0
    attachments: int = 0
    missing_attachment_files: int = 0
    orphan_attachments: int = 0
    without_chat: int = 0
    without_sender: int = 0
    undecodable: int = 0
    undated: int = 0
    contacts_merged: int = 0
    chats_merged: int = 0
    changed_chat_ids: set[int] = field(default_factory=set)
    new_message_ids: list[int] = field(default_factory=list)
    updated_message_ids: list[int] = field(default_factory=list)
    touched_conversation_ids: set[int] = field(default_factory=set)

    def to_json(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in (
            "messages_new", "messages_updated", "reactions", "edits", "attachments", "missing_attachment_files",
            "orphan_attachments", "without_chat", "without_sender", "undecodable", "undated",
            "contacts_merged", "chats_merged")}


class MirrorWriter:
    def __init__(self, conn: Connection, *, gap_ms: int, bulk: bool) -> None:
        self.conn = conn
        self.gap_ms = gap_ms
        self.bulk = bulk
        self.stats = WriteStats()
        self.lookups: Lookups | None = None

    # -- people and chats ---------------------------------------------------------------------

    def write_people(self, people: People) -> dict[str, int]:
        conn = self.conn
        repo.upsert_contacts(conn, (
            (c.key, c.display_name, c.first_name, c.last_name, c.nickname, c.organization, c.source_keys_json())
            for c in people.contacts.values()
        ))
        ids = repo.contact_ids_by_key(conn)
        if not self.bulk:
            owners = repo.identifier_owners(conn)
            for value, ident in people.identifiers.items():
                old_owner, new_owner = owners.get(value), ids[ident.contact_key]
                if old_owner is not None and old_owner != new_owner and old_owner in ids.values():
                    repo.merge_contact(conn, loser_id=old_owner, winner_id=new_owner)
                    self.stats.contacts_merged += 1
            ids = repo.contact_ids_by_key(conn)
        repo.upsert_identifiers(conn, (
            (ids[i.contact_key], i.kind, i.value, 1 if i.from_addressbook else 0) for i in people.identifiers.values()
        ))
        repo.upsert_handles(conn, (
            (h.identifier, h.service, h.canonical, h.person_centric_id, h.source_rowid, ids[h.contact_key])
            for h in people.handles
        ))
        return ids

    def write_chats(self, chats: Chats, contact_ids: dict[str, int], people: People) -> None:
        conn = self.conn
        rows = list(chats.chats.values()) + [unknown_chat()]
        repo.upsert_chats(conn, ((c.key, 1 if c.is_group else 0, c.display_name, c.service) for c in rows))
        chat_ids = repo.chat_ids_by_key(conn)
        if not self.bulk:
            self._merge_moved_chats(chats, chat_ids)
            chat_ids = repo.chat_ids_by_key(conn)
        repo.upsert_chat_sources(conn, (
            (s.source_guid, chat_ids[s.chat_key], s.source_rowid, s.chat_identifier, s.service, s.style,
             s.display_name, s.group_id) for s in chats.sources
        ))
        repo.ensure_participants(conn, (
            (chat_ids[c.key], contact_ids[k]) for c in chats.chats.values() for k in c.participant_keys
        ))
        self.lookups = Lookups(
            chat_id_by_rowid={rowid: chat_ids[key] for rowid, key in chats.key_by_rowid.items()},
            unknown_chat_id=chat_ids[unknown_chat().key],
            contact_id_by_handle_rowid={r: contact_ids[k] for r, k in people.handle_key_by_rowid.items()},
            contact_key_by_handle_rowid=people.handle_key_by_rowid,
            canonical_by_handle_rowid=people.handle_canonical_by_rowid,
        )
        for stale in self._resplit_targets():
            self._resplit(stale, from_at=0)

    def _merge_moved_chats(self, chats: Chats, chat_ids: dict[str, int]) -> None:
        """A chat whose every source now belongs to another chat (its partner was merged) joins that chat."""
        new_target = {s.source_guid: chat_ids[s.chat_key] for s in chats.sources}
        sources_of: dict[int, list[str]] = defaultdict(list)
        for guid, chat_id in repo.chat_source_owners(self.conn).items():
            sources_of[chat_id].append(guid)
        for old_chat, guids in sources_of.items():
            targets = {new_target.get(guid, old_chat) for guid in guids}
            if len(targets) == 1 and (target := targets.pop()) != old_chat:
                repo.move_chat(self.conn, from_chat_id=old_chat, to_chat_id=target)
                self.stats.chats_merged += 1
                self.stats.changed_chat_ids.add(target)

    def _resplit_targets(self) -> set[int]:
        targets, self.stats.changed_chat_ids = set(self.stats.changed_chat_ids), set()
        return targets

    # -- messages -------------------------------------------------------------------------------

    def write_messages(self, rows) -> TransformedBatch:
        """Transform and write message rows; returns the batch (with ids filled in)."""
        assert self.lookups is not None, "write_chats() first"
        batch = transform_messages(rows, self.lookups)
        conn, stats = self.conn, self.stats
        for name in ("without_chat", "without_sender", "undecodable", "undated"):
            setattr(stats, name, getattr(stats, name) + getattr(batch, name))
        messages = batch.messages
        existing = {} if self.bulk else repo.message_ids_by_guid(conn, [m[1] for m in messages])
        next_id = repo.next_message_id(conn)
        fts_new: list[tuple[int, str]] = []
        fts_old: list[tuple[int, str]] = []
        from_at_by_chat: dict[int, int] = {}
        for message in messages:
            known = existing.get(message[1])
            if known is None:
                message[F_ID] = next_id
                next_id += 1
                stats.new_message_ids.append(message[F_ID])
                if message[TEXT_FIELD] is not None:
                    fts_new.append((message[F_ID], message[TEXT_FIELD]))
            else:
                message[F_ID] = known[0]
                stats.updated_message_ids.append(known[0])
                if known[1] != message[TEXT_FIELD]:
                    if known[1] is not None:
                        fts_old.append((known[0], known[1]))
                    if message[TEXT_FIELD] is not None:
                        fts_new.append((known[0], message[TEXT_FIELD]))
                if known[2] != message[F_CHAT]:
                    from_at_by_chat[known[2]] = 0
            chat_id = message[F_CHAT]
            from_at_by_chat[chat_id] = min(from_at_by_chat.get(chat_id, message[F_SENT_AT]), message[F_SENT_AT])
        stats.messages_new += len(messages) - len(existing)
        stats.messages_updated += len(existing)

        if self.bulk:
            self._plan_in_memory(messages)
            repo.insert_messages(conn, messages)
        else:
            repo.upsert_messages(conn, messages)
            repo.fts_delete(conn, fts_old)
            repo.fts_insert(conn, fts_new)
            for chat_id, from_at in from_at_by_chat.items():
                self._resplit(chat_id, from_at=from_at)
        stats.changed_chat_ids.update(from_at_by_chat)

        id_by_guid = {m[1]: m[F_ID] for m in messages}
        self._write_reactions(batch, id_by_guid)
        edit_rows = [(id_by_guid[guid], part, version, text, at) for guid, part, version, text, at in batch.edits]
        repo.upsert_edits(conn, edit_rows)
        stats.edits += len(edit_rows)
        return batch

    def _plan_in_memory(self, messages: list[list]) -> None:
        by_chat: dict[int, list[list]] = defaultdict(list)
        for message in messages:
            by_chat[message[F_CHAT]].append(message)
        next_conversation = repo.next_conversation_id(self.conn)
        now = now_ms()
        conversation_rows = []
        by_id = {m[F_ID]: m for m in messages}
        for chat_id, chat_messages in by_chat.items():
            chat_messages.sort(key=lambda m: (m[F_SENT_AT], m[F_ID]))
            timeline = [(m[F_ID], m[F_SENT_AT], None) for m in chat_messages]
            for planned in plan_conversations(timeline, self.gap_ms):
                conversation_id = next_conversation
                next_conversation += 1
                for message_id in planned.message_ids:
                    by_id[message_id][F_CONVERSATION] = conversation_id
                conversation_rows.append((conversation_id, chat_id, planned.started_at, planned.last_message_at,
                                          len(planned.message_ids), now))
                self.stats.touched_conversation_ids.add(conversation_id)
        repo.insert_conversations(self.conn, conversation_rows)

    def _resplit(self, chat_id: int, *, from_at: int) -> None:
        """Re-run the split over a chat from the conversation holding `from_at` to its end."""
        conn = self.conn
        timeline = repo.list_chat_timeline(conn, chat_id=chat_id, from_at=from_at)
        current = {message_id: conversation_id for message_id, _, conversation_id in timeline}
        next_conversation = repo.next_conversation_id(conn)
        now = now_ms()
        reassigned: list[tuple[int, int]] = []
        for planned in plan_conversations(timeline, self.gap_ms):
            count = len(planned.message_ids)
            if planned.conversation_id is None:
                conversation_id = next_conversation
                next_conversation += 1
                repo.insert_conversations(conn, [(conversation_id, chat_id, planned.started_at,
                                                  planned.last_message_at, count, now)])
                self.stats.touched_conversation_ids.add(conversation_id)
            else:
                conversation_id = planned.conversation_id
                stored = repo.get_conversation(conn, conversation_id)
                changed = stored is None or (
                    stored["started_at"], stored["last_message_at"], stored["message_count"], stored["chat_id"]
                ) != (planned.started_at, planned.last_message_at, count, chat_id)
                if changed:
                    repo.update_conversation(
                        conn, conversation_id=conversation_id, started_at=planned.started_at,
                        last_message_at=planned.last_message_at, message_count=count,
                        reopen=stored is not None and stored["state"] != "open",
                    )
                    self.stats.touched_conversation_ids.add(conversation_id)
            reassigned.extend(
                (conversation_id, mid) for mid in planned.message_ids if current[mid] != conversation_id
            )
        repo.set_message_conversations(conn, reassigned)
        repo.delete_empty_conversations(conn, chat_id=chat_id)

    def _write_reactions(self, batch: TransformedBatch, id_by_guid: dict[str, int]) -> None:
        latest = latest_reactions(batch.reactions)
        if not latest:
            return
        targets = {e.target_guid for e in latest} - id_by_guid.keys()
        if targets and not self.bulk:
            id_by_guid = {**id_by_guid, **{g: v[0] for g, v in repo.message_ids_by_guid(self.conn, list(targets)).items()}}
        repo.upsert_reactions(self.conn, [
            (e.target_guid, e.target_part, id_by_guid.get(e.target_guid), e.sender_key, e.sender_contact_id,
             1 if e.is_from_me else 0, e.kind, e.emoji, e.source_guid, e.source_rowid, e.reacted_at,
             1 if e.added else 0)
            for e in latest
        ])
        self.stats.reactions += len(latest)

    # -- attachments and finishing ------------------------------------------------------------------

    def write_attachments(self, rows, *, message_id_by_rowid: dict[int, int]) -> None:
        batch = transform_attachments(rows, message_id_by_rowid=message_id_by_rowid)
        repo.upsert_attachments(self.conn, batch.rows)
        self.stats.attachments += len(batch.rows)
        self.stats.missing_attachment_files += batch.missing_files
        self.stats.orphan_attachments += batch.orphans

    def finish(self) -> None:
        conn = self.conn
        if self.bulk:
            repo.fts_rebuild(conn)
            repo.refresh_chat_stats(conn)
        else:
            repo.link_reactions_to_messages(conn)
            repo.refresh_chat_stats(conn, self.stats.changed_chat_ids)
