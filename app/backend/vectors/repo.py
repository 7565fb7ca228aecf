"""SQL over the `embeddings` table (the truth of every vector) and the index versions in sync_state.

`kind` names what a row embeds: 'chunk' (a window of a conversation's messages; ref_id = conversation id)
or 'analysis' (a conversation analysis; ref_id = conversation_analyses.id). Each kind of each model has its
own FAISS index, so the functions that feed an index take both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from backend.db.clock import now_ms
from backend.db.session import fetch_all, fetch_one

CHUNK = "chunk"
ANALYSIS = "analysis"
KINDS = (CHUNK, ANALYSIS)
INDEX_VERSION_KEY = "vectors.index_version"  # the chunks' index (the key predates analyses)
READ_BLOCK = 8192  # vectors read per query when an index is built or updated


def index_version_key(kind: str = CHUNK) -> str:
    return INDEX_VERSION_KEY if kind == CHUNK else f"{INDEX_VERSION_KEY}.{kind}"


def list_hashes(conn: Connection, *, model: str, kind: str, ref_ids: list[int]) -> dict[tuple[int, int], str]:
    """(ref id, chunk index) -> content hash of the units of `kind` already embedded with `model`."""
    found: dict[tuple[int, int], str] = {}
    for start in range(0, len(ref_ids), 500):
        part = ref_ids[start:start + 500]
        marks = ", ".join(f":r{i}" for i in range(len(part)))
        rows = fetch_all(conn, f"""
            SELECT ref_id, chunk_index, content_hash FROM embeddings
            WHERE kind = :kind AND model = :model AND ref_id IN ({marks})
        """, {"kind": kind, "model": model, **{f"r{i}": ref for i, ref in enumerate(part)}})
        found.update({(row["ref_id"], row["chunk_index"]): row["content_hash"] for row in rows})
    return found


def list_chunk_hashes(conn: Connection, *, model: str, ref_ids: list[int]) -> dict[tuple[int, int], str]:
    """(conversation id, chunk index) -> content hash of the chunks already embedded with `model`."""
    return list_hashes(conn, model=model, kind=CHUNK, ref_ids=ref_ids)


def replace_units(conn: Connection, *, model: str, kind: str, rows: list[dict[str, Any]]) -> None:
    """Insert units of `kind`, replacing (new id) any existing row of the same (ref, index, model).

    A changed unit gets a new id so the index can tell it from the vector it replaces.
    """
    if not rows:
        return
    created = now_ms()
    keys = [{"kind": kind, "model": model, "ref_id": row["ref_id"], "chunk_index": row["chunk_index"]}
            for row in rows]
    conn.execute(text("""
        DELETE FROM embeddings WHERE kind = :kind AND ref_id = :ref_id AND chunk_index = :chunk_index
                               AND model = :model
    """), keys)
    conn.execute(text("""
        INSERT INTO embeddings (kind, ref_id, chunk_index, model, dims, content_hash, vector, text_preview,
                                first_message_id, last_message_id, created_at)
        VALUES (:kind, :ref_id, :chunk_index, :model, :dims, :content_hash, :vector, :text_preview,
                :first_message_id, :last_message_id, :created_at)
    """), [{"first_message_id": None, "last_message_id": None, "text_preview": None, **row, "kind": kind,
            "model": model, "created_at": created} for row in rows])


def replace_chunks(conn: Connection, *, model: str, rows: list[dict[str, Any]]) -> None:
    replace_units(conn, model=model, kind=CHUNK, rows=rows)


def delete_chunks_from(conn: Connection, *, model: str, ref_id: int, chunk_index: int) -> int:
    """Drop a conversation's chunks at or past `chunk_index` (it became shorter)."""
    return conn.execute(text("""
        DELETE FROM embeddings WHERE kind = 'chunk' AND model = :model AND ref_id = :ref_id
                               AND chunk_index >= :chunk_index
    """), {"model": model, "ref_id": ref_id, "chunk_index": chunk_index}).rowcount


def delete_units(conn: Connection, *, model: str, kind: str, ref_ids: list[int]) -> int:
    """Drop every unit of `kind` and `model` of these refs."""
    if not ref_ids:
        return 0
    return conn.execute(text("""
        DELETE FROM embeddings WHERE kind = :kind AND model = :model
                               AND ref_id IN (SELECT value FROM json_each(:ref_ids))
    """), {"kind": kind, "model": model, "ref_ids": _json_ids(ref_ids)}).rowcount


def iter_vectors(conn: Connection, *, model: str, kind: str = CHUNK, after_id: int = 0,
                 block: int = READ_BLOCK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Ids (int64) and vectors (float32, n x dims) with id > after_id, by id, `block` rows at a time:
    an index is built without holding every blob (or a Python list of them) at once."""
    last = after_id
    while True:
        rows = conn.execute(text("""
            SELECT id, vector FROM embeddings WHERE model = :model AND kind = :kind AND id > :after
            ORDER BY id LIMIT :block
        """), {"model": model, "kind": kind, "after": last, "block": block}).all()
        if not rows:
            return
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = np.empty((len(rows), len(rows[0][1]) // 4), dtype=np.float32)
        for i, row in enumerate(rows):
            vectors[i] = np.frombuffer(row[1], dtype="<f4")
        del rows
        last = int(ids[-1])
        yield ids, vectors


def load_vectors(conn: Connection, *, model: str, kind: str = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """All ids (int64) and vectors (float32, n x dims) of `model` and `kind`, by id (small sets; tests)."""
    return load_vectors_after(conn, model=model, kind=kind, after_id=0)


def load_vectors_after(conn: Connection, *, model: str, after_id: int,
                       kind: str = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    blocks = list(iter_vectors(conn, model=model, kind=kind, after_id=after_id))
    if not blocks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def list_ids(conn: Connection, *, model: str, kind: str = CHUNK) -> np.ndarray:
    rows = conn.execute(text("SELECT id FROM embeddings WHERE model = :model AND kind = :kind"),
                        {"model": model, "kind": kind}).all()
    return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))


def get_index_version(conn: Connection, *, kind: str = CHUNK) -> int:
    row = fetch_one(conn, "SELECT value FROM sync_state WHERE key = :key", {"key": index_version_key(kind)})
    return int(row["value"]) if row else 0


def bump_index_version(conn: Connection, *, kind: str = CHUNK) -> int:
    """The next index version of `kind` (written in the caller's transaction)."""
    version = get_index_version(conn, kind=kind) + 1
    conn.execute(text("""
        INSERT INTO sync_state (key, value, updated_at) VALUES (:key, :value, :now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """), {"key": index_version_key(kind), "value": str(version), "now": now_ms()})
    return version


def _json_ids(values: list[int]) -> str:
    return json.dumps([int(v) for v in values])
