"""The single definition of where conversations split (DESIGN.md section 4).

Full import, live sync and re-splits all split with `split_indices` (a first import through
`conversation_spans`, the others through `plan_conversations`), so a chat synced message by message
ends up with exactly the conversations a full import of the final source gives it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


def starts_new_conversation(previous_at: int | None, sent_at: int, gap_ms: int) -> bool:
    """A message opens a new conversation when more than `gap_ms` passed since the previous one."""
    return previous_at is None or sent_at - previous_at > gap_ms


def split_indices(sent_at_sorted: Sequence[int], gap_ms: int) -> list[int]:
    """Indices (into the time-sorted sequence) where a conversation starts."""
    starts: list[int] = []
    previous: int | None = None
    for index, sent_at in enumerate(sent_at_sorted):
        if previous is None or sent_at - previous > gap_ms:
            starts.append(index)
        previous = sent_at
    return starts


def conversation_spans(sent_at_sorted: Sequence[int], gap_ms: int) -> list[tuple[int, int, int]]:
    """(started_at, last_message_at, message count) of each conversation of one chat's sorted times.

    What `plan_conversations` gives a chat imported whole (no existing ids), without the message ids:
    a first import places each message by its chat and time.
    """
    starts = split_indices(sent_at_sorted, gap_ms)
    return [(sent_at_sorted[begin], sent_at_sorted[end - 1], end - begin)
            for begin, end in zip(starts, starts[1:] + [len(sent_at_sorted)], strict=False)]


@dataclass(slots=True)
class PlannedConversation:
    conversation_id: int | None  # an existing row to keep, or None for a new one
    started_at: int
    last_message_at: int
    message_ids: list[int] = field(default_factory=list)


def plan_conversations(
    messages: Sequence[tuple[int, int, int | None]], gap_ms: int
) -> list[PlannedConversation]:
    """Group (message_id, sent_at, current_conversation_id) records into conversations.

    `messages` must be sorted by (sent_at, message_id). Each group keeps the existing conversation id
    most of its messages already had (each id used once, earliest group first), so unchanged
    conversations keep their ids and the ones whose analysis depends on them stay attached.
    """
    times = [sent_at for _, sent_at, _ in messages]
    starts = split_indices(times, gap_ms)
    bounds = list(zip(starts, starts[1:] + [len(messages)], strict=False))
    used: set[int] = set()
    planned: list[PlannedConversation] = []
    for begin, end in bounds:
        group = messages[begin:end]
        votes = Counter(conv for _, _, conv in group if conv is not None and conv not in used)
        chosen = None
        if votes:
            chosen = min(votes, key=lambda conv: (-votes[conv], conv))
            used.add(chosen)
        planned.append(
            PlannedConversation(
                conversation_id=chosen,
                started_at=group[0][1],
                last_message_at=group[-1][1],
                message_ids=[message_id for message_id, _, _ in group],
            )
        )
    return planned
