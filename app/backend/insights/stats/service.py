"""Exact statistics over the mirror for a period: the overview, people ranked, one person, one chat.

Every function opens one read transaction, asks the repository for aggregates and derives the rest in
`derive`. Results are cached while the mirror's fingerprint stays the same (see `cache`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from backend.db.clock import now_ms
from backend.db.session import session_scope
from backend.insights.exceptions import ChatNotFound, ContactNotFound, InvalidPeriod
from backend.insights.stats import cache, derive, live_overview, repo
from backend.insights.stats.context import Mirror, load_mirror, period_key, zone_name
from backend.insights.stats.period import Period, local_zone
from backend.insights.stats.schemas import (
    ChatStats,
    DrillDown,
    DrillMessage,
    LengthStats,
    MemberShare,
    MessageCounts,
    Overview,
    PeriodOut,
    PersonRank,
    PersonStats,
    ReactedMessage,
    ReactionStats,
    ReplyEdge,
    ResponseTimes,
    StatsBucket,
)
from backend.insights.stats.text import count_emoji, count_words

T = TypeVar("T")
TOP_PEOPLE = 10
TOP_GROUPS = 5
TOP_TERMS = 15
MOST_REACTED = 5


def compute(engine: Engine, key: Hashable, fn: Callable[[Connection, Mirror], T]) -> T:
    """`fn` in one read transaction, cached under `key` while the mirror does not change."""
    zone = local_zone()
    with session_scope(engine) as conn:
        fingerprint = repo.get_fingerprint(conn)
        # the current streak and "last 30 days" move with the clock: an entry lives an hour at most
        full_key = (str(engine.url), zone_name(zone), key, now_ms() // 3_600_000)
        return cache.cached(full_key, fingerprint, lambda: fn(conn, load_mirror(conn, zone)))


def compute_uncached(engine: Engine, fn: Callable[[Connection, Mirror], T]) -> T:
    with session_scope(engine) as conn:
        return fn(conn, load_mirror(conn))


def period_out(period: Period, mirror: Mirror) -> PeriodOut:
    return PeriodOut(label=period.label, preset=period.preset, since_ms=period.since_ms, until_ms=period.until_ms,
                     timezone=zone_name(mirror.zone))


def chat_rows(senders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per chat totals (messages, sent, first, last) from the per-sender rows."""
    chats: dict[int, dict[str, Any]] = {}
    for r in senders:
        c = chats.setdefault(r["chat_id"], {"chat_id": r["chat_id"], "messages": 0, "sent": 0, "first": r["first"],
                                            "last": r["last"]})
        c["messages"] += r["messages"]
        c["sent"] += r["messages"] if r["is_from_me"] else 0
        c["first"], c["last"] = min(c["first"], r["first"]), max(c["last"], r["last"])
    return list(chats.values())


def message_counts(rows: list[dict[str, Any]]) -> MessageCounts:
    total = sum(r["messages"] for r in rows)
    sent = sum(r["sent"] or 0 for r in rows)
    return MessageCounts(total=total, sent=sent, received=total - sent)


def _most_reacted(conn: Connection, period: Period, chat_ids: list[int] | None) -> list[ReactedMessage]:
    return [ReactedMessage(**{**r, "is_from_me": bool(r["is_from_me"])}) for r in repo.list_most_reacted(
        conn, since=period.since_ms, until=period.until_ms, limit=MOST_REACTED, chat_ids=chat_ids)]


def reaction_stats(conn: Connection, period: Period, chat_ids: list[int] | None) -> ReactionStats:
    rows = repo.list_reaction_counts(conn, since=period.since_ms, until=period.until_ms, chat_ids=chat_ids)
    return derive.reactions(rows, _most_reacted(conn, period, chat_ids))


def _lengths(conn: Connection, period: Period, chat_ids: list[int] | None) -> LengthStats:
    sides = {r["is_from_me"]: r for r in repo.get_lengths(conn, since=period.since_ms, until=period.until_ms,
                                                           chat_ids=chat_ids)}

    def avg(side: int) -> float | None:
        row = sides.get(side)
        return round(row["chars"] / row["texts"], 2) if row and row["texts"] else None

    return LengthStats(mine_avg_chars=avg(1), theirs_avg_chars=avg(0))


def hours_of(conn: Connection, mirror: Mirror, period: Period, chat_ids: list[int] | None) -> derive.Hours:
    return derive.Hours(repo.list_hours(conn, local_sql=mirror.local_sql, since=period.since_ms,
                                        until=period.until_ms, chat_ids=chat_ids))


def _openers(conn: Connection, period: Period, chat_ids: list[int] | None) -> tuple[int, int]:
    rows = repo.list_openers(conn, since=period.since_ms, until=period.until_ms, chat_ids=chat_ids)
    me = sum(r["conversations"] for r in rows if r["is_from_me"])
    return me, sum(r["conversations"] for r in rows if not r["is_from_me"])


def rank_people(mirror: Mirror, rows: list[dict[str, Any]], previous: list[dict[str, Any]] | None,
                limit: int | None) -> list[PersonRank]:
    """People by messages in their one-to-one chats (chats of one person's handles added up)."""
    per: dict[int, dict[str, Any]] = {}
    one_to_one_total = 0
    for r in rows:
        person = mirror.partner(r["chat_id"])
        if person is None:
            continue
        one_to_one_total += r["messages"]
        p = per.setdefault(person, {"messages": 0, "sent": 0, "first": r["first"], "last": r["last"], "chats": []})
        p["messages"] += r["messages"]
        p["sent"] += r["sent"] or 0
        p["first"], p["last"] = min(p["first"], r["first"]), max(p["last"], r["last"])
        p["chats"].append(r["chat_id"])
    before: Counter[int] = Counter()
    for r in previous or []:
        if (person := mirror.partner(r["chat_id"])) is not None:
            before[person] += r["messages"]
    ranked = sorted(per.items(), key=lambda kv: (-kv[1]["messages"], -kv[1]["last"], kv[0]))
    out = []
    for contact_id, p in ranked[:limit] if limit is not None else ranked:
        prev = before.get(contact_id, 0) if previous is not None else None
        out.append(PersonRank(
            contact_id=contact_id, name=mirror.name(contact_id), messages=p["messages"], sent=p["sent"],
            received=p["messages"] - p["sent"], share=round(p["messages"] / one_to_one_total, 4),
            first_message_at=p["first"], last_message_at=p["last"], previous_messages=prev,
            trend=round((p["messages"] - prev) / prev, 4) if prev else None, chat_ids=sorted(p["chats"])))
    return out


def _chat_counts(conn: Connection, period: Period | None) -> list[dict[str, Any]] | None:
    if period is None:
        return None
    return repo.list_chat_counts(conn, since=period.since_ms, until=period.until_ms)


def top_people(engine: Engine, period: Period, limit: int = TOP_PEOPLE) -> list[PersonRank]:
    """People ranked by messages exchanged in one-to-one chats, with the trend against the previous period."""
    def run(conn: Connection, mirror: Mirror) -> list[PersonRank]:
        return rank_people(mirror, repo.list_chat_counts(conn, since=period.since_ms, until=period.until_ms),
                           _chat_counts(conn, period.previous()), limit)

    return compute(engine, ("top_people", period_key(period), limit), run)


def count_people(mirror: Mirror, chat_rows: list[dict[str, Any]], senders: list[dict[str, Any]]) -> int:
    people: set[int | None] = {p for r in chat_rows if (p := mirror.partner(r["chat_id"])) is not None}
    people |= {mirror.live(r["sender_contact_id"]) for r in senders
               if not r["is_from_me"] and r["sender_contact_id"] is not None}
    return len(people)


def overview(engine: Engine, period: Period, *, bucket: StatsBucket | None = None,
             limit: int = TOP_PEOPLE) -> Overview:
    """Totals, activity, heatmap, people, groups, streaks, reactions: kept current incrementally (live_overview)."""
    return live_overview.overview_from(live_overview.current_sums(engine, period), period, bucket=bucket,
                                       limit=limit)


def _response_times(rows: list[dict[str, Any]]) -> ResponseTimes:
    mine = [r["gap_ms"] / 1000 for r in rows if r["is_from_me"]]  # seconds, ms precision
    theirs = [r["gap_ms"] / 1000 for r in rows if not r["is_from_me"] and r["prev_from_me"]]
    return ResponseTimes(mine_median_s=derive.median(mine), mine_p90_s=derive.p90(mine), mine_count=len(mine),
                         theirs_median_s=derive.median(theirs), theirs_p90_s=derive.p90(theirs),
                         theirs_count=len(theirs))


def resolve_contact(conn: Connection, mirror: Mirror, contact_id: int) -> int:
    """The live contact behind `contact_id` (a merged contact counts as the one it was merged into)."""
    if repo.get_contact(conn, contact_id=contact_id) is None:
        raise ContactNotFound(f"No contact {contact_id}; GET /api/contacts lists them, and "
                              "GET /api/insights/overview ranks the people you write to.", contact_id=contact_id)
    return mirror.owner.get(contact_id, contact_id)


def person_stats(engine: Engine, contact_id: int, period: Period, *, bucket: StatsBucket | None = None) -> PersonStats:
    def run(conn: Connection, mirror: Mirror) -> PersonStats:
        person = resolve_contact(conn, mirror, contact_id)
        since, until = period.since_ms, period.until_ms
        chat_ids = mirror.chats_with(person)
        rows = repo.list_chat_counts(conn, since=since, until=until, chat_ids=chat_ids)
        groups = mirror.groups_with(person)
        in_groups = sum(r["messages"] for r in repo.list_senders(conn, since=since, until=until, chat_ids=groups)
                        if not r["is_from_me"] and mirror.live(r["sender_contact_id"]) == person)
        # every one-to-one message of the period: from the overview's sums (kept current), not another scan
        sums = live_overview.current_sums(engine, period)
        one_to_one = sum(v[0] for (chat, _, _), v in sums.senders.items() if mirror.partner(chat) is not None)
        counts = message_counts(rows)
        hours = hours_of(conn, mirror, period, chat_ids)
        texts = repo.list_texts(conn, since=since, until=until, chat_ids=chat_ids)
        emoji_mine = count_emoji(text for mine, text in texts if mine)
        emoji_theirs = count_emoji(text for mine, text in texts if not mine)
        return PersonStats(
            period=period_out(period, mirror), contact_id=person, name=mirror.name(person), chat_ids=chat_ids,
            messages=counts, share=round(counts.total / one_to_one, 4) if one_to_one else None,
            group_messages=in_groups, first_message_at=min((r["first"] for r in rows), default=None),
            last_message_at=max((r["last"] for r in rows), default=None),
            initiations=derive.initiations(*_openers(conn, period, chat_ids)),
            response_times=_response_times(repo.list_turn_changes(conn, since=since, until=until, chat_ids=chat_ids)),
            streaks=derive.streaks(hours.days(), today=mirror.today()), late_night_share=hours.late_night_share(),
            length=_lengths(conn, period, chat_ids),
            top_emoji=derive.top(emoji_mine + emoji_theirs, TOP_TERMS),
            top_emoji_mine=derive.top(emoji_mine, TOP_TERMS), top_emoji_theirs=derive.top(emoji_theirs, TOP_TERMS),
            top_words=derive.top(count_words(text for _, text in texts), TOP_TERMS),
            reactions=reaction_stats(conn, period, chat_ids), activity=derive.activity(hours, bucket, mirror.day_ms),
            heatmap=hours.heatmap())

    return compute(engine, ("person", contact_id, period_key(period), bucket), run)


def chat_stats(engine: Engine, chat_id: int, period: Period, *, bucket: StatsBucket | None = None) -> ChatStats:
    """One chat (a group's members' shares, reactions and who replies to whom; a one-to-one chat alike)."""
    def run(conn: Connection, mirror: Mirror) -> ChatStats:
        chat = mirror.chats.get(chat_id)
        if chat is None:
            raise ChatNotFound(f"No chat {chat_id}; GET /api/chats lists them.", chat_id=chat_id)
        since, until, ids = period.since_ms, period.until_ms, [chat_id]
        rows = repo.list_chat_counts(conn, since=since, until=until, chat_ids=ids)
        # members: None is the user; unknown senders (no contact) are left out of the shares' names but counted
        messages: Counter[int | None] = Counter({m: 0 for m in chat.members})
        messages[None] += 0
        for r in repo.list_senders(conn, since=since, until=until, chat_ids=ids):
            if r["is_from_me"]:
                messages[None] += r["messages"]
            elif r["sender_contact_id"] is not None:
                messages[mirror.live(r["sender_contact_id"])] += r["messages"]
        given: Counter[int | None] = Counter()
        received: Counter[int | None] = Counter()
        for r in repo.list_reaction_pairs(conn, since=since, until=until, chat_ids=ids):
            given[None if r["is_from_me"] else mirror.live(r["sender_contact_id"])] += r["reactions"]
            received[None if r["target_is_from_me"] else mirror.live(r["target_contact_id"])] += r["reactions"]
        total = sum(messages.values())
        members = sorted((MemberShare(contact_id=m, name=mirror.name(m), is_me=m is None, messages=n,
                                      share=round(n / total, 4) if total else 0.0, reactions_given=given[m],
                                      reactions_received=received[m]) for m, n in messages.items()),
                         key=lambda s: (-s.messages, s.name.lower()))
        edges: Counter[tuple[int | None, int | None]] = Counter()
        for r in repo.list_turn_changes(conn, since=since, until=until, chat_ids=ids):
            who = None if r["is_from_me"] else mirror.live(r["sender_contact_id"])
            whom = None if r["prev_from_me"] else mirror.live(r["prev_contact_id"])
            edges[(who, whom)] += 1
        hours = hours_of(conn, mirror, period, ids)
        texts = [text for _, text in repo.list_texts(conn, since=since, until=until, chat_ids=ids)]
        return ChatStats(
            period=period_out(period, mirror), chat_id=chat_id, name=mirror.chat_name(chat_id),
            is_group=chat.is_group, messages=message_counts(rows),
            first_message_at=min((r["first"] for r in rows), default=None),
            last_message_at=max((r["last"] for r in rows), default=None),
            members=members, loudest=members[0] if total else None,
            quietest=min(members, key=lambda s: (s.messages, s.name.lower())) if total else None,
            replies=[ReplyEdge(from_contact_id=a, from_name=mirror.name(a), to_contact_id=b, to_name=mirror.name(b),
                               replies=n) for (a, b), n in sorted(edges.items(), key=lambda kv: (-kv[1], str(kv[0])))],
            initiations=derive.initiations(*_openers(conn, period, ids)),
            streaks=derive.streaks(hours.days(), today=mirror.today()),
            top_emoji=derive.top(count_emoji(texts), TOP_TERMS), top_words=derive.top(count_words(texts), TOP_TERMS),
            reactions=reaction_stats(conn, period, ids), activity=derive.activity(hours, bucket, mirror.day_ms),
            heatmap=hours.heatmap())

    return compute(engine, ("chat", chat_id, period_key(period), bucket), run)


def messages_behind(engine: Engine, *, since_ms: int | None, until_ms: int | None, contact_id: int | None = None,
                    chat_id: int | None = None, cell: tuple[int, int] | None = None, limit: int = 100) -> DrillDown:
    """The messages behind a bar, a heatmap cell or a person: in the range, in the person's one-to-one chats
    or the chat, oldest first."""
    if cell is not None and not (0 <= cell[0] <= 6 and 0 <= cell[1] <= 23):
        raise InvalidPeriod("a heatmap cell is a weekday 0-6 (Monday first) and an hour 0-23", cell=list(cell))

    def run(conn: Connection, mirror: Mirror) -> DrillDown:
        chat_ids: list[int] | None = None
        if contact_id is not None:
            chat_ids = mirror.chats_with(resolve_contact(conn, mirror, contact_id))
        if chat_id is not None:
            if chat_id not in mirror.chats:
                raise ChatNotFound(f"No chat {chat_id}; GET /api/chats lists them.", chat_id=chat_id)
            chat_ids = [chat_id] if chat_ids is None else [c for c in chat_ids if c == chat_id]
        rows = repo.list_messages(conn, since=since_ms, until=until_ms, chat_ids=chat_ids, local_sql=mirror.local_sql,
                                  cell=cell, limit=limit + 1)
        return DrillDown(truncated=len(rows) > limit, messages=[
            DrillMessage(message_id=r["message_id"], chat_id=r["chat_id"], chat_name=mirror.chat_name(r["chat_id"]),
                         sent_at=r["sent_at"], is_from_me=bool(r["is_from_me"]), text=r["text"],
                         sender="Me" if r["is_from_me"] else mirror.name(mirror.live(r["sender_contact_id"]))
                         if r["sender_contact_id"] is not None else "Unknown")
            for r in rows[:limit]])

    return compute_uncached(engine, run)
