"""Tapbacks: associated_message_type 2000-2007 add a reaction, 3000-3007 remove it."""

from __future__ import annotations

import re
from dataclasses import dataclass

ADD_RANGE = (2000, 2007)
REMOVE_RANGE = (3000, 3007)
KINDS = {0: "love", 1: "like", 2: "dislike", 3: "laugh", 4: "emphasize", 5: "question", 6: "emoji", 7: "sticker"}
_TARGET = re.compile(r"^(?:p:(\d+)/|bp:)?(.+)$")


@dataclass(frozen=True, slots=True)
class Tapback:
    kind: str
    added: bool
    target_guid: str
    target_part: int


def is_tapback(associated_message_type: int | None) -> bool:
    return associated_message_type is not None and (
        ADD_RANGE[0] <= associated_message_type <= ADD_RANGE[1]
        or REMOVE_RANGE[0] <= associated_message_type <= REMOVE_RANGE[1]
    )


def parse_tapback(associated_message_type: int, associated_message_guid: str | None) -> Tapback | None:
    """None when the row is not a tapback or its target cannot be read."""
    if not is_tapback(associated_message_type) or not associated_message_guid:
        return None
    match = _TARGET.match(associated_message_guid)
    if match is None:
        return None
    part = int(match.group(1)) if match.group(1) else 0
    return Tapback(
        kind=KINDS[associated_message_type % 1000],
        added=associated_message_type <= ADD_RANGE[1],
        target_guid=match.group(2),
        target_part=part,
    )
