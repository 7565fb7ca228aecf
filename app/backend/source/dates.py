"""Apple timestamps: seconds or nanoseconds since 2001-01-01 UTC, detected per value."""

from __future__ import annotations

APPLE_EPOCH_UNIX_MS = 978_307_200_000
# Seconds since 2001 stay below ~3e9 for the next 70 years; nanoseconds since 2001 exceed 1e15
# for any date after 2001-01-12. Anything in between is milliseconds-like garbage: treat as ns.
SECONDS_LIMIT = 10_000_000_000


def apple_to_unix_ms(value: int | float | None) -> int | None:
    """Convert a chat.db date (ns since 2001 on High Sierra and later, s before) to Unix ms.

    0 and NULL mean "never" (unread, undelivered) and map to None.
    """
    if not value:
        return None
    if -SECONDS_LIMIT < value < SECONDS_LIMIT:
        return APPLE_EPOCH_UNIX_MS + int(value * 1000)
    return APPLE_EPOCH_UNIX_MS + int(value) // 1_000_000


def apple_seconds_to_unix_ms(value: float | None) -> int | None:
    """Edit times in message_summary_info are float seconds since 2001."""
    if value is None:
        return None
    return APPLE_EPOCH_UNIX_MS + int(round(value * 1000))


def unix_ms_to_apple_ns(value: int) -> int:
    return (value - APPLE_EPOCH_UNIX_MS) * 1_000_000
