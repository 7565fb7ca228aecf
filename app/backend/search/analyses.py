"""Analyses as vectors: each conversation analysis (its summary, top topics and entities as short text) is
embedded like a chunk, under kind 'analysis' in the same `embeddings` table, with its own FAISS index.

Search results stay message results (`service.hybrid_search`); the analyses' vectors serve the `analyses`
retriever, which ranks what the analyses found by similarity to the question.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from backend import llm  # its gateway (and LiteLLM) load on the first embed
from backend.config import get_settings
from backend.db.session import run_write, session_scope
from backend.search import repo
from backend.vectors import index as vector_index
from backend.vectors import repo as vectors_repo
from backend.vectors.repo import ANALYSIS

PREVIEW_CHARS = 200
EMBED_BATCH = 256
_index_cache = vector_index.IndexCache()


def document_text(row: dict[str, Any]) -> str:
    """What is embedded of an analysis: its summary, then its topics and entities as short lines."""
    lines = [(row.get("summary") or "").strip()]
    if row.get("topics"):
        lines.append(f"Topics: {row['topics']}")
    if row.get("entities"):
        lines.append(f"Mentioned: {row['entities']}")
    return "\n".join(line for line in lines if line)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_analyses(engine: Engine, conversation_ids: list[int] | None = None, *, model: str | None = None,
                   documents: list[dict[str, Any]] | None = None, update_index: bool = True) -> dict[str, int]:
    """Embed the analyses of these conversations (or the `documents` given) whose text changed.

    An analysis with no text (a pass that found nothing to summarise) has no vector; vectors of analyses
    that are gone are dropped. Returns counts: analyses, embedded, unchanged (with text), deleted.
    """
    model = model or get_settings().embedding_model
    if documents is None:
        with session_scope(engine) as conn:
            documents = repo.list_analysis_documents(conn, conversation_ids=list(conversation_ids or []))
    texts = {row["id"]: document_text(row) for row in documents}
    with session_scope(engine) as conn:
        known = vectors_repo.list_hashes(conn, model=model, kind=ANALYSIS, ref_ids=list(texts))
    changed = [(ref, text) for ref, text in texts.items() if text and known.get((ref, 0)) != content_hash(text)]
    empty = [ref for ref, text in texts.items() if not text and (ref, 0) in known]
    rows = []
    for start in range(0, len(changed), EMBED_BATCH):
        part = changed[start:start + EMBED_BATCH]
        vectors = np.asarray(llm.embed(model=model, texts=[text for _, text in part], purpose="search.analyses",
                                   engine=engine), dtype="<f4")
        rows += [{"ref_id": ref, "chunk_index": 0, "dims": vectors.shape[1], "content_hash": content_hash(text),
                  "vector": vector.tobytes(), "text_preview": text[:PREVIEW_CHARS]}
                 for (ref, text), vector in zip(part, vectors, strict=True)]

    def write(conn: Connection) -> int:
        vectors_repo.replace_units(conn, model=model, kind=ANALYSIS, rows=rows)
        return (vectors_repo.delete_units(conn, model=model, kind=ANALYSIS, ref_ids=empty)
                + repo.delete_orphan_analysis_embeddings(conn, model=model))

    deleted = run_write(write, engine=engine)
    with_text = sum(1 for text in texts.values() if text)
    stats = {"analyses": len(texts), "embedded": len(rows), "unchanged": with_text - len(rows), "deleted": deleted}
    if update_index and (rows or deleted):
        vector_index.update_index(engine, model=model, kind=ANALYSIS)
    return stats


def embed_pending_analyses(engine: Engine, *, model: str | None = None, limit: int) -> dict[str, int]:
    """Embed up to `limit` analyses changed after the sweep's cursor (every analysis, the first time), so an
    analysis whose event was lost, or a new embedding model, is caught on the next sweep."""
    model = model or get_settings().embedding_model
    with session_scope(engine) as conn:
        updated_at, after_id = repo.get_analysis_cursor(conn, model=model)
        documents = repo.list_analysis_documents_updated_after(conn, updated_at=updated_at, analysis_id=after_id,
                                                               limit=limit)
    stats = embed_analyses(engine, model=model, documents=documents)
    if documents:
        last = documents[-1]
        run_write(lambda conn: repo.set_analysis_cursor(conn, model=model, updated_at=last["updated_at"],
                                                        analysis_id=last["id"]), engine=engine)
    return stats


def nearest_analyses(engine: Engine, question: str, *, chat_ids: list[int] | None = None,
                     conversation_ids: list[int] | None = None, since: int | None = None, limit: int = 20,
                     model: str | None = None) -> list[dict[str, Any]]:
    """Analyses most similar to the question, best first, each with its score (cosine), conversation and chat;
    empty when nothing is embedded."""
    model = model or get_settings().embedding_model
    if not question.strip() or limit <= 0:
        return []
    loaded = _index_cache.get(engine, model=model, kind=ANALYSIS)
    if loaded.count == 0:
        return []
    among = None
    if any(v is not None for v in (chat_ids, conversation_ids, since)):
        with session_scope(engine) as conn:
            among = np.asarray(repo.list_analysis_embedding_ids(conn, model=model, chat_ids=chat_ids,
                                                                conversation_ids=conversation_ids, since=since),
                               dtype=np.int64)
        if not len(among):
            return []
    (query,) = llm.embed(model=model, texts=[question], purpose="search.query", engine=engine)
    hits = loaded.search(np.asarray(query, dtype=np.float32), limit, among=among)
    with session_scope(engine) as conn:
        found = repo.list_analysis_hits(conn, embedding_ids=[i for i, _ in hits])
    return [{**found[i], "score": score} for i, score in hits if i in found]
