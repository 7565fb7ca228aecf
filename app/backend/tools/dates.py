"""Dates of tool arguments as the insights periods read them (local days, `until` inclusive), and unix ms as
the dates an answer shows."""

from __future__ import annotations

from datetime import datetime


def range_ms(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """ISO days (YYYY-MM-DD, both inclusive, local time) -> a half-open unix-ms range; None: open."""
    if not since and not until:
        return None, None
    from backend.insights.service import make_period  # noqa: PLC0415 - one definition of a period

    period = make_period(since=since or None, until=until or None)
    return period.since_ms, period.until_ms


def day(ms: int | None) -> str:
    """unix ms -> '3 May 2024' (local time); '' for None."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000).astimezone()
    return f"{moment.day} {moment:%B %Y}"
