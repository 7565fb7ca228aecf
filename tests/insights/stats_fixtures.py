"""A small mirror written by hand, whose every statistic is worked out in the tests that use it.

Times are New York wall-clock times (the tests run with TZ=America/New_York), so local days, hours and the
year boundary differ from UTC. Conversations are split where a gap exceeds 90 minutes, as the mirror does.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import tzlocal
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings
from backend.insights.stats import cache

ZONE = ZoneInfo("America/New_York")
GAP_MS = 90 * 60 * 1000
TOKEN = "test-token-insights-stats-0123456789"
ME = "me"  # the user as a sender; None: a sender the mirror could not name

# contacts: id -> (name, merged_into)
CONTACTS = {1: ("Ann", None), 2: ("Bob", None), 3: ("Bob (old number)", 2), 4: ("Cat", None)}
# chats: id -> (is_group, display name, participants)
CHATS = {1: (False, None, [1]), 2: (False, None, [2]), 3: (False, None, [3]), 4: (True, "Trip", [1, 2, 4]),
         5: (False, None, [])}  # 5: a one-to-one chat whose contact was deleted

# (chat, local time, sender contact or ME, text); tapbacks are reactions, not rows here
MESSAGES = [
    (1, "2025-03-10 09:00", 1, "Morning! ☕☕"),
    (1, "2025-03-10 09:02", 1, "coffee later?"),
    (1, "2025-03-10 09:05", ME, "yes coffee 👍"),
    (1, "2025-03-10 09:20", 1, "great"),
    (1, "2025-03-11 23:30", ME, "night owl 🦉"),
    (1, "2025-03-12 00:10", 1, "still up"),
    (1, "2025-03-12 12:00", ME, "lunch?"),
    (1, "2025-03-12 15:00", 1, "sure"),
    (2, "2025-05-01 10:00", ME, "hi bob"),
    (2, "2025-05-01 10:10", 2, "hey 😂"),
    (3, "2024-12-31 23:00", 3, "happy new year"),
    (3, "2025-01-01 00:20", ME, "you too 🎉"),
    (4, "2025-06-01 18:00", 1, "plans?"),
    (4, "2025-06-01 18:01", 2, "beach"),
    (4, "2025-06-01 18:02", 4, "yes"),
    (4, "2025-06-01 18:03", 4, "🏖️"),
    (4, "2025-06-01 18:05", ME, "ok"),
    (4, "2025-06-01 18:06", 1, "👍"),
    (5, "2025-07-01 08:00", None, "from a deleted contact"),  # its sender's contact row is gone
]
# rows that are not messages: a deleted message and a group rename
HIDDEN = [(1, "2025-03-10 09:03", 1, "oops", "message", True), (4, "2025-06-01 17:00", ME, None, "rename", False)]
# (target message index, reactor contact or ME, kind, emoji, active, local time)
REACTIONS = [
    (3, ME, "love", "", True, "2025-03-10 09:21"),
    (2, 1, "laugh", "", True, "2025-03-10 09:06"),
    (8, 2, "emoji", "🔥", True, "2025-05-01 10:11"),
    (16, 4, "like", "", False, "2025-06-01 18:07"),  # removed: not counted
    (12, 4, "like", "", True, "2025-06-01 18:08"),  # on Ann's message: neither given nor received by the user
]


def local_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).timestamp() * 1000)


@dataclass
class Mirror:
    path: str
    message_ids: list[int] = field(default_factory=list)
    conn: sqlite3.Connection | None = None

    def add_message(self, chat_id: int, when: str, sender: int | str | None, text: str | None) -> int:
        """A new message, placed in its chat's last conversation or a new one (what live sync does)."""
        assert self.conn is not None
        at = local_ms(when)
        last = self.conn.execute("SELECT id, last_message_at FROM conversations WHERE chat_id = ? "
                                 "ORDER BY last_message_at DESC LIMIT 1", (chat_id,)).fetchone()
        if last and 0 <= at - last[1] <= GAP_MS:
            conversation_id = last[0]
            self.conn.execute("UPDATE conversations SET last_message_at = ?, message_count = message_count + 1 "
                              "WHERE id = ?", (at, conversation_id))
        else:
            conversation_id = self.conn.execute(
                "INSERT INTO conversations (chat_id, started_at, last_message_at, message_count, state, updated_at) "
                "VALUES (?, ?, ?, 1, 'historic', ?)", (chat_id, at, at, at)).lastrowid
        message_id = _insert_message(self.conn, chat_id, at, sender, text, "message", False, conversation_id)
        self.conn.execute("UPDATE chats SET message_count = message_count + 1, last_message_at = ? WHERE id = ?",
                          (at, chat_id))
        self.conn.commit()
        return message_id


def _insert_message(conn: sqlite3.Connection, chat_id: int, at: int, sender: int | str | None, text: str | None,
                    kind: str, deleted: bool, conversation_id: int | None) -> int:
    guid = f"g-{chat_id}-{at}-{kind}-{conn.execute('SELECT count(*) FROM messages').fetchone()[0]}"
    return conn.execute(
        "INSERT INTO messages (guid, chat_id, conversation_id, sender_contact_id, is_from_me, sent_at, text, kind, "
        "deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guid, chat_id, conversation_id, None if sender == ME else sender, int(sender == ME), at, text, kind,
         at if deleted else None)).lastrowid


def write_mirror(path: str) -> Mirror:
    conn = sqlite3.connect(path)
    now = int(time.time() * 1000)
    for cid, (name, merged) in CONTACTS.items():
        conn.execute("INSERT INTO contacts (id, contact_key, display_name, merged_into_id, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (cid, f"k{cid}", name, merged, now, now))
    for chat_id, (is_group, name, members) in CHATS.items():
        conn.execute("INSERT INTO chats (id, chat_key, is_group, display_name, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (chat_id, f"c{chat_id}", int(is_group), name, now, now))
        conn.executemany("INSERT INTO chat_participants (chat_id, contact_id) VALUES (?, ?)",
                         [(chat_id, m) for m in members])
    conn.commit()
    mirror = Mirror(path=path, message_ids=[0] * len(MESSAGES), conn=conn)
    for i in sorted(range(len(MESSAGES)), key=lambda i: local_ms(MESSAGES[i][1])):
        mirror.message_ids[i] = mirror.add_message(*MESSAGES[i])
    for chat_id, when, sender, text, kind, deleted in HIDDEN:
        _insert_message(conn, chat_id, local_ms(when), sender, text, kind, deleted, None)
    for n, (target, reactor, kind, emoji, active, when) in enumerate(REACTIONS):
        conn.execute(
            "INSERT INTO reactions (target_guid, message_id, sender_key, sender_contact_id, is_from_me, kind, emoji, "
            "source_guid, reacted_at, is_active) VALUES ((SELECT guid FROM messages WHERE id = ?), ?, ?, ?, ?, ?, ?, "
            "?, ?, ?)", (mirror.message_ids[target], mirror.message_ids[target], f"s{reactor}",
                         None if reactor == ME else reactor, int(reactor == ME), kind, emoji, f"r{n}", local_ms(when),
                         int(active)))
    conn.commit()
    return mirror


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    tzlocal.reload_localzone()
    cache.clear()
    yield
    monkeypatch.undo()
    time.tzset()
    tzlocal.reload_localzone()
    cache.clear()


@pytest.fixture
def small(migrated_engine, new_york) -> Iterator[Mirror]:
    mirror = write_mirror(str(get_settings().central_db_path))
    yield mirror
    assert mirror.conn is not None
    mirror.conn.close()


@pytest.fixture
def empty(migrated_engine, new_york) -> None:
    return None


@pytest.fixture
def client(migrated_engine) -> Iterator[TestClient]:
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c
