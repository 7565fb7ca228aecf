"""Threads, messages and documents of the assistant, and the streamed reply to a question.

A reply is two calls: `ask` stores the user's message and a pending assistant message; `stream_reply`
(the SSE endpoint) claims the pending message, fills the eve-chat pack for the question, streams the
eve-answer-v1 prompt through the LLM gateway, and stores the final text and citations. No LLM call
happens inside a write transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from backend.assistant import offline, repo, toolloop
from backend.assistant.answer import AnswerText, parse_reply, resolve_citations
from backend.assistant.exceptions import DocumentNotFound, MessageNotFound, ThreadNotFound, UnknownContext
from backend.assistant.schemas import (
    Asked,
    Citation,
    Document,
    DocumentList,
    Message,
    MessageList,
    Thread,
    ThreadContext,
    ThreadList,
)
from backend.config import OFFLINE_LLM_MODEL, get_settings
from backend.db.clock import now_ms
from backend.db.session import run_write, session_scope
from backend.errors import BackendError
from backend.prompts import load_pack, load_prompt

if TYPE_CHECKING:
    from backend.retrieval.fill import FilledContext

log = logging.getLogger(__name__)

PACK_ID = "eve-chat"
PROMPT_ID = "eve-answer-v1"
TOOLS_PROMPT_ID = "eve-tools-v1"
OFFLINE_CHUNK_CHARS = 24
HISTORY_TURNS = 10

ReplyEvent = tuple[str, dict[str, Any]]  # ("text_delta" | "tool_call" | "tool_result" | "final" | "error", data)


# ---- shaping ----------------------------------------------------------------------------------------

def _message(row: dict[str, Any]) -> Message:
    return Message(id=row["id"], thread_id=row["thread_id"], role=row["role"], content=row["content"],
                   status=row["status"], model=row["model"],
                   citations=[Citation(**c) for c in json.loads(row["citations"] or "[]")],
                   error_code=row["error_code"], created_at=row["created_at"])


def _thread(conn: Connection, row: dict[str, Any]) -> Thread:
    latest = None
    if row["latest_message_id"] is not None:
        found = repo.get_message(conn, thread_id=row["id"], message_id=row["latest_message_id"])
        latest = _message(found) if found else None
    return Thread(id=row["id"], title=row["title"], created_at=row["created_at"], updated_at=row["updated_at"],
                  last_read_at=row["last_read_at"], unread=bool(row["unread"]), latest_message=latest)


def _document(row: dict[str, Any]) -> Document:
    snapshot = json.loads(row["snapshot"]) if row["snapshot"] else {}
    return Document(id=row["id"], thread_id=row["thread_id"], title=row["title"], version=row["version"],
                    content=row["content"], created_at=row["created_at"], read_at=row["read_at"],
                    context=ThreadContext(**snapshot))


def _require_thread(conn: Connection, thread_id: int) -> dict[str, Any]:
    row = repo.get_thread(conn, thread_id=thread_id)
    if row is None:
        raise ThreadNotFound(f"No assistant thread {thread_id}: it was deleted or never existed.", thread_id=thread_id)
    return row


# ---- threads ----------------------------------------------------------------------------------------

def _require_contexts(conn: Connection, *, chat_ids: list[int], contact_ids: list[int]) -> None:
    missing = repo.list_missing_context_ids(conn, chat_ids=chat_ids, contact_ids=contact_ids)
    if missing["chat_ids"] or missing["contact_ids"]:
        raise UnknownContext("The thread's context names chats or contacts that do not exist: list them at "
                             "GET /api/chats and GET /api/contacts.", **missing)


def create_thread(engine: Engine, *, title: str, chat_ids: list[int], contact_ids: list[int]) -> Thread:
    def write(conn: Connection) -> int:
        _require_contexts(conn, chat_ids=chat_ids, contact_ids=contact_ids)
        thread_id = repo.create_thread(conn, title=title, now_ms=now_ms())
        repo.replace_thread_contexts(conn, thread_id=thread_id, chat_ids=chat_ids, contact_ids=contact_ids)
        return thread_id

    return get_thread(engine, run_write(write, engine=engine))


def get_thread(engine: Engine, thread_id: int) -> Thread:
    with session_scope(engine) as conn:
        return _thread(conn, _require_thread(conn, thread_id))


def list_threads(engine: Engine, *, limit: int = 200) -> ThreadList:
    with session_scope(engine) as conn:
        return ThreadList(threads=[_thread(conn, row) for row in repo.list_threads(conn, limit=limit)])


def rename_thread(engine: Engine, thread_id: int, *, title: str) -> Thread:
    if not run_write(lambda conn: repo.update_thread(conn, thread_id=thread_id, title=title, now_ms=now_ms()),
                     engine=engine):
        raise ThreadNotFound(f"No assistant thread {thread_id} to rename.", thread_id=thread_id)
    return get_thread(engine, thread_id)


def delete_thread(engine: Engine, thread_id: int) -> None:
    if not run_write(lambda conn: repo.delete_thread(conn, thread_id=thread_id, now_ms=now_ms()), engine=engine):
        raise ThreadNotFound(f"No assistant thread {thread_id} to delete.", thread_id=thread_id)


def mark_thread_read(engine: Engine, thread_id: int) -> Thread:
    if not run_write(lambda conn: repo.mark_thread_read(conn, thread_id=thread_id, now_ms=now_ms()), engine=engine):
        raise ThreadNotFound(f"No assistant thread {thread_id}.", thread_id=thread_id)
    return get_thread(engine, thread_id)


def get_contexts(engine: Engine, thread_id: int) -> ThreadContext:
    with session_scope(engine) as conn:
        _require_thread(conn, thread_id)
        return ThreadContext(**repo.list_thread_contexts(conn, thread_id=thread_id))


def set_contexts(engine: Engine, thread_id: int, *, chat_ids: list[int], contact_ids: list[int]) -> ThreadContext:
    def write(conn: Connection) -> None:
        _require_thread(conn, thread_id)
        _require_contexts(conn, chat_ids=chat_ids, contact_ids=contact_ids)
        repo.replace_thread_contexts(conn, thread_id=thread_id, chat_ids=chat_ids, contact_ids=contact_ids)
        repo.touch_thread(conn, thread_id=thread_id, now_ms=now_ms())

    run_write(write, engine=engine)
    return get_contexts(engine, thread_id)


# ---- messages ---------------------------------------------------------------------------------------

def list_messages(engine: Engine, thread_id: int) -> MessageList:
    with session_scope(engine) as conn:
        _require_thread(conn, thread_id)
        return MessageList(messages=[_message(row) for row in repo.list_messages(conn, thread_id=thread_id)])


def get_message(engine: Engine, thread_id: int, message_id: int) -> Message:
    with session_scope(engine) as conn:
        row = repo.get_message(conn, thread_id=thread_id, message_id=message_id)
    if row is None:
        raise MessageNotFound(f"No message {message_id} in assistant thread {thread_id}.", message_id=message_id)
    return _message(row)


def ask(engine: Engine, thread_id: int, *, content: str) -> Asked:
    """Store the question and a pending reply; the reply is generated when its stream is opened."""
    model = get_settings().llm_model

    def write(conn: Connection) -> tuple[int, int]:
        _require_thread(conn, thread_id)
        now = now_ms()
        user_id = repo.create_message(conn, thread_id=thread_id, role="user", content=content, status="done",
                                      model=None, now_ms=now)
        reply_id = repo.create_message(conn, thread_id=thread_id, role="assistant", content="", status="pending",
                                       model=model, now_ms=now)
        repo.touch_thread(conn, thread_id=thread_id, now_ms=now)
        return user_id, reply_id

    user_id, reply_id = run_write(write, engine=engine)
    return Asked(user_message=get_message(engine, thread_id, user_id), assistant_message_id=reply_id,
                 stream_url=f"/api/assistant/threads/{thread_id}/messages/{reply_id}/stream")


def stream_reply(engine: Engine, thread_id: int, message_id: int) -> Iterator[ReplyEvent]:
    """Events of one reply: `text_delta`s then `final`, or `error`. A reply already finished is sent at once."""
    message = get_message(engine, thread_id, message_id)
    if message.role != "assistant":
        raise MessageNotFound(f"Message {message_id} is the user's, not a reply.", message_id=message_id)
    claimed = run_write(lambda conn: repo.claim_message(conn, message_id=message_id, now_ms=now_ms()), engine=engine)
    if not claimed:
        yield from _settled(engine, thread_id, message_id)
        return

    settings = get_settings()
    model = settings.llm_model
    shown = _Shown()
    finished = False
    try:
        question, history, context = _conversation_so_far(engine, thread_id, message_id)
        if is_offline(model):
            replies = _offline_reply(engine, message_id, question=question, history=history, context=context,
                                     shown=shown)
        else:
            replies = _model_reply(engine, message_id, question=question, history=history, context=context,
                                   shown=shown)
        for name, data in replies:
            if name == "done":
                _finish(engine, message_id, status="done", content=data["content"], model=model,
                        citations=data["citations"], context=data["context"])
                finished = True
                yield "final", {"message": get_message(engine, thread_id, message_id).model_dump(mode="json")}
            else:
                yield name, data
    except BackendError as exc:
        log.warning("reply %d failed: %s", message_id, exc)
        _finish(engine, message_id, status="error", content=shown.text(), model=model, citations=[],
                error_code=exc.code, error=exc.message)
        finished = True
        yield "error", {"message_id": message_id, "code": exc.code, "message": exc.message}
    except Exception as exc:
        log.exception("reply %d failed", message_id)
        _finish(engine, message_id, status="error", content=shown.text(), model=model, citations=[],
                error_code="reply_failed", error=f"{type(exc).__name__}: {exc}")
        finished = True
        yield "error", {"message_id": message_id, "code": "reply_failed",
                        "message": "Eve could not answer: " + str(exc)}
    finally:
        if not finished:  # the client went away mid-stream: keep what it saw, mark the reply interrupted
            _finish(engine, message_id, status="error", content=shown.text(), model=model,
                    citations=[], error_code="interrupted", error="The stream was closed before the reply ended.")


def is_offline(model: str) -> bool:
    """No language model configured: the built-in offline analyzer stands in."""
    return model.split("/", 1)[0] == OFFLINE_LLM_MODEL.split("/", 1)[0]


class _Shown:
    """The text of the reply the client has seen so far (kept when a reply fails midway)."""

    def __init__(self) -> None:
        self.answer: AnswerText = AnswerText()
        self.extra = ""

    def text(self) -> str:
        return (_partial(self.answer) + self.extra).strip()


def _chunks(text: str, size: int = OFFLINE_CHUNK_CHARS) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start:start + size]


def _offline_reply(engine: Engine, message_id: int, *, question: str, history: list[dict[str, str]],
                   context: ThreadContext, shown: _Shown) -> Iterator[ReplyEvent]:
    """The router's answer to a known question form; else the best matching messages and the honest line."""
    routed = offline.answer(engine, question, contact_names=_contact_names(engine, context))
    if routed is not None:
        for piece in _chunks(routed.text):
            shown.extra += piece
            yield "text_delta", {"message_id": message_id, "delta": piece}
        yield "done", {"content": routed.text, "citations": routed.citations,
                       "context": {"router": routed.kind}}
        return
    filled = _fill(engine, question=question, context=context)
    prompt = load_prompt(PROMPT_ID)
    messages = prompt.render(user_name=filled.user_name, question=question, history=history,
                             sources=filled.prompt_sources())
    from backend.llm import stream_text  # noqa: PLC0415 - imports LiteLLM

    for delta in stream_text(model=get_settings().llm_model, messages=messages, prompt_id=prompt.id,
                             prompt_version=prompt.version, temperature=prompt.temperature, engine=engine):
        visible = shown.answer.feed(delta)
        if visible:
            yield "text_delta", {"message_id": message_id, "delta": visible}
    answer, citations = parse_reply(shown.answer.raw)
    note = "\n\n" + offline.NO_MODEL
    shown.extra += note
    yield "text_delta", {"message_id": message_id, "delta": note}
    yield "done", {"content": answer + note, "citations": resolve_citations(citations, filled),
                   "context": {"pack": filled.pack_id, "ledger": filled.ledger.as_dict(), "router": None}}


def _model_reply(engine: Engine, message_id: int, *, question: str, history: list[dict[str, str]],
                 context: ThreadContext, shown: _Shown) -> Iterator[ReplyEvent]:
    """The model answers through the tool loop, with the eve-chat pack's sources in its first prompt."""
    settings = get_settings()
    filled = _fill(engine, question=question, context=context)
    prompt = load_prompt(TOOLS_PROMPT_ID)
    messages = prompt.render(user_name=filled.user_name, question=question, history=history,
                             sources=filled.prompt_sources(), max_steps=settings.eve_max_steps,
                             today=datetime.now().astimezone().date().isoformat())
    outcome = toolloop.LoopOutcome()
    step = 0
    for name, data in toolloop.run(engine, model=settings.llm_model, messages=messages,
                                   max_steps=settings.eve_max_steps, max_tokens=settings.eve_max_tokens,
                                   prompt_id=prompt.id, prompt_version=prompt.version,
                                   temperature=prompt.temperature, outcome=outcome):
        if name != "text_delta":
            yield name, {"message_id": message_id, **data}
            continue
        if data["step"] != step:  # a new turn: its text is decoded afresh
            step, shown.answer = data["step"], AnswerText()
        visible = shown.answer.feed(data["delta"])
        if visible:
            yield "text_delta", {"message_id": message_id, "delta": visible}
    shown.answer = AnswerText()
    shown.answer.feed(outcome.raw)
    answer, citations = parse_reply(outcome.raw)
    resolved = resolve_citations([c for c in citations if not c["source_id"].startswith("M")], filled)
    resolved += toolloop.message_citations(answer, citations, outcome)
    yield "done", {"content": answer, "citations": resolved,
                   "context": {"pack": filled.pack_id, "ledger": filled.ledger.as_dict(),
                               "tools": {"steps": outcome.steps, "calls": outcome.tool_calls,
                                         "tokens_in": outcome.tokens_in, "tokens_out": outcome.tokens_out}}}


def _contact_names(engine: Engine, context: ThreadContext) -> list[str]:
    from backend.contacts.service import get_contact  # noqa: PLC0415

    names = []
    for contact_id in context.contact_ids[:3]:
        try:
            names.append(get_contact(engine, contact_id).display_name or "")
        except BackendError:
            continue
    return [n for n in names if n]


def _settled(engine: Engine, thread_id: int, message_id: int) -> Iterator[ReplyEvent]:
    message = get_message(engine, thread_id, message_id)
    if message.status == "done":
        yield "final", {"message": message.model_dump(mode="json")}
    elif message.status == "error":
        yield "error", {"message_id": message_id, "code": message.error_code or "reply_failed",
                        "message": "This reply failed; ask again."}
    else:
        yield "error", {"message_id": message_id, "code": "reply_in_progress",
                        "message": "This reply is already being streamed to another client."}


def _conversation_so_far(engine: Engine, thread_id: int, message_id: int) -> tuple[str, list[dict[str, str]],
                                                                                        ThreadContext]:
    with session_scope(engine) as conn:
        earlier = repo.list_messages(conn, thread_id=thread_id, before_id=message_id)
        context = ThreadContext(**repo.list_thread_contexts(conn, thread_id=thread_id))
    questions = [m for m in earlier if m["role"] == "user"]
    question = questions[-1]["content"] if questions else ""
    history = [{"role": m["role"], "content": m["content"]} for m in earlier
               if m["status"] == "done" and m["content"] and (not questions or m["id"] != questions[-1]["id"])]
    return question, history[-HISTORY_TURNS:], context


def _fill(engine: Engine, *, question: str, context: ThreadContext) -> FilledContext:
    from backend.retrieval import fill_pack  # noqa: PLC0415

    return fill_pack(load_pack(PACK_ID), question=question, chat_ids=context.chat_ids,
                     contact_ids=context.contact_ids, engine=engine)


def _partial(text: AnswerText) -> str:
    answer, _ = parse_reply(text.raw) if text.raw else ("", [])
    return answer


def _finish(engine: Engine, message_id: int, *, status: str, content: str, model: str | None,
            citations: list[dict[str, Any]], context: dict[str, Any] | None = None, error_code: str | None = None,
            error: str | None = None) -> None:
    now = now_ms()

    def write(conn: Connection) -> None:
        repo.finish_message(conn, message_id=message_id, status=status, content=content, model=model,
                            citations=citations, context=context, error_code=error_code, error=error, now_ms=now)
        thread_id = repo.get_message_thread_id(conn, message_id=message_id)
        if thread_id is not None:
            repo.touch_thread(conn, thread_id=thread_id, now_ms=now)

    run_write(write, engine=engine)


# ---- documents --------------------------------------------------------------------------------------

def save_document(engine: Engine, thread_id: int, *, title: str, content: str) -> Document:
    """A new version of the document `title` (1 for a new title), with the thread's context at this moment."""
    def write(conn: Connection) -> int:
        _require_thread(conn, thread_id)
        snapshot = repo.list_thread_contexts(conn, thread_id=thread_id)
        document_id = repo.create_document(conn, thread_id=thread_id, title=title, content=content,
                                           snapshot=snapshot, now_ms=now_ms())
        repo.touch_thread(conn, thread_id=thread_id, now_ms=now_ms())
        return document_id

    return get_document(engine, run_write(write, engine=engine))


def get_document(engine: Engine, document_id: int) -> Document:
    with session_scope(engine) as conn:
        row = repo.get_document(conn, document_id=document_id)
    if row is None:
        raise DocumentNotFound(f"No assistant document {document_id}.", document_id=document_id)
    return _document(row)


def list_documents(engine: Engine, thread_id: int, *, all_versions: bool = False) -> DocumentList:
    with session_scope(engine) as conn:
        _require_thread(conn, thread_id)
        rows = repo.list_documents(conn, thread_id=thread_id, all_versions=all_versions)
    return DocumentList(documents=[_document(row) for row in rows])


def mark_document_read(engine: Engine, document_id: int) -> Document:
    get_document(engine, document_id)
    run_write(lambda conn: repo.mark_document_read(conn, document_id=document_id, now_ms=now_ms()), engine=engine)
    return get_document(engine, document_id)
