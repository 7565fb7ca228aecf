"""Read chat.db (or an iPhone sms.db) read-only, whatever macOS version wrote it.

Columns that an older or newer schema lacks are selected as NULL, so every query returns the
same tuple shape. Rows come back as plain tuples in the order of the `*_COLUMNS` lists (the
importer reads hundreds of thousands of them; dict rows would double its time).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from backend.source.chatdb.capabilities import SchemaCapabilities, probe
from backend.source.errors import (
    FULL_DISK_ACCESS_HINT,
    SourceDatabaseCorrupt,
    SourceDatabaseLocked,
    SourceDatabaseMissing,
    SourceDatabaseUnreadable,
)

log = logging.getLogger(__name__)

MESSAGE_COLUMNS = (
    "ROWID", "guid", "text", "attributedBody", "handle_id", "date", "date_read", "date_delivered",
    "is_from_me", "service", "subject", "item_type", "group_action_type", "group_title", "other_handle",
    "associated_message_guid", "associated_message_type", "associated_message_emoji",
    "thread_originator_guid", "thread_originator_part", "date_edited", "date_retracted",
    "message_summary_info", "expressive_send_style_id", "balloon_bundle_id", "is_read",
    "is_audio_message", "cache_has_attachments",
)
HANDLE_COLUMNS = ("ROWID", "id", "service", "person_centric_id", "uncanonicalized_id", "country")
CHAT_COLUMNS = ("ROWID", "guid", "style", "chat_identifier", "service_name", "display_name", "group_id")
ATTACHMENT_COLUMNS = (
    "ROWID", "guid", "filename", "mime_type", "uti", "transfer_name", "total_bytes", "created_date", "is_sticker",
)
REQUIRED = {"message": {"ROWID", "guid", "date"}, "handle": {"ROWID", "id"}, "chat": {"ROWID", "guid"}}


SOURCE_FILE_NAMES = ("chat.db", "sms.db")
LOCK_WAIT_S = 2.0  # how long a read waits for another program's exclusive lock before it is reported


def resolve_source(path: Path) -> Path:
    """The database file of a --source: the path itself, or the chat.db (or sms.db) in a folder
    (`--source ~/Library/Messages`). Raises the same errors as open_readonly."""
    path = Path(path).expanduser()
    try:
        is_folder = path.is_dir()
        if is_folder:
            found = next((path / name for name in SOURCE_FILE_NAMES if (path / name).is_file()), None)
    except PermissionError as exc:
        raise SourceDatabaseUnreadable(f"Cannot read {path}: {FULL_DISK_ACCESS_HINT}.", path=str(path)) from exc
    if not is_folder:
        return path
    if found is None:
        raise SourceDatabaseMissing(
            f"{path} is a folder without a chat.db: point --source at ~/Library/Messages (or the chat.db in it), "
            "or make demo data with `chatstats demo-source DIR`.", path=str(path))
    return found


def find_database(path: Path) -> Path:
    """The database file of a --source that exists: SourceDatabaseMissing when there is none,
    SourceDatabaseUnreadable when a folder on the way cannot be searched (no Full Disk Access)."""
    path = resolve_source(path)
    try:
        exists = path.exists()  # PermissionError when a folder on the way cannot be searched
    except PermissionError as exc:
        raise SourceDatabaseUnreadable(f"Cannot read {path}: {FULL_DISK_ACCESS_HINT}.", path=str(path)) from exc
    if not exists:
        if path.parent.exists() and not _listable(path.parent):
            raise SourceDatabaseUnreadable(f"Cannot read {path.parent}: {FULL_DISK_ACCESS_HINT}.", path=str(path))
        raise SourceDatabaseMissing(
            f"No Messages database at {path}. On a Mac it is ~/Library/Messages/chat.db; elsewhere use "
            "`chatstats demo-source DIR` to generate one, or pass --source.",
            path=str(path),
        )
    return path


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open a Messages database without ever writing to it (WAL-aware: no immutable=1)."""
    path = find_database(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(16)
    except PermissionError as exc:
        raise SourceDatabaseUnreadable(f"Cannot read {path}: {FULL_DISK_ACCESS_HINT}.", path=str(path)) from exc
    if header != b"SQLite format 3\x00":
        raise SourceDatabaseCorrupt(
            f"{path} is not an SQLite database (damaged or not a chat.db). Nothing was imported; "
            "point --source at a good copy.",
            path=str(path),
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False,
                               timeout=LOCK_WAIT_S)
        conn.execute("PRAGMA query_only=ON")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise _translate(path, exc) from exc
    missing = {"message", "handle", "chat"} - tables
    if missing:
        conn.close()
        raise SourceDatabaseCorrupt(
            f"{path} has no {', '.join(sorted(missing))} table: it is not a Messages database.", path=str(path)
        )
    return conn


def change_signature(path: Path) -> tuple:
    """What changes whenever a transaction commits to this database: the main file (its stat and header,
    whose change counter moves on each commit with a rollback journal), the WAL (its stat and header,
    whose salts change at each reset) and the wal-index headers in -shm (whose change counter moves on
    every WAL commit; the rest of -shm is written by readers too, so it is left out).

    Equal signatures taken before two readers began and after both did mean they read the same snapshot.
    """
    path = Path(path).expanduser().resolve()  # as SQLite opens it: its -wal and -shm lie beside the real file
    return (_file_state(path, 100), _file_state(Path(f"{path}-wal"), 32),
            _file_state(Path(f"{path}-shm"), 96, with_stat=False))


def _file_state(path: Path, header_bytes: int, *, with_stat: bool = True) -> tuple | None:
    try:
        with open(path, "rb") as handle:
            header = handle.read(header_bytes)
            if not with_stat:
                return (header,)
            stat = os.fstat(handle.fileno())
            return stat.st_ino, stat.st_size, stat.st_mtime_ns, header
    except FileNotFoundError:
        return None


def _listable(folder: Path) -> bool:
    try:
        next(iter(folder.iterdir()), None)
    except PermissionError:
        return False
    return True


def _translate(path: Path, exc: sqlite3.DatabaseError) -> Exception:
    text = str(exc).lower()
    if "unable to open" in text or "authorization denied" in text or "permission" in text:
        return SourceDatabaseUnreadable(f"Cannot open {path}: {FULL_DISK_ACCESS_HINT}.", path=str(path))
    if "locked" in text or "busy" in text:
        return SourceDatabaseLocked(
            f"{path} is locked by another program that is writing it: try again in a moment, or quit Messages "
            "and retry (or import a copy of the file).", path=str(path))
    return SourceDatabaseCorrupt(
        f"{path} could not be read ({exc}). It may be damaged: nothing was imported; point --source at a good copy.",
        path=str(path),
    )


class ChatDbReader:
    """Queries over one open chat.db. Its capabilities (columns, tables, date unit) are probed once, at
    construction; `columns` is the same object, a mapping table -> column names."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        try:
            self.capabilities: SchemaCapabilities = probe(conn)
        except sqlite3.DatabaseError as exc:
            raise _translate(path, exc) from exc
        self.columns = self.capabilities
        for table, needed in REQUIRED.items():
            if not needed <= self.columns[table]:
                raise SourceDatabaseCorrupt(
                    f"{path}: table {table} lacks {', '.join(sorted(needed - self.columns[table]))}.",
                    path=str(path),
                )

    @classmethod
    def open(cls, path: Path) -> ChatDbReader:
        path = resolve_source(path)
        return cls(open_readonly(path), path)

    def damage(self) -> str | None:
        """None when SQLite finds the file sound (quick_check), else what it found: called after a read
        failed, to tell a damaged source from a problem elsewhere."""
        try:
            rows = self.conn.execute("PRAGMA quick_check(3)").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        problems = [" ".join(str(row[0]).split()) for row in rows if row[0] != "ok"]  # one line
        return "; ".join(problems) if problems else None

    def damaged_error(self) -> SourceDatabaseCorrupt | None:
        """A SourceDatabaseCorrupt for a read that failed on a damaged source; None when the source is sound."""
        found = self.damage()
        if found is None:
            return None
        return SourceDatabaseCorrupt(
            f"{self.path} is damaged ({found[:160]}). Nothing was imported; point --source at a good copy "
            "(a Time Machine backup), or let Messages repair it by quitting and reopening it.", path=str(self.path))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ChatDbReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _select(self, table: str, alias: str, wanted: tuple[str, ...]) -> str:
        present = self.columns[table]
        return ", ".join(f"{alias}.{c}" if c in present else f"NULL AS {c}" for c in wanted)

    def _query(self, sql: str, params: tuple = ()) -> Iterator[tuple]:
        try:
            cursor = self.conn.execute(sql, params)
            while batch := cursor.fetchmany(20_000):
                yield from batch
        except sqlite3.DatabaseError as exc:
            raise _translate(self.path, exc) from exc

    # -- reads -------------------------------------------------------------------------------

    def data_version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def max_message_rowid(self) -> int:
        return self.conn.execute("SELECT coalesce(max(ROWID), 0) FROM message").fetchone()[0]

    def message_rowid_high_water(self) -> int:
        """The highest ROWID the message table ever gave out: AUTOINCREMENT's sequence survives deleting the
        newest rows (max(ROWID) does not); only a rebuilt database starts it lower."""
        highest = self.max_message_rowid()
        try:
            row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'message'").fetchone()
        except sqlite3.OperationalError:  # no AUTOINCREMENT table in this schema
            return highest
        return max(highest, row[0] if row and row[0] is not None else 0)

    def count_messages(self) -> int:
        return self.conn.execute("SELECT count(*) FROM message").fetchone()[0]

    def handles(self) -> list[tuple]:
        return list(self._query(f"SELECT {self._select('handle', 'h', HANDLE_COLUMNS)} FROM handle h ORDER BY h.ROWID"))

    def chats(self) -> list[tuple]:
        select = self._select("chat", "c", CHAT_COLUMNS).replace(
            "c.service_name" if self.capabilities.has("chat", "service_name") else "NULL AS service_name",
            f"{self.capabilities.chat_service_sql('c')} AS service_name")
        return list(self._query(f"SELECT {select} FROM chat c ORDER BY c.ROWID"))

    def chat_handles(self) -> list[tuple[int, int]]:
        if not self.columns["chat_handle_join"]:
            return []
        return list(self._query("SELECT chat_id, handle_id FROM chat_handle_join ORDER BY chat_id, handle_id"))

    def messages(self, *, after_rowid: int = 0, rowids: list[int] | None = None) -> Iterator[tuple]:
        """Messages (and tapback rows) with their chat's ROWID appended as the last field.

        A message in several chats (it happens after chat merges) is read once, with its lowest chat.
        """
        chat_join = (
            "(SELECT min(cmj.chat_id) FROM chat_message_join cmj WHERE cmj.message_id = m.ROWID)"
            if self.columns["chat_message_join"] else "NULL"
        )
        where = "m.ROWID > ?"
        params: tuple = (after_rowid,)
        if rowids is not None:
            where = f"m.ROWID IN ({','.join('?' * len(rowids))})"
            params = tuple(rowids)
        sql = (
            f"SELECT {self._select('message', 'm', MESSAGE_COLUMNS)}, {chat_join} AS chat_rowid "
            f"FROM message m WHERE {where} ORDER BY m.ROWID"
        )
        return self._query(sql, params)

    def attachments(self, *, message_rowids: list[int] | None = None) -> Iterator[tuple]:
        """Attachments with the ROWID of their message appended (NULL for orphans)."""
        if not self.columns["attachment"]:
            return iter(())
        join = "LEFT JOIN message_attachment_join j ON j.attachment_id = a.ROWID" if self.columns[
            "message_attachment_join"] else ""
        message_col = "j.message_id" if join else "NULL"
        where = ""
        params: tuple[int, ...] = ()
        if message_rowids is not None:
            if not join:
                return iter(())
            where = f"WHERE j.message_id IN ({','.join('?' * len(message_rowids))})"
            params = tuple(message_rowids)
        sql = (
            f"SELECT {self._select('attachment', 'a', ATTACHMENT_COLUMNS)}, {message_col} AS message_rowid "
            f"FROM attachment a {join} {where} ORDER BY a.ROWID"
        )
        return self._query(sql, params)

    def deleted_messages_after(self, rowid: int) -> list[tuple[int, str]]:
        """(ROWID, guid) of deletions Messages recorded after `rowid` (deleted_messages is append-only)."""
        if "guid" not in self.columns["deleted_messages"]:
            return []
        return list(self._query("SELECT ROWID, guid FROM deleted_messages WHERE ROWID > ? ORDER BY ROWID", (rowid,)))
