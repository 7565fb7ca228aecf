"""The overview kept current without recomputing it for each new message.

Its message figures are sums over messages (per chat and sender, per local hour, per opened conversation),
so they are kept as such partial sums. When live sync has only appended messages since (ids above the last
one counted, none deleted, none dated before what its chat already had, no chat, contact or merge change),
the sums of the new rows are added; anything else recomputes. Reactions (a small table) are re-read whenever
they changed. The overview itself is derived from the sums in a few milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from backend.db.clock import now_ms
from backend.db.session import session_scope
from backend.insights.stats import derive, repo
from backend.insights.stats.context import Mirror, load_mirror, period_key, zone_name
from backend.insights.stats.period import Period, local_zone
from backend.insights.stats.schemas import GroupRank, Overview, ReactionStats, StatsBucket

# fingerprint fields (repo.get_fingerprint): which ones an append may change
MAX_ID, VISIBLE_SUM, EDITS, REACTION_ID, ACTIVE_REACTIONS = 0, 1, 2, 3, 4
STRUCTURE = slice(5, None)  # contacts, merges, chats


@dataclass
class Sums:
    fingerprint: tuple[Any, ...]
    mirror: Mirror
    senders: dict[tuple[int, int, int | None], list[int]] = field(default_factory=dict)  # messages, first, last
    hours: dict[int, list[int]] = field(default_factory=dict)  # messages, sent
    openers: dict[tuple[int, int], int] = field(default_factory=dict)
    previous: list[dict[str, Any]] | None = None
    reactions: ReactionStats | None = None
    updates: int = 0  # appends folded in since the last full computation
    derived: dict[Hashable, Overview] = field(default_factory=dict)  # overviews of these sums, by bucket and limit

    def add_senders(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            key = (r["chat_id"], int(r["is_from_me"]), r["sender_contact_id"])
            cell = self.senders.get(key)
            if cell is None:
                self.senders[key] = [r["messages"], r["first"], r["last"]]
            else:
                cell[0] += r["messages"]
                cell[1], cell[2] = min(cell[1], r["first"]), max(cell[2], r["last"])

    def add_hours(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            cell = self.hours.setdefault(int(r["hour"]), [0, 0])
            cell[0] += r["messages"]
            cell[1] += r["sent"] or 0

    def add_openers(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            key = (r["chat_id"], int(r["is_from_me"]))
            self.openers[key] = self.openers.get(key, 0) + r["conversations"]


_lock = threading.Lock()
_sums: dict[Hashable, Sums] = {}


def _reactions(conn: Connection, period: Period) -> ReactionStats:
    from backend.insights.stats.service import reaction_stats  # noqa: PLC0415 - service imports this module

    return reaction_stats(conn, period, None)


def _full(conn: Connection, period: Period, fingerprint: tuple[Any, ...]) -> Sums:
    from backend.insights.stats.service import _chat_counts  # noqa: PLC0415 - service imports this module

    mirror = load_mirror(conn, local_zone())
    sums = Sums(fingerprint=fingerprint, mirror=mirror)
    since, until = period.since_ms, period.until_ms
    sums.add_senders(repo.list_senders(conn, since=since, until=until))
    sums.add_hours(repo.list_hours(conn, local_sql=mirror.local_sql, since=since, until=until))
    sums.add_openers(repo.list_openers(conn, since=since, until=until))
    sums.previous = _chat_counts(conn, period.previous())
    sums.reactions = _reactions(conn, period)
    return sums


def _appendable(conn: Connection, old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    if old[STRUCTURE] != new[STRUCTURE] or old[EDITS] != new[EDITS] or (new[MAX_ID] or 0) < (old[MAX_ID] or 0):
        return False
    appended = repo.get_appended(conn, after_id=old[MAX_ID] or 0)
    return appended["backdated"] == 0 and (new[VISIBLE_SUM] or 0) - (old[VISIBLE_SUM] or 0) == appended["live_rows"]


def _append(conn: Connection, sums: Sums, period: Period, fingerprint: tuple[Any, ...]) -> None:
    after = sums.fingerprint[MAX_ID] or 0
    since, until = period.since_ms, period.until_ms
    if (fingerprint[MAX_ID] or 0) > after:
        bounds = repo.get_bounds(conn)
        sums.mirror.first, sums.mirror.last = bounds["first"], bounds["last"]
        sums.add_senders(repo.list_senders(conn, since=since, until=until, after_id=after))
        sums.add_hours(repo.list_hours(conn, local_sql=sums.mirror.local_sql, since=since, until=until,
                                       after_id=after))
        sums.add_openers(repo.list_new_openers(conn, after_id=after, since=since, until=until))
    if fingerprint[REACTION_ID:ACTIVE_REACTIONS + 1] != sums.fingerprint[REACTION_ID:ACTIVE_REACTIONS + 1]:
        sums.reactions = _reactions(conn, period)  # a new message has none until a reaction row changes
    sums.fingerprint = fingerprint
    sums.updates += 1
    sums.derived.clear()


def current_sums(engine: Engine, period: Period) -> Sums:
    """The period's sums, brought up to date incrementally when the mirror only grew."""
    zone = local_zone()
    key = (str(engine.url), zone_name(zone), period_key(period), period.label)
    with session_scope(engine) as conn:
        fingerprint = repo.get_fingerprint(conn)
        with _lock:
            sums = _sums.get(key)
            if sums is not None and sums.fingerprint == fingerprint and sums.mirror.zone == zone:
                return sums
            if sums is not None and sums.mirror.zone == zone and _appendable(conn, sums.fingerprint, fingerprint):
                _append(conn, sums, period, fingerprint)
                return sums
            _sums[key] = sums = _full(conn, period, fingerprint)
            return sums


def overview_from(sums: Sums, period: Period, *, bucket: StatsBucket | None, limit: int) -> Overview:
    """The overview of these sums (kept until they change, or the hour does: streaks and "today" move)."""
    key = (bucket, limit, now_ms() // 3_600_000)
    with _lock:
        hit = sums.derived.get(key)
    if hit is None:
        hit = _derive(sums, period, bucket=bucket, limit=limit)
        with _lock:
            sums.derived[key] = hit
    return hit


def _derive(sums: Sums, period: Period, *, bucket: StatsBucket | None, limit: int) -> Overview:
    from backend.insights.stats.service import (  # noqa: PLC0415 - service imports this module
        TOP_GROUPS,
        chat_rows,
        count_people,
        message_counts,
        period_out,
        rank_people,
    )

    mirror = sums.mirror
    senders = [{"chat_id": c, "is_from_me": f, "sender_contact_id": s, "messages": v[0], "first": v[1],
                "last": v[2]} for (c, f, s), v in sums.senders.items()]
    per_chat = chat_rows(senders)
    hours = derive.Hours({"hour": h, "messages": v[0], "sent": v[1]} for h, v in sums.hours.items())
    groups = sorted((r for r in per_chat if mirror.chats.get(r["chat_id"]) and mirror.chats[r["chat_id"]].is_group),
                    key=lambda r: (-r["messages"], r["chat_id"]))
    me = sum(n for (_, from_me), n in sums.openers.items() if from_me)
    them = sum(n for (_, from_me), n in sums.openers.items() if not from_me)
    return Overview(
        period=period_out(period, mirror), messages=message_counts(per_chat),
        reactions=sums.reactions or ReactionStats(), chats=len(per_chat), group_chats=len(groups),
        people=count_people(mirror, per_chat, senders),
        first_message_at=min((r["first"] for r in per_chat), default=None),
        last_message_at=max((r["last"] for r in per_chat), default=None),
        top_people=rank_people(mirror, per_chat, sums.previous, limit),
        top_groups=[GroupRank(chat_id=r["chat_id"], name=mirror.chat_name(r["chat_id"]), messages=r["messages"],
                              sent=r["sent"] or 0, members=len(mirror.chats[r["chat_id"]].members))
                    for r in groups[:TOP_GROUPS]],
        activity=derive.activity(hours, bucket, mirror.day_ms), heatmap=hours.heatmap(),
        streaks=derive.streaks(hours.days(), today=mirror.today()), initiations=derive.initiations(me, them),
        late_night_share=hours.late_night_share())


def clear() -> None:
    with _lock:
        _sums.clear()
