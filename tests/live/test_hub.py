from __future__ import annotations

import asyncio
import threading

from backend.live.hub import RESYNC, HubEvent, MessageHub


def _events(n: int, start: int = 1) -> list[HubEvent]:
    return [HubEvent(i, "message.created", {"chat_id": 1, "message_id": i}) for i in range(start, start + n)]


def test_events_published_from_another_thread_reach_matching_subscribers():
    async def scenario():
        hub = MessageHub()
        everything = hub.subscribe()
        chat_two = hub.subscribe(lambda e: e.payload["chat_id"] == 2)
        thread = threading.Thread(target=hub.publish, args=(_events(3),))
        thread.start()
        thread.join()
        got = [await asyncio.wait_for(everything.queue.get(), 1) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert [e.id for e in got] == [1, 2, 3]
        assert chat_two.queue.empty()
        everything.unsubscribe()
        assert hub.subscriber_count == 1

    asyncio.run(scenario())


def test_a_slow_subscriber_gets_a_bounded_queue_and_a_resync():
    async def scenario():
        hub = MessageHub()
        slow = hub.subscribe(maxsize=5)
        hub.publish(_events(12))
        await asyncio.sleep(0.01)
        drained = []
        while not slow.queue.empty():
            drained.append(slow.queue.get_nowait())
        assert len(drained) <= 5
        assert RESYNC in drained and slow.overflows >= 1

    asyncio.run(scenario())


def test_a_subscriber_whose_loop_closed_does_not_break_publishing():
    async def subscribe(hub):
        return hub.subscribe()

    hub = MessageHub()
    asyncio.run(subscribe(hub))  # that loop is closed now
    hub.publish(_events(1))
    assert hub.subscriber_count == 0
