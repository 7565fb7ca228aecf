"""`chatstats import`: mirror a chat.db and its AddressBook into central.db, crash-safely.

First import (no messages in the mirror yet): built in a shadow file with fast, unsafe pragmas,
then made safe (WAL, synced) and renamed over central.db in one atomic step; a crash leaves the
old file untouched and a stale shadow that the next import deletes. Later imports upsert in one
IMMEDIATE transaction: a crash rolls back to the previous state.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError

from backend.config import Settings
from backend.db import migrate
from backend.db.engine import create_db_engine, dispose_engines, get_engine
from backend.db.session import fetch_value, session_scope, sqlite_of, write_transaction
from backend.mirror import repo, state
from backend.mirror.decode_pool import PendingPreRead
from backend.mirror.resolution import AddressBooks, Chats, People, people_from_mirror, people_to_resolve, resolve
from backend.mirror.writer import MirrorWriter, WriteStats
from backend.source.chatdb import sql as source_sql
from backend.source.chatdb.reader import ChatDbReader

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
SHADOW_SUFFIX = ".importing"
# From this many messages, a first import on a machine with more than one core decodes the texts of the
# source in a worker process while it writes people and chats and plans the conversations; from
# PLAN_IN_WORKERS_MIN_CPUS cores the conversations are planned in a worker too (on 2 cores that was slower:
# the importer only waited).
PRE_READ_THRESHOLD = 20_000
PLAN_IN_WORKERS_MIN_CPUS = 4


@dataclass(slots=True)
class ImportSummary:
    source: str
    addressbook: str | None
    mode: str  # "shadow" (first import) or "in_place"
    seconds: float
    counts: dict[str, int]
    written: dict[str, int]
    max_source_rowid: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"event": "imported", "source": self.source, "addressbook": self.addressbook, "mode": self.mode,
                "seconds": round(self.seconds, 3), "counts": self.counts, "written": self.written,
                "max_source_rowid": self.max_source_rowid, "warnings": self.warnings}


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    return None


def import_source(
    settings: Settings,
    *,
    source: Path,
    addressbook_dir: Path | None = None,
    iphone_addressbook: Path | None = None,
    progress: Progress = _no_progress,
) -> ImportSummary:
    started = time.perf_counter()
    reader = ChatDbReader.open(source)  # fails before central.db is touched
    source = reader.path  # a folder given as --source: the chat.db in it
    try:
        warnings: list[str] = []
        contacts, problems = AddressBooks(addressbook_dir, iphone_addressbook).read(
            default_region=settings.default_region)
        for problem in problems:
            warnings.append(f"contacts not imported: {problem}")
            log.warning("contacts not imported: %s", problem)
        progress("contacts", len(contacts), len(contacts))
        target = settings.central_db_path
        engine = get_engine(target)
        migrate.upgrade(engine)
        with session_scope(engine) as conn:
            empty = not fetch_value(conn, "SELECT EXISTS (SELECT 1 FROM messages)")
            people_of_books = people_to_resolve(contacts, problems, lambda: people_from_mirror(conn))
        resolved = resolve(people_of_books, reader.handles(), reader.chats(), reader.chat_handles(),
                           default_region=settings.default_region)
        people, chats = resolved.people, resolved.chats
        total = reader.count_messages()
        if empty:
            stats = _import_into_shadow(settings, reader, people, chats, total, progress)
            mode = "shadow"
        else:
            stats = _import_in_place(engine, settings, reader, people, chats, total, progress)
            mode = "in_place"
        max_rowid = stats.source_max_rowid
    except (sqlite3.DatabaseError, SQLAlchemyDatabaseError) as exc:  # pages damaged mid-file read as errors
        damaged = reader.damaged_error()
        if damaged is not None:
            raise damaged from exc
        raise
    finally:
        reader.close()

    engine = get_engine(target)
    with write_transaction(engine) as conn:
        repo.set_sync_state(conn, state.SOURCE_KEY, str(Path(source).expanduser().resolve()))
        repo.set_sync_state(conn, state.CURSOR_KEY, max_rowid)
        repo.set_sync_state(conn, state.DELETED_CURSOR_KEY, stats.source_deleted_rowid)
        counts = repo.count_rows(conn)
        summary = ImportSummary(
            source=str(source), addressbook=str(addressbook_dir) if addressbook_dir else None, mode=mode,
            seconds=time.perf_counter() - started, counts=counts, written=stats.to_json(),
            max_source_rowid=max_rowid, warnings=warnings + _warnings(stats),
        )
        repo.set_sync_state(conn, state.LAST_IMPORT_KEY, summary.to_json())
    log.info("imported %d messages (%s) in %.2f s", counts["messages"], mode, summary.seconds)
    return summary


def is_mirrored(settings: Settings, source: Path) -> bool:
    """True when central.db already mirrors this source (an import of it finished before)."""
    if not settings.central_db_path.exists():
        return False
    with session_scope(get_engine(settings.central_db_path)) as conn:
        mirrored = repo.get_sync_state(conn, state.SOURCE_KEY)
        cursor = repo.get_sync_state(conn, state.CURSOR_KEY)
    return mirrored == str(Path(source).expanduser().resolve()) and cursor is not None


def _warnings(stats: WriteStats) -> list[str]:
    notes = []
    if stats.without_chat:
        notes.append(f"{stats.without_chat} messages reference no chat: kept under 'Messages without a chat'")
    if stats.without_sender:
        notes.append(f"{stats.without_sender} messages reference a missing handle: kept with an unknown sender")
    if stats.undecodable:
        notes.append(f"{stats.undecodable} message bodies could not be decoded: kept with text NULL, flagged")
    if stats.undated:
        notes.append(f"{stats.undated} messages have no date: kept, dated 2001-01-01")
    if stats.missing_attachment_files:
        notes.append(f"{stats.missing_attachment_files} attachment files are not on this disk")
    return notes


def _write_all(writer: MirrorWriter, reader: ChatDbReader, people: People, chats: Chats, total: int,
               progress: Progress) -> None:
    writer.snapshot_source_cursor()  # first read of src: the copy below sees exactly this snapshot
    contact_ids = writer.write_people(people)
    writer.write_chats(chats, contact_ids, people)
    progress("messages", 0, total)
    # read from the source alone (a bulk load's workers read it meanwhile), written once messages are in
    reactions = writer.read_reactions()
    attachments = writer.read_attachments(reader.attachments(), messages_root=str(reader.path.resolve().parent))
    writer.load_messages()
    writer.write_reactions(reactions)
    progress("messages", total, total)
    writer.write_attachments(attachments)
    progress("attachments", writer.stats.attachments, writer.stats.attachments)
    deleted = reader.deleted_messages_after(0)
    writer.apply_deletions([guid for _rowid, guid in deleted])
    writer.stats.source_deleted_rowid = max((rowid for rowid, _guid in deleted), default=0)
    writer.finish()
    progress("index", 1, 1)


@contextmanager
def attached_source(conn: Connection, path: Path) -> Iterator[None]:
    """ATTACH the source to a connection for the length of one transaction (ATTACH cannot run inside one)."""
    raw = sqlite_of(conn)
    source_sql.attach(raw, path)
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        source_sql.detach(raw)


def _import_in_place(engine: Engine, settings: Settings, reader: ChatDbReader, people: People, chats: Chats,
                     total: int, progress: Progress) -> WriteStats:
    with engine.connect() as conn, attached_source(conn, reader.path), write_transaction(conn):
        writer = MirrorWriter(conn, source_columns=reader.columns, gap_ms=settings.conversation_gap_ms,
                              bulk=False)
        _write_all(writer, reader, people, chats, total, progress)
    return writer.stats


def _import_into_shadow(settings: Settings, reader: ChatDbReader, people: People, chats: Chats, total: int,
                        progress: Progress) -> WriteStats:
    target = settings.central_db_path
    shadow = target.with_name(target.name + SHADOW_SUFFIX)
    for stale in (shadow, Path(f"{shadow}-wal"), Path(f"{shadow}-shm"), Path(f"{shadow}-journal")):
        stale.unlink(missing_ok=True)
    dispose_engines()
    pre_read = None  # started before this import's snapshot of the source: see PendingPreRead
    cpus = os.cpu_count() or 1
    if total >= PRE_READ_THRESHOLD and cpus > 1:
        pre_read = PendingPreRead(reader.path, reader.columns, max_rowid=reader.max_message_rowid(),
                                  chat_keys=chats.key_by_rowid, gap_ms=settings.conversation_gap_ms,
                                  plan=cpus >= PLAN_IN_WORKERS_MIN_CPUS)
    _copy_database(target, shadow)  # keeps settings and anything else already in central.db
    engine = create_db_engine(shadow)
    try:
        with engine.connect() as conn:
            raw = sqlite_of(conn)
            raw.execute("PRAGMA journal_mode=OFF")
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA cache_size=-262144")
            raw.execute("PRAGMA temp_store=MEMORY")
            with attached_source(conn, reader.path), write_transaction(conn):
                writer = MirrorWriter(conn, source_columns=reader.columns, gap_ms=settings.conversation_gap_ms,
                                      bulk=True, pre_read=pre_read)
                _write_all(writer, reader, people, chats, total, progress)
            raw.execute("PRAGMA synchronous=FULL")
            raw.execute("PRAGMA journal_mode=DELETE")  # a plain file: safe to rename, WAL comes back on open
    finally:
        if pre_read is not None:
            pre_read.cancel()  # a no-op once the copy took it
        engine.dispose()
    _fsync(shadow)
    os.replace(shadow, target)
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    return writer.stats


def _copy_database(source: Path, destination: Path) -> None:
    src = sqlite3.connect(source)
    try:
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:  # some file systems cannot fsync a directory
        pass

