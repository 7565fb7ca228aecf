"""Pure computations over rows the repository returned: activity buckets, the hour x weekday heatmap, streaks,
percentiles, reaction tallies. No SQL and no I/O here, so each definition is easy to test."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.insights.stats.local_time import local_day, weekday
from backend.insights.stats.schemas import (
    Activity,
    ActivityPoint,
    Count,
    Heatmap,
    Initiations,
    ReactionKind,
    ReactionStats,
    StatsBucket,
    Streaks,
)

LATE_NIGHT_HOURS = range(0, 5)  # midnight to 5 a.m., local time


class Hours:
    """Messages per local hour number (local wall-clock ms // 3,600,000), the base of several metrics."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows = [(int(r["hour"]), int(r["messages"]), int(r["sent"] or 0)) for r in rows]

    @property
    def total(self) -> int:
        return sum(m for _, m, _ in self.rows)

    def days(self) -> dict[int, list[int]]:
        """Local day number -> [messages, sent]."""
        per_day: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for hour, messages, sent in self.rows:
            cell = per_day[hour // 24]
            cell[0] += messages
            cell[1] += sent
        return per_day

    def heatmap(self) -> Heatmap:
        cells = [[0] * 24 for _ in range(7)]
        for hour, messages, _ in self.rows:
            cells[weekday(hour // 24)][hour % 24] += messages
        return Heatmap(cells=cells, max=max((max(row) for row in cells), default=0))

    def late_night_share(self) -> float | None:
        total = self.total
        if not total:
            return None
        late = sum(m for hour, m, _ in self.rows if hour % 24 in LATE_NIGHT_HOURS)
        return round(late / total, 4)


def bucket_start(day_number: int, bucket: StatsBucket) -> str:
    if bucket == "day":
        return local_day(day_number)
    if bucket == "week":
        return local_day(day_number - weekday(day_number))
    day = datetime.fromtimestamp(day_number * 86400, UTC).date()
    return day.replace(day=1).isoformat()


def pick_bucket(days: Sequence[int]) -> StatsBucket:
    """Days for up to ~3 months, weeks for up to ~3 years, else months."""
    if not days:
        return "day"
    span = max(days) - min(days)
    return "day" if span <= 92 else "week" if span <= 3 * 366 else "month"


def next_bucket(start: str, bucket: StatsBucket) -> str:
    day = date.fromisoformat(start)
    if bucket == "day":
        return (day + timedelta(days=1)).isoformat()
    if bucket == "week":
        return (day + timedelta(days=7)).isoformat()
    following = day.replace(year=day.year + 1, month=1) if day.month == 12 else day.replace(month=day.month + 1)
    return following.isoformat()


def activity(hours: Hours, bucket: StatsBucket | None = None,
             to_ms: Callable[[str], int] | None = None) -> Activity:
    per_day = hours.days()
    chosen = bucket or pick_bucket(list(per_day))
    points: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for day, (messages, sent) in per_day.items():
        cell = points[bucket_start(day, chosen)]
        cell[0] += messages
        cell[1] += sent
    return Activity(bucket=chosen, points=[
        ActivityPoint(bucket=key, messages=m, sent=s, received=m - s,
                      start_ms=to_ms(key) if to_ms else None,
                      end_ms=to_ms(next_bucket(key, chosen)) if to_ms else None)
        for key, (m, s) in sorted(points.items())])


def streaks(days: Iterable[int], *, today: int) -> Streaks:
    """Runs of consecutive local days with at least one message. The current streak is the run that reaches
    today or yesterday (today may not have had a message yet); 0 otherwise."""
    ordered = sorted(set(days))
    if not ordered:
        return Streaks()
    best, best_end, run = 1, ordered[0], 1
    for prev, day in zip(ordered, ordered[1:], strict=False):
        run = run + 1 if day == prev + 1 else 1
        if run > best:
            best, best_end = run, day
    current = 0
    if ordered[-1] >= today - 1:
        current = 1
        for prev, day in zip(reversed(ordered[:-1]), reversed(ordered[1:]), strict=False):
            if day != prev + 1:
                break
            current += 1
    return Streaks(longest=best, longest_start=local_day(best_end - best + 1), longest_end=local_day(best_end),
                   current=current, active_days=len(ordered))


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return round(float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2, 3)


def p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the smallest value at least 90% of the values are less than or equal to."""
    if not values:
        return None
    ordered = sorted(values)
    return round(float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]), 3)


def initiations(me: int, them: int) -> Initiations:
    return Initiations(me=me, them=them, share_me=round(me / (me + them), 4) if me + them else None)


def top(counter: Counter[str], limit: int) -> list[Count]:
    return [Count(value=v, count=c) for v, c in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def reactions(rows: Iterable[dict[str, Any]], most_reacted: list[Any]) -> ReactionStats:
    """Given: reactions the user made. Received: reactions others made on the user's messages."""
    kinds: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["is_from_me"]:
            kinds[(r["kind"], r["emoji"])][0] += r["reactions"]
        elif r["target_is_from_me"]:
            kinds[(r["kind"], r["emoji"])][1] += r["reactions"]
    by_kind = [ReactionKind(kind=k, emoji=e, given=g, received=rc) for (k, e), (g, rc) in kinds.items() if g or rc]
    by_kind.sort(key=lambda x: (-(x.given + x.received), x.kind, x.emoji))
    return ReactionStats(given=sum(x.given for x in by_kind), received=sum(x.received for x in by_kind),
                         by_kind=by_kind, most_reacted=most_reacted)
