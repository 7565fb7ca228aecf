"""Writes a source into central.db: the one code path of full imports and incremental syncs.

`MirrorWriter` works inside a transaction the caller owns, on a connection with the source
ATTACHed as `src` (source/chatdb/sql.py). Messages are copied by one INSERT ... SELECT; Python
decodes only blobs that carry more than text, edit histories and tapbacks. On an empty mirror
(`bulk=True`) the message indexes are rebuilt after the copy and conversations are planned for
every chat at once; otherwise rows are upserted by guid and the chats that changed are re-split.
Both use the same SQL and the same split function, so they give the same mirror.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import Connection

from backend.conversations.split import plan_conversations
from backend.db.clock import now_ms
from backend.mirror import people_repo, repo
from backend.mirror.attachments import transform_attachments
from backend.mirror.decode_pool import PendingExtras, start_decoding
from backend.mirror.chats import Chats, unknown_chat
from backend.mirror.messages import (
    EDIT_MARKERS, ITEM_KINDS, RICH_MARKERS, ReactionEvent, edit_rows, latest_reactions, reaction_event,
)
from backend.mirror.people import People
from backend.source.attributed_body import decode_body_text
from backend.source.chatdb import sql as source_sql
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


class _BodyTexts:
    """The SQL function that yields a row's text, noting rows whose blobs need more than the fast path."""

    def __init__(self) -> None:
        self.needs_extras: list[int] = []
        self.needs_edits: list[int] = []

    def __call__(self, rowid: int, text: str | None, blob: bytes | None, summary: bytes | None) -> str | None:
        if summary and (EDIT_MARKERS[0] in summary or EDIT_MARKERS[1] in summary):
            self.needs_edits.append(rowid)
        if blob:
            if RICH_MARKERS[0] in blob or RICH_MARKERS[1] in blob or RICH_MARKERS[2] in blob \
                    or RICH_MARKERS[3] in blob:
                self.needs_extras.append(rowid)
            elif not text:
                decoded = decode_body_text(blob)
                if decoded is None:
                    self.needs_extras.append(rowid)
                return decoded
        return text or None


class MirrorWriter:
    def __init__(self, conn: Connection, *, source_columns: dict[str, set[str]], gap_ms: int, bulk: bool) -> None:
        self.conn = conn
        self.raw = conn.connection.driver_connection
        self.columns = source_columns
        self.gap_ms = gap_ms
        self.bulk = bulk
        self.stats = WriteStats()
        self.unknown_chat_id: int | None = None
        self.contact_by_handle_rowid: dict[int, tuple[int, str]] = {}
        self._deferred_indexes: list[str] = []
        self._pending_extras: PendingExtras | None = None
        self._identities: SourceIdentities | None = None
        self._bulk_count = 0

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
        people_repo.upsert_chat_sources(conn, [
            (s.source_guid, chat_ids[s.chat_key], s.source_rowid, s.chat_identifier, s.service, s.style,
             s.display_name, s.group_id) for s in chats.sources
        ])
        people_repo.ensure_participants(conn, [
            (chat_ids[c.key], contact_ids[k]) for c in chats.chats.values() for k in c.participant_keys
        ])
        for merged in self._take_changed_chats():
            self._resplit(merged, from_at=0)
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

    def load_messages(self, *, where: str = "1", params: dict | None = None) -> LoadedMessages:
        """Copy the source messages matching `where` (SQL over `m.`, the chat.db message row)."""
        assert self.unknown_chat_id is not None, "write_chats() first"
        params = dict(params or {})
        conn, stats = self.conn, self.stats
        where = f"({where}) AND {source_sql.tapback_filter(tapbacks=False)}"
        body = _BodyTexts()
        self.raw.create_function(BODY_FUNCTION, 4, body, deterministic=False)
        conversation_sql = "NULL"
        if self.bulk:
            source_sql.fill_message_chats(self.raw)
            select = source_sql.message_select(self.columns, where=where, chat_map=True)
            self._plan_before_load(select)
            conversation_sql = ("(SELECT mc.conversation_id FROM temp.message_conversations mc "
                                "WHERE mc.rowid = s.source_rowid)")
            # indexes are rebuilt by sorting: the guid index right after the copy (joins need it), the rest in finish()
            self._deferred_indexes = repo.drop_indexes(conn, ["messages"])
            before: dict = {}
        else:
            select = source_sql.message_select(self.columns, where=where)
            before = self._existing(select, params)
        returned = repo.load_messages(
            conn, source_select=select, params=params,
            body_text_sql=f"{BODY_FUNCTION}(s.source_rowid, s.text, s.body, s.summary_info)",
            date_sql=source_sql.apple_ms_sql, kind_sql=KIND_SQL, epoch_ms=APPLE_EPOCH_UNIX_MS,
            unknown_chat_id=self.unknown_chat_id, upsert=not self.bulk, conversation_sql=conversation_sql,
        )
        loaded = LoadedMessages()
        if self.bulk:
            guid_index = [sql for sql in self._deferred_indexes if "ux_messages_guid" in sql]
            repo.create_indexes(conn, guid_index)
            self._deferred_indexes = [sql for sql in self._deferred_indexes if sql not in guid_index]
            stats.messages_new += self._bulk_count
        else:
            self._sync_fts(before, returned)
            for message_id, chat_id, sent_at, _text in returned:
                (loaded.updated if message_id in before else loaded.new).append((message_id, chat_id, sent_at))
        stats.messages_new += len(loaded.new)
        stats.messages_updated += len(loaded.updated)
        self._start_body_extras(body.needs_extras)
        self._write_edits(body.needs_edits)
        self._place_in_conversations(loaded, before)
        if not self.bulk:  # bulk counts in finish(), once background decodes are in
            self._count_problems(loaded)
        return loaded

    def changed_source_rowids(self, *, low: int, high: int) -> list[int]:
        """Already-mirrored source rows in (low, high] that Messages changed since (see repo.changed_rowids)."""
        if high <= low:
            return []
        select = source_sql.message_select(
            self.columns, where=f"m.ROWID > :low AND m.ROWID <= :high AND {source_sql.tapback_filter(tapbacks=False)}")
        return repo.changed_rowids(self.conn, source_select=select, date_sql=source_sql.apple_ms_sql,
                                   unknown_chat_id=self.unknown_chat_id, params={"low": low, "high": high})

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

    def _start_body_extras(self, rowids: list[int]) -> None:
        items: list[tuple[str, bytes]] = []
        for chunk in _chunks(rowids, 500):
            items.extend(self.raw.execute(
                f"SELECT guid, attributedBody FROM {source_sql.SCHEMA}.message WHERE ROWID IN "
                f"({','.join('?' * len(chunk))})", chunk,
            ).fetchall())
        pending = start_decoding(items)
        if isinstance(pending, list):
            self._apply_body_extras(pending)
        else:
            self._pending_extras = pending

    def _apply_body_extras(self, rows: list[tuple]) -> None:
        if not rows:
            return
        if not self.bulk:  # texts filled in here must reach the index too
            states = repo.message_states(self.conn, [r[3] for r in rows])
            repo.fts_insert(self.conn, [(states[guid][0], text) for text, _j, _e, guid in rows
                                        if text is not None and guid in states and states[guid][1] is None])
        repo.set_body_extras(self.conn, rows)

    def _write_edits(self, rowids: list[int]) -> None:
        edits, unsent = [], []
        for chunk in _chunks(rowids, 500):
            for message_id, summary in self.raw.execute(
                f"SELECT mm.id, s.message_summary_info FROM {source_sql.SCHEMA}.message s "
                f"JOIN messages mm ON mm.guid = s.guid WHERE s.ROWID IN ({','.join('?' * len(chunk))})", chunk,
            ):
                rows, is_unsent = edit_rows(message_id, summary)
                edits.extend(rows)
                if is_unsent:
                    unsent.append(message_id)
        repo.upsert_edits(self.conn, edits)
        repo.mark_unsent(self.conn, unsent)
        self.stats.edits += len(edits)

    def _count_problems(self, loaded: LoadedMessages) -> None:
        ids = None if self.bulk else [m[0] for m in loaded.new + loaded.updated]
        counts = repo.count_problem_messages(self.conn, unknown_chat_id=self.unknown_chat_id,
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
        for chat_id, at in from_at.items():
            self._resplit(chat_id, from_at=at)
        self.stats.changed_chat_ids.update(from_at)

    def _plan_before_load(self, select: str) -> None:
        """Bulk: plan every chat's conversations from the source itself, so rows land with their conversation."""
        timeline = repo.list_source_timeline(self.conn, source_select=select, date_sql=source_sql.apple_ms_sql,
                                             epoch_ms=APPLE_EPOCH_UNIX_MS, unknown_chat_id=self.unknown_chat_id)
        self._bulk_count = len(timeline)
        next_id = repo.next_conversation_id(self.conn)
        now = now_ms()
        rows, pairs = [], []
        for chat_id, messages in groupby(timeline, key=lambda m: m[1]):
            for planned in plan_conversations([(rowid, at, None) for rowid, _c, at in messages], self.gap_ms):
                # History that was over before the first import is not "newly sealed": batch passes
                # over it are an explicit (costed) run, not an avalanche of events.
                historic = planned.last_message_at < now - self.gap_ms
                rows.append((next_id, chat_id, planned.started_at, planned.last_message_at,
                             len(planned.message_ids), "historic" if historic else "open",
                             now if historic else None, now))
                pairs.extend(f'"{rowid}":{next_id}' for rowid in planned.message_ids)
                self.stats.touched_conversation_ids.add(next_id)
                next_id += 1
        repo.insert_conversations(self.conn, rows)
        repo.load_message_conversations(self.conn, "{" + ",".join(pairs) + "}")

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
                                                  planned.last_message_at, count, "open", None, now)])
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

    # -- reactions and attachments ---------------------------------------------------------------------

    def load_reactions(self, *, where: str = "1", params: dict | None = None) -> list[ReactionEvent]:
        select = source_sql.message_select(self.columns, where=f"({where}) AND {source_sql.tapback_filter(tapbacks=True)}",
                                           with_chat=False)
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
        latest = latest_reactions(events)
        if latest:
            ids = repo.message_states(self.conn, sorted({e.target_guid for e in latest}))
            write = repo.insert_reactions if self.bulk else repo.upsert_reactions
            write(self.conn, [
                (e.target_guid, e.target_part, ids[e.target_guid][0] if e.target_guid in ids else None,
                 e.sender_key, e.sender_contact_id, 1 if e.is_from_me else 0, e.kind, e.emoji, e.source_guid,
                 e.source_rowid, e.reacted_at, 1 if e.added else 0)
                for e in latest
            ])
            self.stats.reactions += len(latest)
            self.stats.changed_chat_ids.update(ids[e.target_guid][2] for e in latest if e.target_guid in ids)
        return latest

    def load_attachments(self, rows, *, messages_root: str | None = None) -> None:
        rows = list(rows)
        message_ids = dict(self.raw.execute(
            "SELECT source_rowid, id FROM messages WHERE source_rowid IN (SELECT value FROM json_each(?))",
            (_json_list({r[-1] for r in rows if r[-1] is not None}),),
        ).fetchall()) if rows else {}
        batch = transform_attachments(rows, message_id_by_rowid=message_ids, messages_root=messages_root)
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
        for chat_id, at in from_at.items():
            self._resplit(chat_id, from_at=at)
        self.stats.changed_chat_ids.update(from_at)
        return [(mid, chat_id) for mid, chat_id, _at in flagged]

    def finish(self) -> None:
        if self.bulk:
            if self._pending_extras is not None:
                self._apply_body_extras(self._pending_extras.result())
                self._pending_extras = None
            self._count_problems(LoadedMessages())
            repo.create_indexes(self.conn, self._deferred_indexes)
            repo.fts_rebuild(self.conn)
            repo.refresh_chat_stats(self.conn)
        else:
            repo.link_reactions_to_messages(self.conn)
            repo.refresh_chat_stats(self.conn, self.stats.changed_chat_ids)


def _chunks(values: list[int], size: int):
    for start in range(0, len(values), size):
        yield tuple(values[start:start + size])


def _json_list(values) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"
