"""Periods of insights: presets and ISO dates, read in the user's local time zone, as half-open UTC ms ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import tzlocal

from backend.db.clock import now_ms
from backend.insights.exceptions import InvalidPeriod

PRESETS = ("30d", "this_year", "last_year", "all")
DAY_MS = 86_400_000


def local_zone() -> tzinfo:
    """The user's time zone (TZ when set, else the system's)."""
    return tzlocal.get_localzone()


@dataclass(frozen=True, slots=True)
class Period:
    since_ms: int | None  # inclusive; None: from the first message
    until_ms: int | None  # exclusive; None: up to now and on
    label: str
    preset: str | None = None

    def previous(self) -> Period | None:
        """The period of the same length right before this one (None when this one has no start)."""
        if self.since_ms is None:
            return None
        end = self.until_ms if self.until_ms is not None else now_ms()
        return Period(since_ms=self.since_ms - (end - self.since_ms), until_ms=self.since_ms,
                      label=f"before {self.label}")

    def contains(self, ms: int) -> bool:
        return (self.since_ms is None or ms >= self.since_ms) and (self.until_ms is None or ms < self.until_ms)


def local_midnight_ms(day: date, zone: tzinfo | None = None) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone or local_zone()).timestamp() * 1000)


def _parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise InvalidPeriod(f"{name}={value!r} is not a date: give it as YYYY-MM-DD", **{name: value}) from None


def year_period(year: int) -> Period:
    if not 1970 <= year <= 9998:
        raise InvalidPeriod(f"year {year} is out of range (1970-9998)", year=year)
    return Period(since_ms=local_midnight_ms(date(year, 1, 1)), until_ms=local_midnight_ms(date(year + 1, 1, 1)),
                  label=str(year), preset=None)


def make_period(preset: str | None = None, since: str | None = None, until: str | None = None) -> Period:
    """A preset ("30d", "this_year", "last_year", "all"; all time by default) or local dates `since` and
    `until` (both inclusive, YYYY-MM-DD). Dates, when given, win over the preset."""
    if preset is not None and preset not in PRESETS:
        raise InvalidPeriod(f"unknown period {preset!r}: use one of {', '.join(PRESETS)} or since/until dates",
                            preset=preset)
    if since or until:
        start = _parse_day(since, "since") if since else None
        end = _parse_day(until, "until") if until else None
        if start and end and end < start:
            raise InvalidPeriod(f"until ({end}) is before since ({start})", since=since, until=until)
        label = f"{start.isoformat() if start else '…'} – {end.isoformat() if end else 'now'}"
        return Period(since_ms=local_midnight_ms(start) if start else None,
                      until_ms=local_midnight_ms(end + timedelta(days=1)) if end else None, label=label)
    today = datetime.now(local_zone()).date()
    if preset == "30d":
        return Period(since_ms=local_midnight_ms(today - timedelta(days=29)), until_ms=None, label="last 30 days",
                      preset=preset)
    if preset == "this_year":
        return Period(since_ms=local_midnight_ms(date(today.year, 1, 1)),
                      until_ms=local_midnight_ms(date(today.year + 1, 1, 1)), label=str(today.year), preset=preset)
    if preset == "last_year":
        return Period(since_ms=local_midnight_ms(date(today.year - 1, 1, 1)),
                      until_ms=local_midnight_ms(date(today.year, 1, 1)), label=str(today.year - 1), preset=preset)
    return Period(since_ms=None, until_ms=None, label="all time", preset="all")
