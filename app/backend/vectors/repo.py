"""SQL over the `embeddings` table (the truth of every vector) and the index version in sync_state."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from backend.db.clock import now_ms
from backend.db.session import fetch_all, fetch_one

INDEX_VERSION_KEY = "vectors.index_version"


def list_chunk_hashes(conn: Connection, *, model: str, ref_ids: list[int]) -> dict[tuple[int, int], str]:
    """(conversation id, chunk index) -> content hash of the chunks already embedded with `model`."""
    found: dict[tuple[int, int], str] = {}
    for start in range(0, len(ref_ids), 500):
        part = ref_ids[start:start + 500]
        marks = ", ".join(f":r{i}" for i in range(len(part)))
        rows = fetch_all(conn, f"""
            SELECT ref_id, chunk_index, content_hash FROM embeddings
            WHERE kind = 'chunk' AND model = :model AND ref_id IN ({marks})
        """, {"model": model, **{f"r{i}": ref for i, ref in enumerate(part)}})
        found.update({(row["ref_id"], row["chunk_index"]): row["content_hash"] for row in rows})
    return found


def replace_chunks(conn: Connection, *, model: str, rows: list[dict[str, Any]]) -> None:
    """Insert chunks, replacing (new id) any existing row of the same (ref, index, model).

    A changed chunk gets a new id so the index can tell it from the vector it replaces.
    """
    created = now_ms()
    for row in rows:
        conn.execute(text("""
            DELETE FROM embeddings WHERE kind = 'chunk' AND ref_id = :ref_id AND chunk_index = :chunk_index
                                   AND model = :model
        """), {"ref_id": row["ref_id"], "chunk_index": row["chunk_index"], "model": model})
        conn.execute(text("""
            INSERT INTO embeddings (kind, ref_id, chunk_index, model, dims, content_hash, vector, text_preview,
                                    first_message_id, last_message_id, created_at)
            VALUES ('chunk', :ref_id, :chunk_index, :model, :dims, :content_hash, :vector, :text_preview,
                    :first_message_id, :last_message_id, :created_at)
        """), {**row, "model": model, "created_at": created})


def delete_chunks_from(conn: Connection, *, model: str, ref_id: int, chunk_index: int) -> int:
    """Drop a conversation's chunks at or past `chunk_index` (it became shorter)."""
    return conn.execute(text("""
        DELETE FROM embeddings WHERE kind = 'chunk' AND model = :model AND ref_id = :ref_id
                               AND chunk_index >= :chunk_index
    """), {"model": model, "ref_id": ref_id, "chunk_index": chunk_index}).rowcount


def load_vectors(conn: Connection, *, model: str) -> tuple[np.ndarray, np.ndarray]:
    """All ids (int64) and vectors (float32, n x dims) of `model`, by id."""
    rows = conn.execute(text("SELECT id, vector FROM embeddings WHERE model = :model ORDER BY id"),
                        {"model": model}).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype="<f4").reshape(len(rows), -1)
    return ids, vectors.astype(np.float32)


def list_ids(conn: Connection, *, model: str) -> np.ndarray:
    rows = conn.execute(text("SELECT id FROM embeddings WHERE model = :model"), {"model": model}).all()
    return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))


def load_vectors_after(conn: Connection, *, model: str, after_id: int) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute(text("SELECT id, vector FROM embeddings WHERE model = :model AND id > :after ORDER BY id"),
                        {"model": model, "after": after_id}).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    return ids, np.frombuffer(b"".join(row[1] for row in rows), dtype="<f4").reshape(len(rows), -1).copy()


def get_index_version(conn: Connection) -> int:
    row = fetch_one(conn, "SELECT value FROM sync_state WHERE key = :key", {"key": INDEX_VERSION_KEY})
    return int(row["value"]) if row else 0


def bump_index_version(conn: Connection) -> int:
    """The next index version (written in the caller's transaction)."""
    version = get_index_version(conn) + 1
    conn.execute(text("""
        INSERT INTO sync_state (key, value, updated_at) VALUES (:key, :value, :now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """), {"key": INDEX_VERSION_KEY, "value": str(version), "now": now_ms()})
    return version
