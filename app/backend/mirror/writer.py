"""Writes a source into central.db: the one code path of full imports and incremental syncs.

`MirrorWriter` works inside a transaction the caller owns, on a connection with the source
ATTACHed as `src` (source/chatdb/sql.py). Messages are copied by one INSERT ... SELECT; Python
decodes only blobs that carry more than text, edit histories and tapbacks. On an empty mirror
(`bulk=True`) the indexes are rebuilt after the copy and conversations are planned for every chat at
once before it, and a first import may hand over the texts (and conversation spans) its workers read
from the same snapshot (decode_pool.PendingPreRead); otherwise rows are upserted by guid and the chats
that changed are re-split (conversation_placement.py). All use the same SQL, the same text rule
(messages.BodyTexts) and the same split function, so they give the same mirror.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection

from backend.db.session import sqlite_of
from backend.mirror import people_repo, repo
from backend.mirror.attachments import LocatedAttachments, link_attachments, locate_attachments
from backend.mirror.conversation_placement import ConversationPlacement
from backend.mirror.decode_pool import Decoded, PendingDecodes, PendingPreRead, start_decoding
from backend.mirror.messages import (
    ITEM_KINDS,
    BodyTexts,
    ReactionEvent,
    latest_reactions,
    reaction_event,
)
from backend.mirror.resolution import Chats, People, unknown_chat
from backend.source.chatdb import sql as source_sql
from backend.source.chatdb.capabilities import SchemaCapabilities
from backend.source.dates import APPLE_EPOCH_UNIX_MS

KIND_SQL = "(CASE coalesce(s.item_type, 0) " + " ".join(
    f"WHEN {code} THEN '{kind}'" for code, kind in ITEM_KINDS.items()) + " ELSE 'other' END)"
BODY_FUNCTION = "chatstats_message_text"


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
    source_max_rowid: int = 0
    source_deleted_rowid: int = 0
    changed_chat_ids: set[int] = field(default_factory=set)
    touched_conversation_ids: set[int] = field(default_factory=set)

    def to_json(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in (
            "messages_new", "messages_updated", "reactions", "edits", "attachments", "missing_attachment_files",
            "orphan_attachments", "without_chat", "without_sender", "undecodable", "undated",
            "contacts_merged", "chats_merged")}


@dataclass(slots=True)
class LoadedMessages:
    """What one load changed: (id, chat_id, sent_at) of new and of updated messages."""

    new: list[tuple[int, int, int]] = field(default_factory=list)
    updated: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SourceIdentities:
    """Source handle and chat ROWIDs resolved to mirror contacts and chats."""

    contact_by_handle_rowid: dict[int, tuple[int, str]]
    unknown_chat_id: int
    handle_rows: list[tuple[int, int, str]]  # (handle ROWID, contact id, canonical identifier)
    chat_rows: list[tuple[int, int]]  # (chat ROWID, chat id)


class MirrorWriter:
    def __init__(self, conn: Connection, *, source_columns: SchemaCapabilities, gap_ms: int, bulk: bool,
                 pre_read: PendingPreRead | None = None) -> None:
        """`pre_read`: the source being read in workers (bulk), taken by the copy when it can be."""
        self.conn = conn
        self.raw = sqlite_of(conn)
        self.columns = source_columns
        self.gap_ms = gap_ms
        self.bulk = bulk
        self.stats = WriteStats()
        self.unknown_chat_id: int | None = None
        self.contact_by_handle_rowid: dict[int, tuple[int, str]] = {}
        self._deferred_indexes: list[str] = []
        self._pending: PendingDecodes | None = None
        self._pre_read = pre_read
        self._chat_ids_by_key: dict[str, int] = {}
        self._identities: SourceIdentities | None = None
        self._bulk_count = 0
        self._placement = ConversationPlacement(conn, gap_ms=gap_ms, touched=self.stats.touched_conversation_ids)

    def snapshot_source_cursor(self) -> int:
        """The source's max ROWID in this transaction's snapshot of it (what this write will have seen)."""
        self.stats.source_max_rowid = self.raw.execute(
            f"SELECT coalesce(max(ROWID), 0) FROM {source_sql.SCHEMA}.message").fetchone()[0]
        return self.stats.source_max_rowid

    # -- people and chats ---------------------------------------------------------------------------

    def write_people(self, people: People) -> dict[str, int]:
        conn = self.conn
        people_repo.upsert_contacts(conn, [
            (c.key, c.display_name, c.first_name, c.last_name, c.nickname, c.organization, c.source_keys_json())
            for c in people.contacts.values()
        ])
        ids = people_repo.contact_ids_by_key(conn)
        if not self.bulk:
            owners = people_repo.identifier_owners(conn)
            live = set(ids.values())
            for value, ident in people.identifiers.items():
                old_owner, new_owner = owners.get(value), ids[ident.contact_key]
                if old_owner is not None and old_owner != new_owner and old_owner in live:
                    people_repo.merge_contact(conn, loser_id=old_owner, winner_id=new_owner)
                    live.discard(old_owner)
                    self.stats.contacts_merged += 1
            ids = people_repo.contact_ids_by_key(conn)
        people_repo.upsert_identifiers(conn, [
            (ids[i.contact_key], i.kind, i.value, 1 if i.from_addressbook else 0) for i in people.identifiers.values()
        ])
        people_repo.upsert_handles(conn, [
            (h.identifier, h.service, h.canonical, h.person_centric_id, h.source_rowid, ids[h.contact_key])
            for h in people.handles
        ])
        self.contact_by_handle_rowid = {
            h.source_rowid: (ids[h.contact_key], h.contact_key) for h in people.handles
        }
        return ids

    def write_chats(self, chats: Chats, contact_ids: dict[str, int], people: People) -> None:
        conn = self.conn
        rows = list(chats.chats.values()) + [unknown_chat()]
        people_repo.upsert_chats(conn, [(c.key, 1 if c.is_group else 0, c.display_name, c.service) for c in rows])
        chat_ids = people_repo.chat_ids_by_key(conn)
        if not self.bulk:
            self._merge_moved_chats(chats, chat_ids)
            chat_ids = people_repo.chat_ids_by_key(conn)
        self._chat_ids_by_key = chat_ids
        people_repo.upsert_chat_sources(conn, [
            (s.source_guid, chat_ids[s.chat_key], s.source_rowid, s.chat_identifier, s.service, s.style,
             s.display_name, s.group_id) for s in chats.sources
        ])
        people_repo.ensure_participants(conn, [
            (chat_ids[c.key], contact_ids[k]) for c in chats.chats.values() for k in c.participant_keys
        ])
        self._placement.resplit_chats({merged: 0 for merged in self._take_changed_chats()})
        self.use_identities(SourceIdentities(
            contact_by_handle_rowid=self.contact_by_handle_rowid,
            unknown_chat_id=chat_ids[unknown_chat().key],
            handle_rows=[(h.source_rowid, contact_ids[h.contact_key], h.canonical) for h in people.handles],
            chat_rows=[(rowid, chat_ids[key]) for rowid, key in chats.key_by_rowid.items()],
        ))

    def identities(self) -> SourceIdentities:
        """What write_people/write_chats established, for a later pass whose people and chats are unchanged."""
        assert self._identities is not None, "write_chats() first"
        return self._identities

    def use_identities(self, identities: SourceIdentities) -> None:
        """Map source ROWIDs to mirror ids for the copy (instead of writing people and chats again)."""
        self._identities = identities
        self.contact_by_handle_rowid = identities.contact_by_handle_rowid
        self.unknown_chat_id = identities.unknown_chat_id
        repo.load_source_maps(self.conn, handles=identities.handle_rows, chats=identities.chat_rows)

    def _merge_moved_chats(self, chats: Chats, chat_ids: dict[str, int]) -> None:
        """A chat whose every source now belongs to another chat (its partner was merged) joins that chat."""
        new_target = {s.source_guid: chat_ids[s.chat_key] for s in chats.sources}
        sources_of: dict[int, list[str]] = defaultdict(list)
        for guid, chat_id in people_repo.chat_source_owners(self.conn).items():
            sources_of[chat_id].append(guid)
        for old_chat, guids in sources_of.items():
            targets = {new_target.get(guid, old_chat) for guid in guids}
            if len(targets) == 1 and (target := targets.pop()) != old_chat:
                people_repo.move_chat(self.conn, from_chat_id=old_chat, to_chat_id=target)
                self.stats.chats_merged += 1
                self.stats.changed_chat_ids.add(target)

    def _take_changed_chats(self) -> set[int]:
        changed, self.stats.changed_chat_ids = set(self.stats.changed_chat_ids), set()
        return changed

    # -- messages ----------------------------------------------------------------------------------

    def _unknown_chat(self) -> int:
        assert self.unknown_chat_id is not None, "write_chats() first"
        return self.unknown_chat_id

    def load_messages(self, *, where: str = "1", params: dict | None = None) -> LoadedMessages:
        """Copy the source messages matching `where` (SQL over `m.`, the chat.db message row)."""
        assert self.unknown_chat_id is not None, "write_chats() first"
        params = dict(params or {})
        conn, stats = self.conn, self.stats
        whole_source = where == "1"
        where = f"({where}) AND {source_sql.tapback_filter(self.columns, tapbacks=False)}"
        body = BodyTexts()
        self.raw.create_function(BODY_FUNCTION, 4, body, deterministic=False)
        pre = None
        if self.bulk:
            self._deferred_indexes += repo.drop_indexes(conn, ["conversations"])  # before planning fills it
            source_sql.fill_message_chats(self.raw)
            select = source_sql.message_select(self.columns, where=where, chat_map=True)
            pending, self._pre_read = (self._pre_read if whole_source else None), None
            planned_here = pending is None or not pending.plans
            if planned_here:  # while the workers decode
                self._bulk_count = self._placement.plan_from_source(select, unknown_chat_id=self.unknown_chat_id)
            pre = pending.result() if pending is not None else None
            if pre is not None and pre.spans is not None:
                self._bulk_count = self._placement.place_spans(
                    [(self._chat_ids_by_key[key], started, last, count) for key, started, last, count in pre.spans])
            elif not planned_here:  # the workers' reading was not usable
                self._bulk_count = self._placement.plan_from_source(select, unknown_chat_id=self.unknown_chat_id)
            if pre is not None:
                repo.load_body_texts(conn, pre.texts_json)
                body.needs_extras.extend(pre.needs_extras)
                body.needs_edits.extend(pre.needs_edits)
            # indexes are rebuilt by sorting: those the next steps look up by right after the copy, the rest
            # in finish()
            self._deferred_indexes += repo.drop_indexes(conn, ["messages", "reactions"])
            before: dict = {}
        else:
            select = source_sql.message_select(self.columns, where=where)
            before = self._existing(select, params)
        returned = repo.load_messages(
            conn, source_select=select, params=params,
            body_text_sql=f"{BODY_FUNCTION}(s.source_rowid, s.text, s.body, s.summary_info)",
            date_sql=source_sql.apple_ms_sql, kind_sql=KIND_SQL, epoch_ms=APPLE_EPOCH_UNIX_MS,
            unknown_chat_id=self.unknown_chat_id, upsert=not self.bulk, planned=self.bulk,
            pre_decoded=pre is not None,
        )
        loaded = LoadedMessages()
        if self.bulk:
            early = [sql for sql in self._deferred_indexes
                     if "ux_messages_guid" in sql or "ix_messages_source_rowid" in sql]
            repo.create_indexes(conn, early)
            self._deferred_indexes = [sql for sql in self._deferred_indexes if sql not in early]
            stats.messages_new += self._bulk_count
        else:
            self._sync_fts(before, returned)
            for message_id, chat_id, sent_at, _text in returned:
                (loaded.updated if message_id in before else loaded.new).append((message_id, chat_id, sent_at))
        stats.messages_new += len(loaded.new)
        stats.messages_updated += len(loaded.updated)
        self._start_decoding(extras=body.needs_extras, edits=body.needs_edits)
        self._place_in_conversations(loaded, before)
        if not self.bulk:  # bulk counts in finish(), once background decodes are in
            self._count_problems(loaded)
        return loaded

    def changed_source_rowids(self, *, low: int, high: int) -> list[int]:
        """Already-mirrored source rows in (low, high] that Messages changed since (see repo.changed_rowids)."""
        if high <= low:
            return []
        not_tapback = source_sql.tapback_filter(self.columns, tapbacks=False)
        select = source_sql.message_select(self.columns, where=f"m.ROWID > :low AND m.ROWID <= :high AND {not_tapback}")
        return repo.changed_rowids(self.conn, source_select=select, date_sql=source_sql.apple_ms_sql,
                                   unknown_chat_id=self._unknown_chat(), params={"low": low, "high": high})

    def _existing(self, select: str, params: dict) -> dict[int, tuple[str | None, int, int]]:
        """id -> (text, chat_id, sent_at) of mirrored messages the load will touch (to fix FTS and splits)."""
        rows = self.raw.execute(
            f"SELECT mm.id, mm.text, mm.chat_id, mm.sent_at FROM ({select}) AS s JOIN messages mm ON mm.guid = s.guid",
            params,
        ).fetchall()
        return {mid: (text, chat_id, sent_at) for mid, text, chat_id, sent_at in rows}

    def _sync_fts(self, before: dict, returned: list[tuple]) -> None:
        old, new = [], []
        for message_id, _chat, _sent, text in returned:
            previous = before.get(message_id)
            if previous is not None and previous[0] == text:
                continue
            if previous is not None and previous[0] is not None:
                old.append((message_id, previous[0]))
            if text is not None:
                new.append((message_id, text))
        repo.fts_delete(self.conn, old)
        repo.fts_insert(self.conn, new)

    def _start_decoding(self, *, extras: list[int], edits: list[int]) -> None:
        """Full decodes of these source rows' blobs (extras) and summaries (edits): in the background for a
        bulk load (applied in finish()), else before the load returns."""
        pending = start_decoding(self._source_blobs("attributedBody", extras),
                                 self._source_blobs("message_summary_info", edits))
        if isinstance(pending, PendingDecodes) and self.bulk:
            self._pending = pending
        else:
            self._apply_decoded(pending.result() if isinstance(pending, PendingDecodes) else pending)

    def _source_blobs(self, column: str, rowids: list[int]) -> list[tuple[str, bytes]]:
        """(guid, blob) of these source rows."""
        items: list[tuple[str, bytes]] = []
        for chunk in _chunks(rowids, 500):
            items.extend(self.raw.execute(
                f"SELECT guid, {column} FROM {source_sql.SCHEMA}.message WHERE ROWID IN "
                f"({','.join('?' * len(chunk))})", chunk,
            ).fetchall())
        return items

    def _apply_decoded(self, decoded: Decoded) -> None:
        self._apply_body_extras(decoded.extras)
        self._write_edits(decoded.edits)

    def _apply_body_extras(self, rows: list[tuple]) -> None:
        if not rows:
            return
        if not self.bulk:  # texts filled in here must reach the index too
            states = repo.message_states(self.conn, [r[3] for r in rows])
            repo.fts_insert(self.conn, [(states[guid][0], text) for text, _j, _e, guid in rows
                                        if text is not None and guid in states and states[guid][1] is None])
        repo.set_body_extras(self.conn, rows)

    def _write_edits(self, decoded: list[tuple]) -> None:
        """decoded: (guid, [(part, version, text, edited_at)], unsent) per source message."""
        if not decoded:
            return
        ids = repo.message_states(self.conn, [guid for guid, _edits, _unsent in decoded])
        edits: list[tuple] = []
        unsent: list[int] = []
        for guid, rows, is_unsent in decoded:
            if guid not in ids:
                continue
            message_id = ids[guid][0]
            edits.extend((message_id, *row) for row in rows)
            if is_unsent:
                unsent.append(message_id)
        repo.upsert_edits(self.conn, edits)
        repo.mark_unsent(self.conn, unsent)
        self.stats.edits += len(edits)

    def _count_problems(self, loaded: LoadedMessages) -> None:
        ids = None if self.bulk else [m[0] for m in loaded.new + loaded.updated]
        counts = repo.count_problem_messages(self.conn, unknown_chat_id=self._unknown_chat(),
                                             undated_at=APPLE_EPOCH_UNIX_MS, message_ids=ids)
        for name, value in counts.items():
            setattr(self.stats, name, getattr(self.stats, name) + value)

    # -- conversations --------------------------------------------------------------------------------

    def _place_in_conversations(self, loaded: LoadedMessages, before: dict) -> None:
        if self.bulk:  # planned before the copy
            return
        from_at: dict[int, int] = {}
        for message_id, chat_id, sent_at in loaded.new + loaded.updated:
            from_at[chat_id] = min(from_at.get(chat_id, sent_at), sent_at)
            previous = before.get(message_id)
            if previous is not None and (previous[1], previous[2]) != (chat_id, sent_at):
                from_at[previous[1]] = min(from_at.get(previous[1], previous[2]), previous[2])
        self._placement.resplit_chats(from_at)
        self.stats.changed_chat_ids.update(from_at)

    # -- reactions and attachments ---------------------------------------------------------------------

    def load_reactions(self, *, where: str = "1", params: dict | None = None) -> list[ReactionEvent]:
        """Fold the source tapbacks matching `where` into the reaction states; returns the states written."""
        latest = self.read_reactions(where=where, params=params)
        self.write_reactions(latest)
        return latest

    def read_reactions(self, *, where: str = "1", params: dict | None = None) -> list[ReactionEvent]:
        """The latest state per reaction key among the source tapbacks matching `where` (the mirror is not
        read: a bulk import reads them while the copy waits for its workers)."""
        tapbacks = source_sql.tapback_filter(self.columns, tapbacks=True)
        if where == "1" and "associated_message_guid" in self.columns["message"]:
            # the whole table: walk Messages' index of associated guids (a tapback without one is no
            # reaction) instead of reading every message row
            tapbacks = f"m.associated_message_guid >= '' AND {tapbacks}"
        select = source_sql.message_select(self.columns, where=f"({where}) AND {tapbacks}", with_chat=False)
        events = []
        for rowid, guid, handle_rowid, is_from_me, date, assoc_type, assoc_guid, assoc_emoji in self.raw.execute(
            f"SELECT source_rowid, guid, handle_rowid, is_from_me, date, assoc_type, assoc_guid, assoc_emoji "
            f"FROM ({select})", params or {},
        ):
            contact = self.contact_by_handle_rowid.get(handle_rowid)
            event = reaction_event(
                source_rowid=rowid, guid=guid, assoc_type=assoc_type, assoc_guid=assoc_guid,
                assoc_emoji=assoc_emoji, is_from_me=bool(is_from_me), date=date, handle_rowid=handle_rowid,
                sender_key=contact[1] if contact else None, sender_contact_id=contact[0] if contact else None,
            )
            if event is not None:
                events.append(event)
        return latest_reactions(events)

    def write_reactions(self, latest: list[ReactionEvent]) -> None:
        """Write reaction states (from read_reactions) with the ids of the messages they target."""
        if latest and self.bulk:  # every chat's figures are computed in finish(): no changed chats to note
            repo.insert_reactions_by_target(self.conn, [
                (e.target_guid, e.target_part, e.sender_key, e.sender_contact_id, 1 if e.is_from_me else 0, e.kind,
                 e.emoji, e.source_guid, e.source_rowid, e.reacted_at, 1 if e.added else 0)
                for e in latest
            ])
            self.stats.reactions += len(latest)
        elif latest:
            ids = repo.message_states(self.conn, sorted({e.target_guid for e in latest}))
            repo.upsert_reactions(self.conn, [
                (e.target_guid, e.target_part, ids[e.target_guid][0] if e.target_guid in ids else None,
                 e.sender_key, e.sender_contact_id, 1 if e.is_from_me else 0, e.kind, e.emoji, e.source_guid,
                 e.source_rowid, e.reacted_at, 1 if e.added else 0)
                for e in latest
            ])
            self.stats.reactions += len(latest)
            self.stats.changed_chat_ids.update(ids[e.target_guid][2] for e in latest if e.target_guid in ids)

    def load_attachments(self, rows: Iterable[tuple], *, messages_root: str | None = None) -> None:
        self.write_attachments(self.read_attachments(rows, messages_root=messages_root))

    def read_attachments(self, rows: Iterable[tuple], *, messages_root: str | None = None) -> LocatedAttachments:
        """Source attachment rows with their files looked up (the mirror is not read: a bulk import does
        this while the copy waits for its workers)."""
        return locate_attachments(rows, messages_root=messages_root)

    def write_attachments(self, located: LocatedAttachments) -> None:
        message_ids = dict(self.raw.execute(
            "SELECT source_rowid, id FROM messages WHERE source_rowid IN (SELECT value FROM json_each(?))",
            (_json_list({r[2] for r in located.rows if r[2] is not None}),),
        ).fetchall()) if located.rows else {}
        batch = link_attachments(located, message_id_by_rowid=message_ids)
        (repo.insert_attachments if self.bulk else repo.upsert_attachments)(self.conn, batch.rows)
        self.stats.attachments += len(batch.rows)
        self.stats.missing_attachment_files += batch.missing_files
        self.stats.orphan_attachments += batch.orphans

    def apply_deletions(self, guids: list[str]) -> list[tuple[int, int]]:
        """Flag messages Messages deleted and re-split their chats without them; returns (id, chat_id)."""
        flagged = repo.mark_deleted(self.conn, guids)
        from_at: dict[int, int] = {}
        for _mid, chat_id, sent_at in flagged:
            from_at[chat_id] = min(from_at.get(chat_id, sent_at), sent_at)
        self._placement.resplit_chats(from_at)
        self.stats.changed_chat_ids.update(from_at)
        return [(mid, chat_id) for mid, chat_id, _at in flagged]

    def finish(self) -> None:
        if self.bulk:
            # the indexes first, while the workers finish their decodes (what those write is not indexed)
            repo.create_indexes(self.conn, self._deferred_indexes)
            self._deferred_indexes = []
            if self._pending is not None:
                self._apply_decoded(self._pending.result())
                self._pending = None
            self._count_problems(LoadedMessages())
            repo.fts_rebuild(self.conn)
            repo.refresh_chat_stats(self.conn)
        else:
            repo.link_reactions_to_messages(self.conn)
            repo.refresh_chat_stats(self.conn, self.stats.changed_chat_ids)


def _chunks(values: list[int], size: int) -> Iterator[tuple[int, ...]]:
    for start in range(0, len(values), size):
        yield tuple(values[start:start + size])


def _json_list(values: Iterable[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"
