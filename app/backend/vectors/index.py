"""The FAISS index: a derived cache of the `embeddings` table, one file per model in the data dir.

The file is one header (magic, JSON meta: model, dims, version, count, max_id) followed by a serialized
`IndexIDMap(IndexFlatIP)` whose ids are `embeddings.id` (vectors are unit length: inner product = cosine).
It is written to a temporary file and renamed over the old one, so a build that dies half-way leaves
the previous index in place. Every write bumps `vectors.index_version` in sync_state; `IndexCache`
(the API's copy) reloads the file when that number moves.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from sqlalchemy import Engine

from backend.config import data_dir
from backend.db.session import run_write, session_scope
from backend.vectors import repo

log = logging.getLogger(__name__)

MAGIC = b"CHATSTATS-FAISS-1\n"
ADD_BATCH = 10_000

# One query against a flat index is a single pass over memory; OpenMP's thread start-up and spin-waits cost
# more than they save (20k-message bench, 2 cores: 1.8 ms -> 0.14 ms a search) and compete with the API.
faiss.omp_set_num_threads(1)


@dataclass
class LoadedIndex:
    model: str
    dims: int
    version: int
    max_id: int
    index: faiss.IndexIDMap

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.count == 0 or k <= 0:
            return []
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, self.count))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def index_path(model: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model)
    return data_dir() / "vectors" / f"{slug}.faiss"


def read_index(path: Path) -> LoadedIndex | None:
    """The index in `path`, or None when there is none or it is unreadable (then it is rebuilt)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not a ChatStats index file")
        (size,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        meta = json.loads(data[start:start + size])
        index = faiss.deserialize_index(np.frombuffer(data[start + size:], dtype=np.uint8))
    except Exception:  # noqa: BLE001 - a cache: any damage means "rebuild"
        log.warning("index file %s is unreadable; it will be rebuilt", path, exc_info=True)
        return None
    return LoadedIndex(meta["model"], int(meta["dims"]), int(meta["version"]), int(meta["max_id"]), index)


def write_index(path: Path, loaded: LoadedIndex) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"model": loaded.model, "dims": loaded.dims, "version": loaded.version,
                       "count": loaded.count, "max_id": loaded.max_id}).encode()
    body = faiss.serialize_index(loaded.index)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with tmp.open("wb") as handle:
            handle.write(MAGIC + struct.pack("<I", len(meta)) + meta)
            handle.write(body.tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _empty(dims: int) -> faiss.IndexIDMap:
    return faiss.IndexIDMap(faiss.IndexFlatIP(dims))


def _add(index: faiss.IndexIDMap, ids: np.ndarray, vectors: np.ndarray,
         on_batch: Callable[[int], None] | None) -> None:
    for start in range(0, len(ids), ADD_BATCH):
        index.add_with_ids(np.ascontiguousarray(vectors[start:start + ADD_BATCH]), ids[start:start + ADD_BATCH])
        if on_batch:
            on_batch(start + len(ids[start:start + ADD_BATCH]))


def build_index(engine: Engine, *, model: str, on_batch: Callable[[int], None] | None = None) -> LoadedIndex:
    """Rebuild the model's index from the table and replace the file (the old one stays on failure)."""
    with session_scope(engine) as conn:
        ids, vectors = repo.load_vectors(conn, model=model)
    dims = vectors.shape[1] if len(ids) else 0
    index = _empty(dims or 1)
    _add(index, ids, vectors, on_batch)
    return _publish(engine, LoadedIndex(model, dims, 0, int(ids.max()) if len(ids) else 0, index))


def update_index(engine: Engine, *, model: str) -> LoadedIndex:
    """Bring the file up to the table: drop vectors that are gone, add the new ones (ids only grow).

    Falls back to a full build when there is no usable file or it was built for another model.
    """
    path = index_path(model)
    loaded = read_index(path)
    if loaded is None or loaded.model != model:
        return build_index(engine, model=model)
    with session_scope(engine) as conn:
        live = repo.list_ids(conn, model=model)
        new_ids, new_vectors = repo.load_vectors_after(conn, model=model, after_id=loaded.max_id)
    if len(new_ids) and loaded.dims and new_vectors.shape[1] != loaded.dims:
        return build_index(engine, model=model)
    have = faiss.vector_to_array(loaded.index.id_map).astype(np.int64)
    gone = np.setdiff1d(have, live, assume_unique=True)
    if not len(gone) and not len(new_ids):
        return loaded
    if len(gone):
        loaded.index.remove_ids(faiss.IDSelectorBatch(gone))
    if len(new_ids):
        if loaded.count == 0 and not loaded.dims:
            loaded.index, loaded.dims = _empty(new_vectors.shape[1]), new_vectors.shape[1]
        _add(loaded.index, new_ids, new_vectors, None)
        loaded.max_id = int(new_ids.max())
    return _publish(engine, loaded)


def ensure_index(engine: Engine, *, model: str) -> LoadedIndex:
    """The model's index: read from its file, rebuilt when the file is missing, damaged or of another model."""
    loaded = read_index(index_path(model))
    if loaded is None or loaded.model != model:
        return build_index(engine, model=model)
    return loaded


def _publish(engine: Engine, loaded: LoadedIndex) -> LoadedIndex:
    with session_scope(engine) as conn:
        loaded.version = repo.get_index_version(conn) + 1
    write_index(index_path(loaded.model), loaded)
    run_write(repo.bump_index_version, engine=engine)  # after the file is in place: readers then reload it
    return loaded


class IndexCache:
    """The API's in-memory copy of an index, reloaded when the version in sync_state moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: LoadedIndex | None = None
        self._seen_version: int | None = None
        self._path: Path | None = None

    def get(self, engine: Engine, *, model: str) -> LoadedIndex:
        with session_scope(engine) as conn:
            version = repo.get_index_version(conn)
        with self._lock:
            path = index_path(model)
            stale = (self._loaded is None or self._loaded.model != model or version != self._seen_version
                     or path != self._path)
            if stale:
                self._loaded, self._path = ensure_index(engine, model=model), path
                with session_scope(engine) as conn:
                    self._seen_version = repo.get_index_version(conn)
            assert self._loaded is not None
            return self._loaded
