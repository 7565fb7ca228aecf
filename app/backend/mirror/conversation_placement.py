"""Where mirrored messages sit in conversations: the split function (conversations/split.py) applied to the mirror.

- A first import plans every chat's conversations before the copy (`plan_from_source`, or `place_spans` with
  spans its workers planned), so each copied row lands in its conversation by (chat, time).
- Any later write re-splits a chat from the conversation that holds its earliest change (`resplit`).

Conversation ids it creates or changes are added to `touched` (the writer's stats: live passes follow them).
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from sqlalchemy import Connection

from backend.conversations.split import conversation_spans, plan_conversations
from backend.db.clock import now_ms
from backend.mirror import repo
from backend.source.chatdb import sql as source_sql
from backend.source.dates import APPLE_EPOCH_UNIX_MS

Span = tuple[int, int, int, int]  # chat_id, started_at, last_message_at, message count


class ConversationPlacement:
    def __init__(self, conn: Connection, *, gap_ms: int, touched: set[int]) -> None:
        self.conn = conn
        self.gap_ms = gap_ms
        self.touched = touched

    def plan_from_source(self, source_select: str, *, unknown_chat_id: int) -> int:
        """Plan every chat's conversations from the attached source's rows (`source_select`, as the copy will
        store them); returns how many messages they hold."""
        timeline = repo.list_source_timeline(self.conn, source_select=source_select,
                                             date_sql=source_sql.apple_ms_sql, epoch_ms=APPLE_EPOCH_UNIX_MS,
                                             unknown_chat_id=unknown_chat_id)
        return self.place_spans([
            (chat_id, *span)
            for chat_id, group in groupby(timeline, key=itemgetter(0))
            for span in conversation_spans([sent_at for _chat, sent_at in group], self.gap_ms)
        ])

    def place_spans(self, spans: list[Span]) -> int:
        """Create the conversations of an empty mirror, numbered in (chat, time) order; since each is a span of
        its chat's time, the copy finds a row's conversation by (chat, time) in temp.planned_conversations.
        Returns how many messages they hold."""
        spans.sort()
        first_id = repo.next_conversation_id(self.conn)
        now = now_ms()
        # History that was over before the first import is not "newly sealed": batch passes over it are an
        # explicit (costed) run, not an avalanche of events.
        historic_before = now - self.gap_ms
        repo.insert_conversations(self.conn, [
            (conversation_id, chat_id, started_at, last_at, message_count,
             "historic" if last_at < historic_before else "open", now if last_at < historic_before else None, now)
            for conversation_id, (chat_id, started_at, last_at, message_count) in enumerate(spans, first_id)
        ])
        repo.load_planned_conversations(self.conn, [
            (chat_id, started_at, conversation_id)
            for conversation_id, (chat_id, started_at, _last, _count) in enumerate(spans, first_id)
        ])
        self.touched.update(range(first_id, first_id + len(spans)))
        return sum(span[3] for span in spans)

    def resplit(self, chat_id: int, *, from_at: int) -> None:
        """Re-run the split over a chat from the conversation holding `from_at` to its end."""
        conn = self.conn
        timeline = repo.list_chat_timeline(conn, chat_id=chat_id, from_at=from_at)
        current = {message_id: conversation_id for message_id, _, conversation_id in timeline}
        next_conversation = repo.next_conversation_id(conn)
        now = now_ms()
        reassigned: list[tuple[int, int]] = []
        for planned in plan_conversations(timeline, self.gap_ms):
            count = len(planned.message_ids)
            if planned.conversation_id is None:
                conversation_id = next_conversation
                next_conversation += 1
                repo.insert_conversations(conn, [(conversation_id, chat_id, planned.started_at,
                                                  planned.last_message_at, count, "open", None, now)])
                self.touched.add(conversation_id)
            else:
                conversation_id = planned.conversation_id
                stored = repo.get_conversation(conn, conversation_id)
                changed = stored is None or (
                    stored["started_at"], stored["last_message_at"], stored["message_count"], stored["chat_id"]
                ) != (planned.started_at, planned.last_message_at, count, chat_id)
                if changed:
                    repo.update_conversation(
                        conn, conversation_id=conversation_id, started_at=planned.started_at,
                        last_message_at=planned.last_message_at, message_count=count,
                        reopen=stored is not None and stored["state"] != "open",
                    )
                    self.touched.add(conversation_id)
            reassigned.extend(
                (conversation_id, mid) for mid in planned.message_ids if current[mid] != conversation_id
            )
        repo.set_message_conversations(conn, reassigned)
        repo.delete_empty_conversations(conn, chat_id=chat_id)

    def resplit_chats(self, from_at: dict[int, int]) -> None:
        """`resplit` each chat from its time in `from_at` (chat_id -> earliest changed sent_at)."""
        for chat_id, at in from_at.items():
            self.resplit(chat_id, from_at=at)
