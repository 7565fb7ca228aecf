"""What every statistic needs to know about the mirror: who each contact is (merge chains followed to the live
contact), which person a one-to-one chat is with, the chats' names, and local time as SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from sqlalchemy import Connection

from backend.db.clock import now_ms
from backend.insights.stats import repo
from backend.insights.stats.local_time import DAY_MS, local_ms_sql, offset_ms
from backend.insights.stats.period import Period, local_midnight_ms, local_zone


@dataclass
class ChatInfo:
    chat_id: int
    is_group: bool
    display_name: str | None
    members: list[int]  # live contact ids, sorted


@dataclass
class Mirror:
    zone: tzinfo
    first: int | None  # first and last visible message of the whole mirror
    last: int | None
    owner: dict[int, int] = field(default_factory=dict)  # contact id -> live contact id
    names: dict[int, str] = field(default_factory=dict)  # live contact id -> name
    chats: dict[int, ChatInfo] = field(default_factory=dict)

    @property
    def local_sql(self) -> str:
        lo = self.first if self.first is not None else now_ms()
        hi = max(self.last if self.last is not None else lo, now_ms())
        return local_ms_sql("m.sent_at", self.zone, lo, hi)

    def today(self) -> int:
        """Today's local day number."""
        now = now_ms()
        return (now + offset_ms(self.zone, now)) // DAY_MS

    def day_ms(self, day: str) -> int:
        """UTC ms of local midnight starting the ISO date `day`."""
        return local_midnight_ms(date.fromisoformat(day), self.zone)

    def live(self, contact_id: int | None) -> int | None:
        return self.owner.get(contact_id, contact_id) if contact_id is not None else None

    def name(self, contact_id: int | None) -> str:
        return "Me" if contact_id is None else self.names.get(contact_id, f"Contact {contact_id}")

    def partner(self, chat_id: int) -> int | None:
        """The person of a one-to-one chat (None for groups and chats with nobody known)."""
        chat = self.chats.get(chat_id)
        return chat.members[0] if chat and not chat.is_group and chat.members else None

    def chats_with(self, contact_id: int) -> list[int]:
        """One-to-one chats with the person (every handle of theirs, merged)."""
        return sorted(c.chat_id for c in self.chats.values() if not c.is_group and c.members[:1] == [contact_id])

    def groups_with(self, contact_id: int) -> list[int]:
        return sorted(c.chat_id for c in self.chats.values() if c.is_group and contact_id in c.members)

    def chat_name(self, chat_id: int) -> str:
        chat = self.chats.get(chat_id)
        if chat is None:
            return f"Chat {chat_id}"
        if chat.display_name:
            return chat.display_name
        return ", ".join(sorted((self.name(m) for m in chat.members), key=str.lower)) or "Unknown"


def load_mirror(conn: Connection, zone: tzinfo | None = None) -> Mirror:
    bounds = repo.get_bounds(conn)
    mirror = Mirror(zone=zone or local_zone(), first=bounds["first"], last=bounds["last"])
    for row in repo.list_owners(conn):
        mirror.owner[row["member_id"]] = row["live_id"]
        mirror.names[row["live_id"]] = row["name"] or f"Contact {row['live_id']}"
    for row in repo.list_chats(conn):
        stored = [int(x) for x in (row["members"] or "").split(",") if x]
        members = sorted({mirror.owner.get(m, m) for m in stored})
        mirror.chats[row["chat_id"]] = ChatInfo(row["chat_id"], bool(row["is_group"]), row["display_name"], members)
    return mirror


def period_key(period: Period) -> tuple[int | None, int | None]:
    return (period.since_ms, period.until_ms)


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or datetime.now(zone).tzname() or "local")
