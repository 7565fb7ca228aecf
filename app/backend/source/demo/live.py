"""A writer that keeps changing a generated chat.db the way Messages.app does.

For live-sync tests, benchmarks and `chatstats demo-source --live`. Every change is its own short
write transaction on a WAL-mode connection, as Messages writes: new messages (appended with
increasing ROWIDs, into an existing chat, text NULL and only attributedBody for ~90% of them),
tapbacks, edits, unsends, reads, deletions, checkpoints and WAL-file replacements. The rows are
built with the generator's vocabulary (rows.py, bodies.py, content.py). Dates come from the
injected clock; the same seed, clock and starting database give the same rows.

Only demo sources are written: the user's real ~/Library/Messages/chat.db is refused.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.errors import InvalidRequest, NotFound
from backend.source.attributed_body import OBJECT_REPLACEMENT, decode_attributed_body, decode_body_text
from backend.source.demo import live_sql as sql
from backend.source.demo.bodies import PLAIN_SUMMARY_INFO, BodyEncoder, edited_summary, retracted_summary, utf16_len
from backend.source.demo.content import Corpus
from backend.source.demo.live_sql import LiveChat
from backend.source.demo.people import FIRST_NAMES
from backend.source.demo.plan import new_guid
from backend.source.demo.rows import (
    DEFAULT_ROW,
    TAPBACK_EMOJI,
    TAPBACK_REMOVALS,
    TAPBACK_VERBS,
    TAPBACK_WEIGHTS,
    C,
)
from backend.source.summary_info import decode_summary_info

log = logging.getLogger(__name__)

APPLE_EPOCH_UNIX = 978_307_200  # 2001-01-01T00:00:00Z
NS = 1_000_000_000
DAY_NS = 86_400 * NS
# What step() does, with its share: mostly new messages, some reactions, reads and edits,
# rarely a checkpoint or a new WAL file.
ACTIONS: tuple[tuple[str, float], ...] = (
    ("message", 0.70), ("read", 0.10), ("tapback", 0.07), ("tapback_removal", 0.02), ("edit", 0.03),
    ("unsend", 0.01), ("delete", 0.01), ("burst", 0.03), ("checkpoint", 0.02), ("replace_wal", 0.01),
)
EDIT_ENDINGS = (" actually", "!!", " tomorrow", " 🙂", " lol", " (for real)")
_URL = re.compile(r"https?://\S+")


class DemoChatNotFound(NotFound):
    code = "demo_chat_not_found"


class DemoMessageNotFound(NotFound):
    code = "demo_message_not_found"


class LiveSourceWriter:
    """Writes to an existing generated chat.db like Messages: WAL mode, short write transactions, new rows
    appended with increasing ROWIDs, realistic columns (text NULL + attributedBody for ~90%, chat_message_join,
    message_summary_info, dates in ns since 2001 = now)."""

    def __init__(self, chat_db: Path, *, seed: int = 1, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(chat_db)
        if not self.path.is_file():
            raise InvalidRequest(f"{self.path} does not exist: make one with `chatstats demo-source`",
                                 chat_db=str(self.path))
        if self.path.resolve() == (Path.home() / "Library" / "Messages" / "chat.db").resolve():
            raise InvalidRequest("the live writer only writes demo sources, never the real Messages database",
                                 chat_db=str(self.path))
        self._clock = clock
        self._corpus = Corpus()
        self._bodies = BodyEncoder()
        self._old_wal_fd: int | None = None
        self._conn = sql.connect(self.path)
        # Not the generator's stream (it would repeat its guids), and a new one for each run on the
        # same file: the ROWID sequence has moved on when an earlier run wrote anything.
        self._rng = random.Random(f"live:{seed}:{sql.get_rowid_sequence(self._conn)}")
        self._chats = sql.list_chats(self._conn)
        if not self._chats:
            self._conn.close()
            raise InvalidRequest(f"{self.path} has no chats to write into", chat_db=str(self.path))
        self._by_guid = {chat.guid: chat for chat in self._chats}
        self._by_rowid = {chat.rowid: chat for chat in self._chats}
        topics = self._corpus.topic_names
        self._names = {c.rowid: tuple(self._rng.sample(FIRST_NAMES, 3)) for c in self._chats}
        self._topics = {c.rowid: topics[self._rng.randrange(len(topics))] for c in self._chats}
        self._last_guid: dict[int, str | None] = {}

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]  # closed: nothing runs after close()
        self._release_old_wal()

    def __enter__(self) -> LiveSourceWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def chat_guids(self) -> list[str]:
        return [chat.guid for chat in self._chats]

    # --- new rows ---------------------------------------------------------------------------
    def write_message(self, *, chat_guid: str | None = None, text: str | None = None, from_me: bool | None = None,
                      at: float | None = None) -> str:
        """Commits one new message; returns its guid. `at` (unix seconds) backdates it."""
        chat = self._chat(chat_guid)
        with self._write():
            return self._insert_text(chat, text=text, from_me=from_me, at=at)

    def write_burst(self, count: int, *, chat_guid: str | None = None, at: float | None = None,
                    spacing_s: float = 1.0) -> list[str]:
        """`count` messages in ONE transaction (an iCloud sync), `spacing_s` apart from `at` (unix
        seconds; by default ending now). Without `chat_guid` each goes into a random chat."""
        if count < 0:
            raise InvalidRequest("a burst needs count >= 0", count=count)
        start = at if at is not None else self._clock() - (count - 1) * spacing_s
        fixed = self._chat(chat_guid) if chat_guid is not None else None
        with self._write():
            return [self._insert_text(fixed or self._random_chat(), text=None, from_me=None, at=start + i * spacing_s)
                    for i in range(count)]

    def add_tapback(self, target_guid: str, *, kind: int = 2000, from_me: bool = False,
                    emoji: str | None = None) -> str:
        """A tapback row on part 0 of `target_guid`: 2000-2006 adds one, 3000-3006 removes one."""
        if not (2000 <= kind <= 2006 or 3000 <= kind <= 3006):
            raise InvalidRequest("tapback kind must be 2000-2006 (add) or 3000-3006 (remove)", kind=kind)
        with self._write():
            return self._insert_tapback(self._message(target_guid), kind, from_me, emoji)

    # --- changes to existing rows -----------------------------------------------------------
    def edit_message(self, guid: str, new_text: str) -> None:
        """date_edited, message_summary_info with every earlier version, the new attributedBody."""
        with self._write():
            row = self._message(guid)
            if row["date_retracted"]:
                raise InvalidRequest("an unsent message cannot be edited", guid=guid)
            old_text = _current_text(row) or ""
            info = decode_summary_info(row["message_summary_info"])
            versions = [(v.text, v.edited_at_apple_seconds) for v in info.edited_parts.get(0, ())]
            if not versions or any(text is None or when is None for text, when in versions):
                versions = [(old_text, round(row["date"] / NS, 6))]
            now = self._clock()
            versions.append((new_text, round(now - APPLE_EPOCH_UNIX, 6)))
            values = {"date_edited": _ns(now), "message_summary_info": edited_summary(versions),  # type: ignore[arg-type]  # no None left (checked)
                      "attributedBody": self._bodies.plain(new_text)}
            if row["text"] is not None:
                values["text"] = new_text
            sql.update_message(self._conn, guid=guid, values=values)
        log.debug("live: edited %s", guid)

    def unsend_message(self, guid: str) -> None:
        """date_retracted (+date_edited), text and attributedBody NULL, every part retracted."""
        with self._write():
            row = self._message(guid)
            ranges = _part_ranges(row)
            now_ns = _ns(self._clock())
            sql.update_message(self._conn, guid=guid, values={
                "date_retracted": now_ns, "date_edited": now_ns, "text": None, "attributedBody": None,
                "message_summary_info": retracted_summary(ranges, sorted(ranges)),
            })
        log.debug("live: unsent %s", guid)

    def mark_read(self, guid: str) -> None:
        with self._write():
            row = self._message(guid)
            now_ns = _ns(self._clock())
            sql.update_message(self._conn, guid=guid, values={"is_read": 1, "date_read": now_ns})
            if row["chat_id"] is not None and not row["is_from_me"]:
                sql.update_chat_last_read(self._conn, chat_id=row["chat_id"], read_ns=now_ns)
        log.debug("live: read %s", guid)

    def delete_message(self, guid: str) -> None:
        """The row goes; Apple's triggers add its guid to deleted_messages."""
        with self._write():
            row = self._message(guid)
            sql.delete_message(self._conn, rowid=row["ROWID"])
        if row["chat_id"] is not None:
            self._last_guid.pop(row["chat_id"], None)
        log.debug("live: deleted %s", guid)

    # --- the WAL file -----------------------------------------------------------------------
    def checkpoint(self) -> None:
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def replace_wal(self) -> None:
        """Close and reopen the connection: when no one else has the database open, SQLite checkpoints
        and deletes chat.db-wal, and the next write creates a new file. The old file stays open here
        until then, so the new one cannot get the old inode number back (ext4 reuses them at once)."""
        wal = self.path.with_name(self.path.name + "-wal")
        if self._old_wal_fd is None and wal.exists():
            try:
                self._old_wal_fd = os.open(wal, os.O_RDONLY)
            except FileNotFoundError:
                pass
        self._conn.close()
        self._conn = sql.connect(self.path)
        log.debug("live: reopened %s", self.path)

    # --- random actions ---------------------------------------------------------------------
    def step(self, rng_choice: float | None = None) -> dict:
        """One random action, with ACTIONS' mix; `rng_choice` in [0, 1) picks it instead of the seed.
        Returns {"action": ..., "guid": ...} (a burst also gives "guids")."""
        roll = self._rng.random() if rng_choice is None else rng_choice
        action = _pick(roll)
        rng = self._rng
        if action == "checkpoint":
            self.checkpoint()
            return {"action": action, "guid": None}
        if action == "replace_wal":
            self.replace_wal()
            return {"action": action, "guid": None}
        if action == "burst":
            chat = self._random_chat()
            count = rng.randint(3, 12)
            guids = self.write_burst(count, chat_guid=chat.guid, at=self._clock() - rng.uniform(600, 3 * 86_400))
            return {"action": action, "guid": guids[-1], "guids": guids}
        target = self._candidate(action)
        if target is None:
            return {"action": "message", "guid": self.write_message()}
        if action == "read":
            self.mark_read(target)
        elif action == "tapback":
            kind = 2000 + rng.choices(range(7), TAPBACK_WEIGHTS)[0]
            row = self._message(target)
            group = self._by_rowid[row["chat_id"]].is_group
            from_me = not row["is_from_me"] and (not group or rng.random() < 0.4)  # rarely on one's own
            return {"action": action, "guid": self.add_tapback(target, kind=kind, from_me=from_me)}
        elif action == "tapback_removal":
            guid = self._remove_tapback(target)
            return {"action": action, "guid": guid} if guid else {"action": "message", "guid": self.write_message()}
        elif action == "edit":
            row = self._message(target)
            self.edit_message(target, (_current_text(row) or "") + EDIT_ENDINGS[rng.randrange(len(EDIT_ENDINGS))])
        elif action == "unsend":
            self.unsend_message(target)
        elif action == "delete":
            self.delete_message(target)
        return {"action": action, "guid": target}

    def _candidate(self, action: str) -> str | None:
        kind = {"read": "unread", "tapback": "text", "tapback_removal": "tapback", "edit": "editable",
                "unsend": "editable", "delete": "text"}.get(action)
        if kind is None:
            return None
        guids = sql.list_recent_guids(self._conn, kind=kind)
        return guids[self._rng.randrange(min(8, len(guids)))] if guids else None

    def _remove_tapback(self, tapback_guid: str) -> str | None:
        """Takes back an added tapback (same sender, same target); None when its target is gone."""
        tapback = self._message(tapback_guid)
        target_guid = (tapback["associated_message_guid"] or "").rsplit("/", 1)[-1].removeprefix("bp:")
        target = sql.get_message(self._conn, guid=target_guid)
        if target is None or target["chat_id"] is None:
            return None
        with self._write():
            return self._insert_tapback(target, 3000 + tapback["associated_message_type"] % 1000,
                                        bool(tapback["is_from_me"]), tapback["associated_message_emoji"],
                                        handle=tapback["handle_id"])

    # --- rows -------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[None]:
        """One short write transaction; once it commits, the WAL file replace_wal() held is let go."""
        with sql.write_transaction(self._conn):
            yield
        self._release_old_wal()

    def _release_old_wal(self) -> None:
        if self._old_wal_fd is not None:
            os.close(self._old_wal_fd)
            self._old_wal_fd = None

    def _chat(self, chat_guid: str | None) -> LiveChat:
        if chat_guid is None:
            return self._random_chat()
        chat = self._by_guid.get(chat_guid)
        if chat is None:
            raise DemoChatNotFound(f"no chat {chat_guid} in {self.path}", chat_guid=chat_guid)
        return chat

    def _random_chat(self) -> LiveChat:
        return self._chats[self._rng.randrange(len(self._chats))]

    def _message(self, guid: str) -> dict:
        row = sql.get_message(self._conn, guid=guid)
        if row is None:
            raise DemoMessageNotFound(f"no message {guid} in {self.path}", guid=guid)
        return row

    def _sender(self, chat: LiveChat, from_me: bool, exclude: int | None = None) -> int:
        """handle_id of the row: the other person in a 1:1 chat (either direction), 0 for me in a group."""
        if not chat.members:
            return 0
        if not chat.is_group:
            return chat.members[0]
        if from_me:
            return 0
        others = [h for h in chat.members if h != exclude] or list(chat.members)
        return others[self._rng.randrange(len(others))]

    def _base(self, chat: LiveChat, when: float, from_me: bool, handle: int) -> list:
        rng = self._rng
        ns = _ns(when)
        row = DEFAULT_ROW.copy()
        row[C["ROWID"]] = None  # AUTOINCREMENT: always past every ROWID ever used
        row[C["guid"]] = new_guid(rng)
        row[C["handle_id"]] = handle
        row[C["service"]] = chat.service
        row[C["account"]] = chat.account
        row[C["account_guid"]] = chat.account_guid
        row[C["date"]] = ns
        row[C["is_from_me"]] = int(from_me)
        row[C["is_finished"]] = row[C["is_delivered"]] = 1
        row[C["cache_roomnames"]] = chat.room_name
        row[C["destination_caller_id"]] = chat.my_address
        row[C["message_summary_info"]] = PLAIN_SUMMARY_INFO if chat.service != "SMS" else None
        row[C["part_count"]] = 1
        if from_me:
            row[C["is_sent"]] = 1
            if chat.service != "SMS":
                row[C["date_delivered"]] = ns + rng.randrange(200_000_000, 2 * NS)
        elif ns < _ns(self._clock()) - DAY_NS:  # backfilled from iCloud: read long ago
            row[C["is_read"]] = 1
            row[C["date_read"]] = ns + int(rng.expovariate(1 / 600.0) * NS) + NS
        return row

    def _insert_text(self, chat: LiveChat, *, text: str | None, from_me: bool | None, at: float | None) -> str:
        rng = self._rng
        if from_me is None:
            from_me = not chat.is_shortcode and rng.random() < 0.45
        from_me = from_me or not chat.members
        if text is None:
            if chat.is_shortcode:
                text = self._corpus.one_time_code(rng)
            else:
                text = self._corpus.line(rng, self._topics[chat.rowid], self._names[chat.rowid]).text
        row = self._base(chat, self._clock() if at is None else at, from_me, self._sender(chat, from_me))
        links = [(utf16_len(text[: m.start()]), utf16_len(m.group()), m.group()) for m in _URL.finditer(text)]
        if links:
            row[C["was_data_detected"]] = row[C["has_dd_results"]] = 1
        row[C["reply_to_guid"]] = self._last_in_chat(chat)
        row[C["attributedBody"]] = self._bodies.rich(text, links=links or None)
        if rng.random() < 0.1:
            row[C["text"]] = text  # most rows since Ventura keep only attributedBody
        return self._insert(chat, row, text)

    def _insert_tapback(self, target: dict, kind_code: int, from_me: bool, emoji: str | None,
                        handle: int | None = None) -> str:
        chat = self._by_rowid.get(target["chat_id"])
        if chat is None:
            raise InvalidRequest("the target message is in no chat", guid=target["guid"])
        kind = kind_code % 1000
        if kind == 6:
            emoji = emoji or TAPBACK_EMOJI[self._rng.randrange(len(TAPBACK_EMOJI))]
        else:
            emoji = None
        if handle is None and kind_code >= 3000:  # a removal comes from whoever added the tapback
            added = sql.get_tapback_sender(self._conn, target_guid=target["guid"], kind_code=kind_code - 1000)
            if added is not None:
                handle, from_me = added
        if handle is None:
            handle = self._sender(chat, from_me, exclude=None if target["is_from_me"] else target["handle_id"])
        target_text = _current_text(target) or ""
        shown = target_text.replace(OBJECT_REPLACEMENT, "").strip()
        quote = f"“{shown}”" if shown else "an attachment"
        if kind_code >= 3000:
            verb = f"Removed {emoji} from" if kind == 6 else TAPBACK_REMOVALS[kind]
        else:
            verb = f"Reacted {emoji} to" if kind == 6 else TAPBACK_VERBS[kind]
        text = f"{verb} {quote}"
        row = self._base(chat, self._clock(), from_me, handle)
        row[C["associated_message_guid"]] = f"p:0/{target['guid']}"
        row[C["associated_message_type"]] = kind_code
        row[C["associated_message_range_location"]] = 0
        row[C["associated_message_range_length"]] = utf16_len(target_text)
        row[C["associated_message_emoji"]] = emoji
        row[C["attributedBody"]] = self._bodies.plain(text)
        if self._rng.random() < 0.1:
            row[C["text"]] = text
        return self._insert(chat, row, text)

    def _insert(self, chat: LiveChat, row: list, text: str) -> str:
        rowid = sql.create_message(self._conn, row=row, chat_id=chat.rowid)
        guid = row[C["guid"]]
        self._last_guid[chat.rowid] = guid
        log.debug("live: message %s (ROWID %d) in chat %s: %r", guid, rowid, chat.guid, text)
        return guid

    def _last_in_chat(self, chat: LiveChat) -> str | None:
        if chat.rowid not in self._last_guid:
            self._last_guid[chat.rowid] = sql.get_last_guid_in_chat(self._conn, chat_id=chat.rowid)
        return self._last_guid[chat.rowid]


def run_live(chat_db: Path, *, rate: float, seed: int = 1, stop: threading.Event | None = None,
             duration_s: float | None = None, on_action: Callable[[dict], None] | None = None) -> int:
    """Calls step() `rate` times per second, evenly spaced, until `stop` is set or `duration_s` has
    passed; returns how many actions it did. A writer that falls behind skips ahead rather than
    catching up in a burst."""
    if rate <= 0:
        raise InvalidRequest("the live writer needs a rate > 0 (actions per second)", rate=rate)
    stop = stop or threading.Event()
    interval = 1.0 / rate
    started = time.monotonic()
    deadline = started + duration_s if duration_s is not None else None
    done = 0
    with LiveSourceWriter(chat_db, seed=seed) as writer:
        due = started
        while not stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if now < due:
                stop.wait(min(due, deadline) - now if deadline is not None else due - now)
                continue
            action = writer.step()
            done += 1
            log.debug("live: %s %s", action["action"], action["guid"])
            if on_action is not None:
                on_action(action)
            due = max(due + interval, time.monotonic())  # late: no catching up in a burst
    log.debug("live: %d actions on %s", done, chat_db)
    return done


def _pick(roll: float) -> str:
    total = 0.0
    for action, share in ACTIONS:
        total += share
        if roll < total:
            return action
    return ACTIONS[0][0]


def _ns(unix_seconds: float) -> int:
    return int(round((unix_seconds - APPLE_EPOCH_UNIX) * NS))


def _current_text(row: dict) -> str | None:
    if row["attributedBody"] is not None:
        text = decode_body_text(row["attributedBody"])
        if text is not None:
            return text
    return row["text"]


def _part_ranges(row: dict) -> dict[int, tuple[int, int]]:
    """part -> (start, length) in UTF-16 units of the message as it is now."""
    ranges: dict[int, tuple[int, int]] = {}
    cursor = 0
    if row["attributedBody"] is not None:
        for part in decode_attributed_body(row["attributedBody"]).parts:
            length = utf16_len(part.text)
            ranges.setdefault(part.index, (cursor, length))
            cursor += length
    return ranges or {0: (0, utf16_len(_current_text(row) or ""))}
