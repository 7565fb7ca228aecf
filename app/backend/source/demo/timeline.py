"""When messages happen: sessions of messages per chat, laid on a daily rhythm.

A session is a burst of messages seconds-to-minutes apart, sometimes with a pause of 30-85
minutes inside it; sessions of one chat are always more than 90 minutes apart, so the 90-minute
conversation split finds them again. Times are float seconds since 2001-01-01 UTC.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass

from backend.source.demo.plan import ChatPlan

DAY = 86_400.0
SPAN_DAYS = 730
SESSION_GAP_MIN = 91 * 60.0  # sessions of a chat start more than 90 minutes after the last ended
UTC_OFFSET = -8 * 3_600.0  # the user's clock (US Pacific) for the daily rhythm
# How likely a conversation starts in each hour of the user's day.
HOUR_WEIGHTS = (0.3, 0.15, 0.05, 0.03, 0.02, 0.05, 0.3, 0.8, 1.2, 1.2, 1.1, 1.2,
                1.5, 1.2, 1.0, 1.0, 1.1, 1.4, 1.7, 1.9, 2.0, 1.9, 1.4, 0.8)
_HOUR_CUM = tuple(itertools.accumulate(HOUR_WEIGHTS))

# Entry codes that are not a session id.
EVENT = -1
MALFORMED = -2


@dataclass
class Session:
    chat_index: int
    topic: str
    planted: dict | None = None


@dataclass
class Timeline:
    entries: list[tuple[int, int, int, object]]  # (ns since 2001, chat index, session id or code, payload)
    sessions: list[Session]


def allocate(weights: list[float], budget: int, minimum: list[int]) -> list[int]:
    """Split `budget` by weight, each at least its minimum while the budget lasts; exact sum."""
    if budget <= 0:
        return [0] * len(weights)
    total = sum(weights) or 1.0
    counts = [max(m, math.floor(w / total * budget)) for w, m in zip(weights, minimum, strict=False)]
    order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    excess = sum(counts) - budget
    while excess > 0:  # take from the largest chats first, never below 1 while possible
        changed = False
        for i in order:
            floor = 1 if budget >= len(weights) else 0
            if excess and counts[i] > floor:
                counts[i] -= 1
                excess -= 1
                changed = True
        if not changed:
            break
    for k in range(-excess):
        counts[order[k % len(order)]] += 1
    return counts


def _daily(rng: random.Random, t: float) -> float:
    """The same day, at an hour drawn from the daily rhythm."""
    local = t + UTC_OFFSET
    day = math.floor(local / DAY)
    hour = bisect.bisect_right(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
    return day * DAY + hour * 3_600.0 + rng.random() * 3_600.0 - UTC_OFFSET


def _awake(rng: random.Random, t: float) -> float:
    """`t`, or 7-9 am that morning when `t` falls in the small hours (1-7 am)."""
    local = t + UTC_OFFSET
    hour = (local % DAY) // 3_600.0
    if 1 <= hour < 7:
        return math.floor(local / DAY) * DAY + 7 * 3_600.0 + rng.random() * 7_200.0 - UTC_OFFSET
    return t


def _gap(rng: random.Random, calm: bool) -> float:
    roll = rng.random()
    if roll < 0.62:
        return 2.0 + rng.expovariate(1 / 30)
    if roll < 0.86 or calm:
        return rng.uniform(60, 600)
    if roll < 0.965:
        return rng.uniform(600, 1_800)
    return rng.uniform(1_800, 5_100)  # a pause that stays under 90 minutes


def _session_sizes(rng: random.Random, count: int) -> list[int]:
    sizes = []
    while count > 0:
        size = min(count, 1 + int(rng.expovariate(1 / 9)), 120)
        sizes.append(size)
        count -= size
    return sizes


def chat_times(
    rng: random.Random, plan: ChatPlan, count: int, now_s: float, session_ids: itertools.count,
    sessions: list[Session], topics: tuple[str, ...],
) -> list[tuple[float, int]]:
    """(time, session id) for `count` ordinary messages plus the chat's planted conversations."""
    start_s = now_s - SPAN_DAYS * DAY
    if rng.random() < 0.45:
        start_s += rng.uniform(0, 0.6) * SPAN_DAYS * DAY  # a friendship that began later
    end_s = now_s - (rng.uniform(0, 150) * DAY if rng.random() < 0.2 else rng.uniform(60, 2 * DAY))
    if plan.kind == "shortcode":
        sizes = [1 if rng.random() < 0.8 else 2 for _ in range(count)]
        while sum(sizes) > count:
            sizes.pop()
        sizes += [1] * (count - sum(sizes))
    else:
        sizes = _session_sizes(rng, count)
    specs: list[tuple[int, dict | None]] = [(size, None) for size in sizes]
    for topic in plan.planted:
        specs.insert(rng.randrange(len(specs) + 1), (len(topic["script"]), topic))
    starts = sorted(_daily(rng, rng.uniform(start_s, end_s)) for _ in specs)
    out: list[tuple[float, int]] = []
    last_end = -math.inf
    for start, (size, planted) in zip(starts, specs, strict=False):
        if start < last_end + SESSION_GAP_MIN:
            start = _awake(rng, last_end + SESSION_GAP_MIN + rng.expovariate(1 / (6 * 3_600.0)))
        session_id = next(session_ids)
        name = planted["key"] if planted else topics[rng.randrange(len(topics))]
        sessions.append(Session(plan.index, name, planted))
        t = start
        for k in range(size):
            if k:
                t += _gap(rng, calm=planted is not None or plan.kind == "shortcode")
            out.append((t, session_id))
        last_end = t
    if out and out[-1][0] > end_s:  # pushed past the end: slide the whole chat back
        shift = out[-1][0] - end_s
        out = [(t - shift, s) for t, s in out]
    return out


def build_timeline(
    rng: random.Random, plans: list[ChatPlan], counts: list[int], now_s: float, topics: tuple[str, ...],
) -> tuple[Timeline, dict[int, tuple[float, float]]]:
    """All ordinary messages and group events, sorted by time; also each chat's (first, last)."""
    sessions: list[Session] = []
    session_ids = itertools.count()
    entries: list[tuple[int, int, int, object]] = []
    spans: dict[int, tuple[float, float]] = {}
    for plan, count in zip(plans, counts, strict=False):
        times = chat_times(rng, plan, count, now_s, session_ids, sessions, topics)
        if not times:
            continue
        spans[plan.index] = (times[0][0], times[-1][0])
        entries.extend((to_ns(rng, t), plan.index, session, None) for t, session in times)
        first, last = spans[plan.index]
        for event in group_events(rng, plan, first, last):
            entries.append((to_ns(rng, event[0]), plan.index, EVENT, event[1:]))
    return Timeline(entries, sessions), spans


def group_events(rng: random.Random, plan: ChatPlan, first: float, last: float) -> list[tuple]:
    """(time, kind, value): the group named right after it starts, joins early, leaves late."""
    events: list[tuple] = []
    span = max(last - first, 60.0)
    for k, title in enumerate(plan.renames):
        when = first + 30.0 if k == 0 else first + span * rng.uniform(0.2, 0.95)
        events.append((when, "rename", title))
    for handle in plan.joiners:
        events.append((first + span * rng.uniform(0.1, 0.6), "join", handle))
    for handle in plan.leavers:
        events.append((first + span * rng.uniform(0.5, 0.95), "leave", handle))
    return events


def event_count(plan: ChatPlan) -> int:
    return len(plan.renames) + len(plan.joiners) + len(plan.leavers)


def to_ns(rng: random.Random, t: float) -> int:
    return int(t * 1_000_000) * 1_000 + rng.randrange(1_000)
