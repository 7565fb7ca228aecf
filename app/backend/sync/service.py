"""Live sync: one pass brings central.db up to date with chat.db (and Contacts), then publishes.

A pass runs through the same MirrorWriter as the full import, inside one IMMEDIATE transaction
that also moves the cursor and writes the outbox events; events reach the hub only after that
transaction committed. New rows come by ROWID cursor; changed rows (edits, unsends, reads,
deliveries, late bodies) by comparing cheap fingerprints of a bounded window of recent rows;
deletions by the source's deleted_messages table. A source whose max ROWID falls below the cursor
was rebuilt: the pass reconciles everything by guid and says so.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from backend.config import Settings
from backend.db.session import retry_locked, session_scope, sqlite_of, write_transaction
from backend.events import outbox
from backend.events.types import (
    ChatUpdated,
    ContactUpdated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
    SourceReconciled,
)
from backend.live.hub import HubEvent, MessageHub
from backend.mirror import people_repo, repo
from backend.mirror.importer import attached_source
from backend.mirror.resolution import AddressBooks, Chats, People, people_from_mirror, people_to_resolve, resolve
from backend.mirror.state import CURSOR_KEY, DELETED_CURSOR_KEY
from backend.mirror.writer import MirrorWriter, SourceIdentities
from backend.source.addressbook.reader import MergedContact
from backend.source.chatdb import sql as source_sql
from backend.source.chatdb.reader import ChatDbReader

log = logging.getLogger(__name__)

RESCAN_WINDOW = 1_000  # recent rows whose edits, reads and late bodies are watched
PLACEMENT_GRACE_S = 10.0  # how long a new row without a chat holds the cursor back


@dataclass(slots=True)
class PassResult:
    new_messages: int = 0
    updated_messages: int = 0
    events: int = 0
    reconciled: bool = False
    seconds: float = 0.0
    cursor: int = 0
    published: list[HubEvent] = field(default_factory=list)


class LiveSync:
    """Keeps the mirror of one source current. Not thread-safe: one thread runs passes."""

    def __init__(self, settings: Settings, engine: Engine, *, source: Path, addressbook_dir: Path | None,
                 hub: MessageHub, iphone_addressbook: Path | None = None) -> None:
        """`addressbook_dir`, `iphone_addressbook`: the address books the import read with this source
        (source/locate.py chooses them for both), so both resolve people alike."""
        self.settings = settings
        self.engine = engine
        self.source = Path(source).expanduser()
        self.addressbook_dir = addressbook_dir
        self.addressbooks = AddressBooks(addressbook_dir, iphone_addressbook)
        self.hub = hub
        self._unplaced_since: dict[int, float] = {}
        self._addressbook_signature: tuple | None = None
        self._people_of_books: list[MergedContact] | None = None  # None: not resolved yet
        self._identities: SourceIdentities | None = None
        self._identity_key: tuple | None = None
        self.passes = 0
        self.after_commit: list[Callable[[], None]] = []  # e.g. wake the outbox relay
        self.last_pass_at: float | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()

    # -- one pass ------------------------------------------------------------------------------------

    def run_pass(self) -> PassResult:
        with self._lock:
            started = time.perf_counter()
            try:
                result = retry_locked(self._pass)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self.last_error = None
            self.passes += 1
            self.last_pass_at = time.time()
            result.seconds = time.perf_counter() - started
            if result.published:
                self.hub.publish(result.published)  # after commit, never before
                for callback in self.after_commit:
                    callback()
            return result

    def _pass(self) -> PassResult:
        result = PassResult()
        with ChatDbReader.open(self.source) as reader:
            with session_scope(self.engine) as conn:
                cursor = repo.get_sync_state(conn, CURSOR_KEY) or 0
                deleted_cursor = repo.get_sync_state(conn, DELETED_CURSOR_KEY) or 0
            high_water = reader.message_rowid_high_water()
            reconcile = high_water < cursor  # deleting the newest messages lowers max(ROWID), not this
            if reconcile:
                log.warning("source ROWIDs end at %d, below the cursor %d: the database was rebuilt; "
                            "reconciling by guid", high_water, cursor)
                self._unplaced_since.clear()
            after = 0 if reconcile else cursor
            new_unplaced = self._unplaced_rowids(reader, after)
            deleted = reader.deleted_messages_after(deleted_cursor)
            contacts_changed = self._refresh_contacts()
            identity_key = (reader.handles(), reader.chats(), reader.chat_handles(), self._addressbook_signature)
            reuse = identity_key == self._identity_key and self._identities is not None
            with self.engine.connect() as conn, attached_source(conn, reader.path), write_transaction(conn):
                names_before = people_repo.contact_names(conn) if contacts_changed else {}
                writer = MirrorWriter(conn, source_columns=reader.columns, gap_ms=self.settings.conversation_gap_ms,
                                      bulk=False)
                max_rowid = writer.snapshot_source_cursor()
                # same handles, chats and contacts as last pass: nothing to re-resolve or re-write
                if reuse and self._identities is not None:
                    writer.use_identities(self._identities)
                else:
                    people, chats = self._resolve(*identity_key[:3])
                    contact_ids = writer.write_people(people)
                    writer.write_chats(chats, contact_ids, people)
                changed = [] if reconcile else writer.changed_source_rowids(
                    low=max(0, after - RESCAN_WINDOW), high=after)
                where, params = "m.ROWID > :after AND m.ROWID <= :upto", {"after": after, "upto": max_rowid}
                if changed:
                    where = f"({where}) OR m.ROWID IN (SELECT value FROM json_each(:changed))"
                    params["changed"] = "[" + ",".join(map(str, changed)) + "]"
                loaded = writer.load_messages(where=where, params=params)
                reactions = writer.load_reactions(where=where, params=params)
                new_rowids = [r for (r,) in sqlite_of(conn).execute(
                    f"SELECT ROWID FROM {source_sql.SCHEMA}.message WHERE ROWID > ? AND ROWID <= ?",
                    (after, max_rowid))]
                if new_rowids:
                    writer.load_attachments(reader.attachments(message_rowids=new_rowids),
                                            messages_root=str(reader.path.resolve().parent))
                deleted_rows = writer.apply_deletions([guid for _rowid, guid in deleted])
                writer.finish()

                events: list = [MessageCreated(mid, chat, None) for mid, chat, _at in loaded.new]
                updated = {(mid, chat) for mid, chat, _at in loaded.updated} | set(deleted_rows)
                targets = repo.message_states(conn, sorted({r.target_guid for r in reactions}))
                updated |= {(state[0], state[2]) for state in targets.values()}
                events += [MessageUpdated(mid, chat) for mid, chat in sorted(updated)]
                events += [ChatUpdated(chat) for chat in sorted(writer.stats.changed_chat_ids)]
                events += [ConversationUpdated(cid, chat) for cid, chat in
                           repo.conversation_chats(conn, writer.stats.touched_conversation_ids)]
                if contacts_changed:
                    names_after = people_repo.contact_names(conn)
                    events += [ContactUpdated(cid) for cid, name in names_after.items()
                               if names_before.get(cid) != name]
                # a rebuilt database is whole: its rows without a chat are old ones, not half-written new ones
                new_cursor = max_rowid if reconcile else self._next_cursor(max_rowid, new_unplaced)
                if reconcile:
                    events.append(SourceReconciled(cursor, new_cursor))
                repo.set_sync_state(conn, CURSOR_KEY, new_cursor)
                if deleted:
                    repo.set_sync_state(conn, DELETED_CURSOR_KEY, max(rowid for rowid, _ in deleted))
                stored = outbox.record(conn, events)
            self._identities, self._identity_key = writer.identities(), identity_key
        result.new_messages, result.updated_messages = len(loaded.new), len(loaded.updated)
        result.events, result.reconciled, result.cursor = len(stored), reconcile, new_cursor
        result.published = [HubEvent(e.id, e.name, e.payload) for e in stored]
        return result

    # -- what changed in the source ------------------------------------------------------------------

    def _unplaced_rowids(self, reader: ChatDbReader, after: int) -> list[int]:
        """New rows that belong to no chat yet (Messages may write the chat link a moment later)."""
        return [rowid for (rowid,) in reader.conn.execute(
            "SELECT m.ROWID FROM message m WHERE m.ROWID > ? AND NOT EXISTS "
            "(SELECT 1 FROM chat_message_join j WHERE j.message_id = m.ROWID)", (after,))]

    def _next_cursor(self, max_rowid: int, unplaced: list[int]) -> int:
        """Past everything committed, except rows still waiting (briefly) for their chat."""
        now = time.monotonic()
        waiting = []
        for rowid in unplaced:
            first_seen = self._unplaced_since.setdefault(rowid, now)
            if now - first_seen < PLACEMENT_GRACE_S:
                waiting.append(rowid)
        self._unplaced_since = {r: t for r, t in self._unplaced_since.items() if r in set(unplaced)}
        return min(waiting) - 1 if waiting else max_rowid

    def _refresh_contacts(self) -> bool:
        """Re-read Contacts when its files changed; True when they did (first call included). A book that
        cannot be read now keeps the people read before (at start: the mirror's, see people_to_resolve)."""
        if self.addressbooks.folder is None and self.addressbooks.iphone is None:
            return False
        signature = self.addressbooks.signature()
        if signature == self._addressbook_signature:
            return False
        contacts, problems = self.addressbooks.read(default_region=self.settings.default_region)
        if problems:
            for problem in problems:
                log.warning("contacts not synced: %s", problem)
            if self._people_of_books is None:
                with session_scope(self.engine) as conn:
                    self._people_of_books = people_to_resolve(contacts, problems, lambda: people_from_mirror(conn))
            return False
        self._people_of_books = people_to_resolve(contacts, problems, list)
        self._addressbook_signature = signature
        return True

    def _resolve(self, handles: list[tuple], chat_rows: list[tuple], chat_handles: list[tuple]) -> tuple[People, Chats]:
        resolved = resolve(self._people_of_books or [], handles, chat_rows, chat_handles,
                           default_region=self.settings.default_region)
        return resolved.people, resolved.chats

    # -- cheap change detection for the safety check -----------------------------------------------------

    def source_signature(self) -> tuple:
        """Identity, size and mtime of chat.db and its WAL: changes whenever Messages writes.

        An empty or missing WAL counts as "empty": readers (we are one) create and remove empty WAL
        files when nobody else holds the database open, and that is not a change.
        """
        database, wal = _stat(self.source), _stat(Path(f"{self.source}-wal"))
        return (
            (database.st_ino, database.st_size, database.st_mtime_ns) if database else None,
            (wal.st_ino, wal.st_size, wal.st_mtime_ns) if wal and wal.st_size else "empty",
        )


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
