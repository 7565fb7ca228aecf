"""Embedding conversations into vectors, and hybrid search (FTS5 bm25 + vectors, fused by reciprocal rank)."""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict, defaultdict
from typing import Any

import numpy as np
from sqlalchemy import Engine

from backend import llm  # its gateway (and LiteLLM) load on the first embed
from backend.config import get_settings
from backend.db.session import run_write, session_scope
from backend.search import analyses, repo
from backend.search.chunks import chunk_conversations
from backend.search.stages import stage
from backend.search.words import content_words, query_words
from backend.vectors import index as vector_index
from backend.vectors import repo as vectors_repo

log = logging.getLogger(__name__)

RRF_K = 60
CONVERSATION_BATCH = 200
PENDING_BATCH = 200  # conversations (and analyses) per embed_pending sweep
EMBED_BATCH = 256  # texts per gateway call; their vectors are packed into float32 blobs at once
PREVIEW_CHARS = 200
MAX_MATCHED_MESSAGES = 5
QUERY_VECTORS = 512  # recent query texts whose vectors are kept
_index_cache = vector_index.IndexCache()


def embed_conversations(engine: Engine, conversation_ids: list[int] | None = None, *,
                        model: str | None = None, update_index: bool = True) -> dict[str, int]:
    """Embed the chunks of the conversations (all when None) whose text changed; drop chunks that vanished.

    Reads, embeds (outside any transaction) and writes one batch of conversations at a time, then brings
    the FAISS index up to date. Returns counts: conversations, chunks, embedded, unchanged, deleted.
    """
    model = model or get_settings().embedding_model
    if conversation_ids is None:
        with session_scope(engine) as conn:
            conversation_ids = repo.list_conversation_ids(conn)
    stats = {"conversations": len(conversation_ids), "chunks": 0, "embedded": 0, "unchanged": 0, "deleted": 0}
    for start in range(0, len(conversation_ids), CONVERSATION_BATCH):
        batch = conversation_ids[start:start + CONVERSATION_BATCH]
        with session_scope(engine) as conn:
            chunks = chunk_conversations(repo.list_chunk_messages(conn, conversation_ids=batch))
            known = vectors_repo.list_chunk_hashes(conn, model=model, ref_ids=batch)
        # by length: each gateway call then holds texts of about one length (less padding in the model)
        changed = sorted((c for c in chunks if known.get((c.conversation_id, c.index)) != c.content_hash),
                         key=lambda c: len(c.text))
        rows = []
        for first in range(0, len(changed), EMBED_BATCH):
            part = changed[first:first + EMBED_BATCH]
            vectors = np.asarray(llm.embed(model=model, texts=[c.text for c in part], purpose="search.chunks",
                                       engine=engine), dtype="<f4")
            rows += [{
                "ref_id": c.conversation_id, "chunk_index": c.index, "dims": vectors.shape[1],
                "content_hash": c.content_hash, "vector": vector.tobytes(), "text_preview": c.text[:PREVIEW_CHARS],
                "first_message_id": c.message_ids[0], "last_message_id": c.message_ids[-1],
            } for c, vector in zip(part, vectors, strict=True)]
        counts = {cid: 0 for cid in batch}
        for chunk in chunks:
            counts[chunk.conversation_id] += 1

        def write(conn: Any, rows: list[dict[str, Any]] = rows, counts: dict[int, int] = counts) -> int:
            vectors_repo.replace_chunks(conn, model=model, rows=rows)
            return sum(vectors_repo.delete_chunks_from(conn, model=model, ref_id=cid, chunk_index=n)
                       for cid, n in counts.items())

        stats["deleted"] += run_write(write, engine=engine)
        stats["chunks"] += len(chunks)
        stats["embedded"] += len(changed)
        stats["unchanged"] += len(chunks) - len(changed)
    if update_index and (stats["embedded"] or stats["deleted"]):
        vector_index.update_index(engine, model=model)
    return stats


def embed_pending(engine: Engine, *, model: str | None = None, limit: int = PENDING_BATCH) -> dict[str, int]:
    """Embed up to `limit` conversations (past `open`) whose chunks are missing or may be stale.

    Missing: no chunk with `model`. Possibly stale: changed (`updated_at`) after the sweep's cursor, which
    moves on only once they are embedded, so a lost `conversation.sealed` event is caught on the next sweep.
    Unchanged chunks are skipped by content hash, so a conversation seen twice costs no embedding.
    Then up to `limit` analyses changed after their own cursor are embedded (`analyses.embed_pending_analyses`).
    """
    model = model or get_settings().embedding_model
    with session_scope(engine) as conn:
        missing = repo.list_unembedded_conversation_ids(conn, model=model, limit=limit)
        updated_at, after_id = repo.get_embed_cursor(conn, model=model)
        changed = repo.list_conversations_updated_after(
            conn, updated_at=updated_at, conversation_id=after_id, limit=max(0, limit - len(missing)))
    ids = list(dict.fromkeys([*missing, *(row["id"] for row in changed)]))
    stats = embed_conversations(engine, ids, model=model) if ids else {
        "conversations": 0, "chunks": 0, "embedded": 0, "unchanged": 0, "deleted": 0}
    if changed:
        last = changed[-1]
        run_write(lambda conn: repo.set_embed_cursor(conn, model=model, updated_at=last["updated_at"],
                                                     conversation_id=last["id"]), engine=engine)
    found = analyses.embed_pending_analyses(engine, model=model, limit=limit)
    return {**stats, "analyses": found["analyses"], "analyses_embedded": found["embedded"]}


# ---- search -------------------------------------------------------------------------------------------

def fts_expression(q: str) -> str | None:
    """The user's content words as an FTS5 expression: each word quoted (no operators), any may match.
    Stopwords are left out (one like "you" matches most messages and makes every query slow to rank)
    unless the query has nothing else."""
    words = content_words(q)
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


def fts_ranking(engine: Engine, q: str, filters: dict[str, Any], *, limit: int = 500,
                match: str | None = None) -> list[dict[str, Any]]:
    match = fts_expression(q) if match is None else (match or None)  # "": no full-text side
    if match is None:
        return []
    with session_scope(engine) as conn:
        return repo.fts_message_hits(conn, match=match, filters=filters, limit=limit)


class QueryVectors:
    """The vectors of recent query texts, by (model, text), least recently used dropped first: a query typed
    again (the next page, another sort, a filter added) is not embedded again."""

    def __init__(self, size: int = QUERY_VECTORS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._held: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, model: str, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._held.get((model, text))
            if vector is not None:
                self._held.move_to_end((model, text))
            return vector

    def put(self, model: str, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._held[(model, text)] = vector
            self._held.move_to_end((model, text))
            while len(self._held) > self._size:
                self._held.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()


query_vectors = QueryVectors()


def query_vector(engine: Engine, q: str, *, model: str) -> np.ndarray:
    """The embedding of a query text (float32), from `query_vectors` when it was embedded lately."""
    key = " ".join(q.split())
    vector = query_vectors.get(model, key)
    if vector is None:
        (embedded,) = llm.embed(model=model, texts=[key], purpose="search.query", engine=engine)
        vector = np.asarray(embedded, dtype=np.float32)
        vector.flags.writeable = False  # shared by every search of this text
        query_vectors.put(model, key, vector)
    return vector


def vector_ranking(engine: Engine, q: str, filters: dict[str, Any], *, model: str,
                   limit: int = 200) -> list[dict[str, Any]]:
    """Chunks nearest to the query, each with its messages that pass the filters (chunks with none dropped)."""
    if not q.strip():
        return []
    with stage("vector.index_load"):
        loaded = _index_cache.get(engine, model=model)
    if loaded.count == 0:
        return []
    among = None
    if any(v is not None for v in filters.values()):  # searched inside the scope, not filtered afterwards
        with stage("vector.scope_sql"), session_scope(engine) as conn:
            among = np.asarray(repo.list_chunk_embedding_ids(conn, model=model, filters=filters), dtype=np.int64)
        if not len(among):
            return []
    with stage("vector.embed_query"):
        query = query_vector(engine, q, model=model)
    with stage("vector.faiss"):
        hits = loaded.search(query, limit, among=among)
    with stage("vector.chunk_members_sql"), session_scope(engine) as conn:
        chunks = repo.list_chunks_with_members(conn, chunk_ids=[chunk_id for chunk_id, _ in hits], filters=filters)
    out = []
    for chunk_id, score in hits:
        if chunk_id in chunks:
            out.append({**chunks[chunk_id], "score": score})
            if len(out) >= limit:
                break
    return out


def hybrid_search(engine: Engine, q: str, *, chat_id: int | None = None, contact_id: int | None = None,
                  since: int | None = None, until: int | None = None, limit: int = 20,
                  mode: str = "hybrid", model: str | None = None, chat_ids: list[int] | None = None,
                  fts_match: str | None = None) -> list[dict[str, Any]]:
    """Conversations matching `q`, best first: bm25 and vector rankings fused by reciprocal rank (k=60).

    mode "fts" or "vector" uses one ranking alone. Each result carries its matched messages: the full-text
    hits in it, then messages of its nearest chunk that share a word with the query. `chat_ids` narrows to
    several chats (None: all); `fts_match` replaces the FTS5 expression made of the query's words ("":
    nothing matches by full text).
    """
    model = model or get_settings().embedding_model
    filters = {"chat_id": chat_id, "contact_id": contact_id, "since": since, "until": until,
               "chat_ids": None if chat_ids is None else json.dumps([int(c) for c in chat_ids])}
    fts = fts_ranking(engine, q, filters, match=fts_match) if mode in ("hybrid", "fts") else []
    vec = (vector_ranking(engine, q, filters, model=model, limit=max(50, 3 * limit))
           if mode in ("hybrid", "vector") else [])

    fts_by_conv: dict[int, list[int]] = defaultdict(list)
    for hit in fts:
        fts_by_conv[hit["conversation_id"]].append(hit["id"])
    vec_by_conv: dict[int, dict[str, Any]] = {}
    for hit in vec:
        vec_by_conv.setdefault(hit["ref_id"], hit)
    scores: dict[int, float] = defaultdict(float)
    for rank, cid in enumerate(fts_by_conv, start=1):
        scores[cid] += 1 / (RRF_K + rank)
    for rank, cid in enumerate(vec_by_conv, start=1):
        scores[cid] += 1 / (RRF_K + rank)
    ranked = sorted(scores, key=lambda cid: (-scores[cid], cid))[:limit]

    words = set(query_words(q))
    picks: dict[int, list[int]] = {}
    for cid in ranked:
        chosen = fts_by_conv.get(cid, [])[:MAX_MATCHED_MESSAGES]
        picks[cid] = list(chosen)
    with session_scope(engine) as conn:
        chunk_texts = repo.get_message_texts(conn, ids=[m for cid in ranked if cid in vec_by_conv
                                                        for m in vec_by_conv[cid]["message_ids"]])
        for cid in ranked:
            if cid in vec_by_conv and len(picks[cid]) < MAX_MATCHED_MESSAGES:
                extra = [m for m in vec_by_conv[cid]["message_ids"] if m not in picks[cid]]
                shared = {m: len(words & set(query_words(chunk_texts.get(m, "")))) for m in extra}
                best = sorted(extra, key=lambda m: -shared[m])  # stable: time order among equals
                take = [m for m in best if shared[m]] or best[:1]
                picks[cid].extend(take[:MAX_MATCHED_MESSAGES - len(picks[cid])])
        messages = repo.get_messages(conn, ids=[m for ids in picks.values() for m in ids])
    results = []
    for cid in ranked:
        matched = sorted((messages[m] for m in picks[cid]), key=lambda m: (m["sent_at"], m["id"]))
        results.append({
            "conversation_id": cid,
            "chat_id": matched[0]["chat_id"] if matched else None,
            "score": round(scores[cid], 6),
            "sources": [name for name, found in (("fts", cid in fts_by_conv), ("vector", cid in vec_by_conv))
                        if found],
            "messages": [{"id": m["id"], "guid": m["guid"], "text": m["text"], "sent_at": m["sent_at"],
                          "sender": m["sender"], "sender_contact_id": m["sender_contact_id"],
                          "is_from_me": bool(m["is_from_me"])} for m in matched],
        })
    return results
