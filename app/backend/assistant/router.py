"""/api/assistant: threads, contexts, messages, documents, and each reply's SSE stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request, Response
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool

from backend.assistant import service
from backend.assistant.schemas import (
    Ask,
    Asked,
    ContextSet,
    Document,
    DocumentList,
    DocumentSave,
    MessageList,
    Thread,
    ThreadContext,
    ThreadCreate,
    ThreadList,
    ThreadRename,
)
from backend.live.streams import SSE_HEADERS

router = APIRouter(prefix="/assistant", tags=["assistant"])


@router.post("/threads", response_model=Thread, status_code=201)
def create_thread(body: ThreadCreate, request: Request) -> Thread:
    return service.create_thread(request.app.state.engine, title=body.title, chat_ids=body.chat_ids,
                                 contact_ids=body.contact_ids)


@router.get("/threads", response_model=ThreadList)
def list_threads(request: Request, limit: int = Query(200, ge=1, le=1000)) -> ThreadList:
    """Threads, most recently active first, each with its latest message and whether a reply is unread."""
    return service.list_threads(request.app.state.engine, limit=limit)


@router.get("/threads/{thread_id}", response_model=Thread)
def get_thread(thread_id: int, request: Request) -> Thread:
    return service.get_thread(request.app.state.engine, thread_id)


@router.patch("/threads/{thread_id}", response_model=Thread)
def rename_thread(thread_id: int, body: ThreadRename, request: Request) -> Thread:
    return service.rename_thread(request.app.state.engine, thread_id, title=body.title)


@router.delete("/threads/{thread_id}", status_code=204)
def delete_thread(thread_id: int, request: Request) -> Response:
    service.delete_thread(request.app.state.engine, thread_id)
    return Response(status_code=204)


@router.post("/threads/{thread_id}/read", response_model=Thread)
def mark_thread_read(thread_id: int, request: Request) -> Thread:
    return service.mark_thread_read(request.app.state.engine, thread_id)


@router.get("/threads/{thread_id}/contexts", response_model=ThreadContext)
def get_contexts(thread_id: int, request: Request) -> ThreadContext:
    return service.get_contexts(request.app.state.engine, thread_id)


@router.put("/threads/{thread_id}/contexts", response_model=ThreadContext)
def set_contexts(thread_id: int, body: ContextSet, request: Request) -> ThreadContext:
    return service.set_contexts(request.app.state.engine, thread_id, chat_ids=body.chat_ids,
                                contact_ids=body.contact_ids)


@router.get("/threads/{thread_id}/messages", response_model=MessageList)
def list_messages(thread_id: int, request: Request) -> MessageList:
    return service.list_messages(request.app.state.engine, thread_id)


@router.post("/threads/{thread_id}/messages", response_model=Asked, status_code=201)
def ask(thread_id: int, body: Ask, request: Request) -> Asked:
    """Store the question; open `stream_url` for the reply."""
    return service.ask(request.app.state.engine, thread_id, content=body.content)


@router.get("/threads/{thread_id}/messages/{message_id}/stream")
def stream_reply(thread_id: int, message_id: int, request: Request) -> EventSourceResponse:
    """SSE: `text_delta` events ({message_id, delta}), then `final` ({message}) or `error` ({code, message})."""
    engine = request.app.state.engine
    service.get_message(engine, thread_id, message_id)  # a 404 before the stream opens

    async def events() -> AsyncIterator[dict[str, str]]:
        async for name, data in iterate_in_threadpool(service.stream_reply(engine, thread_id, message_id)):
            yield {"event": name, "data": json.dumps(data, ensure_ascii=False)}

    return EventSourceResponse(events(), headers=SSE_HEADERS)


@router.get("/threads/{thread_id}/documents", response_model=DocumentList)
def list_documents(thread_id: int, request: Request, all_versions: bool = Query(False)) -> DocumentList:
    return service.list_documents(request.app.state.engine, thread_id, all_versions=all_versions)


@router.post("/threads/{thread_id}/documents", response_model=Document, status_code=201)
def save_document(thread_id: int, body: DocumentSave, request: Request) -> Document:
    """Save a document; saving a title again makes its next version."""
    return service.save_document(request.app.state.engine, thread_id, title=body.title, content=body.content)


@router.get("/documents/{document_id}", response_model=Document)
def get_document(document_id: int, request: Request) -> Document:
    return service.get_document(request.app.state.engine, document_id)


@router.post("/documents/{document_id}/read", response_model=Document)
def mark_document_read(document_id: int, request: Request) -> Document:
    return service.mark_document_read(request.app.state.engine, document_id)
