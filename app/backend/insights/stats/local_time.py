"""Local wall-clock time in SQL without calling back into Python per row.

A zone's UTC offset is constant between transitions (DST, law changes). Between two instants there are few
of them, so `sent_at + CASE WHEN sent_at < t1 THEN o0 WHEN ... END` gives exact local ms with integer
arithmetic only; local day, hour and weekday follow by division.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def offset_ms(zone: tzinfo, ms: int) -> int:
    delta = datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds() * 1000) if delta is not None else 0


@lru_cache(maxsize=64)
def transitions(zone: tzinfo, first_day: int, last_day: int) -> tuple[tuple[int, int], ...]:
    """(start ms, offset ms) of each constant-offset stretch between two UTC day numbers."""
    segments = [(first_day * DAY_MS, offset_ms(zone, first_day * DAY_MS))]
    for day in range(first_day + 1, last_day + 2):
        here = offset_ms(zone, day * DAY_MS)
        if here == segments[-1][1]:
            continue
        lo, hi = (day - 1) * DAY_MS // 1000, day * DAY_MS // 1000  # seconds: old offset at lo, new one at hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if offset_ms(zone, mid * 1000) == here:
                hi = mid
            else:
                lo = mid
        segments.append((hi * 1000, here))
    return tuple(segments)


def local_ms_sql(column: str, zone: tzinfo, lo_ms: int, hi_ms: int) -> str:
    """SQL: `column` (UTC ms) as local wall-clock ms in `zone`, exact for values in [lo_ms, hi_ms]."""
    segments = transitions(zone, lo_ms // DAY_MS, hi_ms // DAY_MS)
    if len(segments) == 1:
        return f"({column} + {segments[0][1]})"
    cases = " ".join(f"WHEN {column} < {start} THEN {segments[i - 1][1]}"
                     for i, (start, _) in enumerate(segments) if i > 0)
    return f"({column} + CASE {cases} ELSE {segments[-1][1]} END)"


def local_day(day_number: int) -> str:
    """ISO date of a local day number (days since 1970-01-01 in local wall-clock time)."""
    return datetime.fromtimestamp(day_number * 86400, UTC).date().isoformat()


def weekday(day_number: int) -> int:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (day_number + 3) % 7
