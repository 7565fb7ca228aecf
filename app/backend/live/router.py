"""SSE endpoints of live sync: chats, one chat's messages, contacts; and the watcher's status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import Engine
from sse_starlette.sse import EventSourceResponse

from backend.chats import service as chats
from backend.contacts import service as contacts
from backend.errors import NotFound
from backend.live.hub import HubEvent
from backend.live.streams import HEARTBEAT_S, SSE_HEADERS, Shaped, StreamSpec, event_stream
from backend.messages import service as messages

router = APIRouter(prefix="/live-sync", tags=["live sync"])

CHAT_EVENTS = ("chat.updated", "message.created")
MESSAGE_EVENTS = ("message.created", "message.updated", "conversation.updated")
CONTACT_EVENTS = ("contact.updated",)


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _chats(engine: Engine, events: list[HubEvent]) -> Shaped:
    """One frame per chat touched in the batch, carrying the last of its event ids."""
    last: dict[int, HubEvent] = {}
    for event in events:
        last[event.payload["chat_id"]] = event
    shaped = []
    for chat_id, event in sorted(last.items(), key=lambda item: item[1].id):
        try:
            shaped.append((event, {"chat": _dump(chats.get_chat(engine, chat_id)), "cause": event.name}))
        except NotFound:
            continue
    return shaped


def _messages(engine: Engine, events: list[HubEvent]) -> Shaped:
    found = messages.get_messages(engine, [e.payload["message_id"] for e in events if "message_id" in e.payload])
    shaped = []
    for event in events:
        if event.name == "conversation.updated":
            shaped.append((event, dict(event.payload)))
        elif event.payload["message_id"] in found:
            shaped.append((event, {"message": _dump(found[event.payload["message_id"]])}))
    return shaped


def _contacts(engine: Engine, events: list[HubEvent]) -> Shaped:
    shaped = []
    for event in events:
        try:
            shaped.append((event, {"contact": _dump(contacts.get_contact(engine, event.payload["contact_id"]))}))
        except NotFound:
            continue
    return shaped


CHATS_STREAM = StreamSpec(
    names=CHAT_EVENTS,
    accepts=lambda e: e.name in CHAT_EVENTS,
    shape=_chats,
    snapshot=lambda engine: _dump(chats.list_chats(engine, limit=100)),
)
CONTACTS_STREAM = StreamSpec(
    names=CONTACT_EVENTS,
    accepts=lambda e: e.name in CONTACT_EVENTS,
    shape=_contacts,
    snapshot=lambda engine: _dump(contacts.list_contacts(engine, limit=500)),
)


def chat_messages_stream(chat_id: int) -> StreamSpec:
    return StreamSpec(
        names=MESSAGE_EVENTS,
        accepts=lambda e: e.name in MESSAGE_EVENTS and e.payload.get("chat_id") == chat_id,
        shape=_messages,
        snapshot=lambda engine: _dump(chats.list_chat_messages(engine, chat_id, limit=50)),
    )


def _last_id(header: str | None, query: int | None) -> int | None:
    if query is not None:
        return query
    if header and header.strip().isdigit():
        return int(header.strip())
    return None


def _respond(request: Request, spec: StreamSpec, last_event_id: int | None) -> EventSourceResponse:
    stream = event_stream(engine=request.app.state.engine, hub=request.app.state.hub, spec=spec,
                          last_event_id=last_event_id)
    return EventSourceResponse(stream, ping=HEARTBEAT_S, headers=SSE_HEADERS)


@router.get("/stream/chats")
async def stream_chats(request: Request, last_event_id: str | None = Header(None),
                       since: int | None = Query(None, description="replay after this event id"),
) -> EventSourceResponse:
    """A snapshot of the chat list, then `chat.updated` / `message.created` as they happen."""
    return _respond(request, CHATS_STREAM, _last_id(last_event_id, since))


@router.get("/stream/chat/{chat_id}/messages")
async def stream_chat_messages(chat_id: int, request: Request, last_event_id: str | None = Header(None),
                               since: int | None = Query(None, description="replay after this event id"),
) -> EventSourceResponse:
    """The chat's latest messages, then new and changed messages (edits, unsends, tapbacks, reads)."""
    chats.get_chat(request.app.state.engine, chat_id)  # 404 before the stream starts
    return _respond(request, chat_messages_stream(chat_id), _last_id(last_event_id, since))


@router.get("/stream/contacts")
async def stream_contacts(request: Request, last_event_id: str | None = Header(None),
                          since: int | None = Query(None, description="replay after this event id"),
) -> EventSourceResponse:
    """A snapshot of contacts, then `contact.updated` (renames, merges)."""
    return _respond(request, CONTACTS_STREAM, _last_id(last_event_id, since))


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    """Whether the watcher runs, on what, and how its last pass went."""
    watcher = request.app.state.watcher
    if watcher is None:
        return {"running": False, "source": None}
    sync = watcher.sync
    return {
        "running": watcher.running, "source": str(sync.source), "passes": sync.passes,
        "last_pass_at": sync.last_pass_at, "last_error": sync.last_error, "wakeups": watcher.wakeups,
        "safety_syncs": watcher.safety_syncs, "subscribers": request.app.state.hub.subscriber_count,
    }
