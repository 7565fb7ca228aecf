from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.conversations.split import plan_conversations, split_indices

GAP = 90 * 60_000


def test_split_at_strictly_more_than_the_gap():
    times = [0, GAP, 2 * GAP + 1, 2 * GAP + 2]
    assert split_indices(times, GAP) == [0, 2]
    assert split_indices([], GAP) == []


def test_existing_conversation_ids_are_kept():
    timeline = [(1, 0, 10), (2, 1000, 10), (3, 10 * GAP, 11), (4, 10 * GAP + 5, None)]
    planned = plan_conversations(timeline, GAP)
    assert [(p.conversation_id, p.message_ids) for p in planned] == [(10, [1, 2]), (11, [3, 4])]


def test_a_backfill_bridging_two_conversations_merges_them_into_the_older_id():
    timeline = [(1, 0, 10), (2, GAP, None), (3, 2 * GAP, 11)]
    planned = plan_conversations(timeline, GAP)
    assert [(p.conversation_id, p.message_ids) for p in planned] == [(10, [1, 2, 3])]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=40 * GAP), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_incremental_planning_in_any_arrival_order_equals_planning_everything(times, rng):
    """Adding messages one by one (any order), re-planning with kept ids, gives the full-import grouping."""
    messages = list(enumerate(times, start=1))
    full = plan_conversations(sorted(((mid, at, None) for mid, at in messages), key=lambda r: (r[1], r[0])), GAP)
    full_groups = sorted(tuple(sorted(p.message_ids)) for p in full)

    order = messages[:]
    rng.shuffle(order)
    conversation_of: dict[int, int] = {}
    next_id = 1
    arrived: list[tuple[int, int]] = []
    for mid, at in order:
        arrived.append((mid, at))
        timeline = sorted(((m, a, conversation_of.get(m)) for m, a in arrived), key=lambda r: (r[1], r[0]))
        for planned in plan_conversations(timeline, GAP):
            conversation_id = planned.conversation_id
            if conversation_id is None:
                conversation_id, next_id = next_id, next_id + 1
            for member in planned.message_ids:
                conversation_of[member] = conversation_id
    groups: dict[int, list[int]] = {}
    for mid, conversation_id in conversation_of.items():
        groups.setdefault(conversation_id, []).append(mid)
    assert sorted(tuple(sorted(g)) for g in groups.values()) == full_groups
