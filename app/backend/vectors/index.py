"""The FAISS indexes: derived caches of the `embeddings` table, one file per (model, kind) in the data dir.

A file is one header (magic, JSON meta: model, kind, dims, version, count, max_id) followed by a serialized
`IndexIDMap(IndexFlatIP)` whose ids are `embeddings.id` (vectors are unit length: inner product = cosine).
It is written to a temporary file and renamed over the old one, so a build that dies half-way leaves
the previous index in place. Every write bumps the kind's index version in sync_state; `IndexCache`
(the API's copy) reloads a file when its number moves. Builds read the table in blocks and files are
streamed to and from disk, so no step holds a second full copy of the vectors.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine

from backend.config import data_dir
from backend.db.session import run_write, session_scope
from backend.vectors import repo
from backend.vectors.repo import CHUNK

log = logging.getLogger(__name__)

MAGIC = b"CHATSTATS-FAISS-1\n"
ADD_BATCH = repo.READ_BLOCK



class _LazyFaiss:
    """FAISS takes seconds to import: it is imported on the first use of an index, not with this module."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module("faiss")
        # One query against a flat index is a single pass over memory; OpenMP's thread start-up and spin-waits
        # cost more than they save (20k-message bench, 2 cores: 1.8 ms -> 0.14 ms a search) and compete with
        # the API.
        module.omp_set_num_threads(1)
        globals()["faiss"] = module
        return getattr(module, name)


if TYPE_CHECKING:
    import faiss
else:
    faiss = _LazyFaiss()


@dataclass
class LoadedIndex:
    model: str
    dims: int
    version: int
    max_id: int
    index: faiss.IndexIDMap
    kind: str = CHUNK

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int, *, among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k nearest (id, score), best first; `among`: only these ids (a filter applied inside the scan)."""
        if self.count == 0 or k <= 0 or (among is not None and not len(among)):
            return []
        params = None
        if among is not None:
            params = faiss.SearchParameters(sel=  # type: ignore[call-arg]  # faiss's stubs omit SWIG properties
                faiss.IDSelectorBatch(np.asarray(among, dtype=np.int64)))
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, self.count),
                                        params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def index_path(model: str, kind: str = CHUNK) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model)
    suffix = "" if kind == CHUNK else f".{kind}"
    return data_dir() / "vectors" / f"{slug}{suffix}.faiss"


def read_index(path: Path) -> LoadedIndex | None:
    """The index in `path`, or None when there is none or it is unreadable (then it is rebuilt)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    try:
        with handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a ChatStats index file")
            (size,) = struct.unpack("<I", handle.read(4))
            meta = json.loads(handle.read(size))
            index = faiss.read_index(faiss.PyCallbackIOReader(handle.read))  # type: ignore[attr-defined]  # not in faiss's stubs
    except Exception:
        log.warning("index file %s is unreadable; it will be rebuilt", path, exc_info=True)
        return None
    if not isinstance(index, faiss.IndexIDMap):
        index = faiss.downcast_index(index)
    return LoadedIndex(meta["model"], int(meta["dims"]), int(meta["version"]), int(meta["max_id"]),
                       index,  # type: ignore[arg-type]  # downcast_index returns the IndexIDMap it wraps
                       meta.get("kind", CHUNK))


def write_index(path: Path, loaded: LoadedIndex) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"model": loaded.model, "kind": loaded.kind, "dims": loaded.dims, "version": loaded.version,
                       "count": loaded.count, "max_id": loaded.max_id}).encode()
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with tmp.open("wb") as handle:
            handle.write(MAGIC + struct.pack("<I", len(meta)) + meta)
            writer = faiss.PyCallbackIOWriter(handle.write)  # type: ignore[attr-defined]  # not in faiss's stubs
            faiss.write_index(loaded.index, writer)
            del writer  # flushes its buffer into the handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _empty(dims: int) -> faiss.IndexIDMap:
    return faiss.IndexIDMap(faiss.IndexFlatIP(dims))


def build_index(engine: Engine, *, model: str, kind: str = CHUNK,
                on_batch: Callable[[int], None] | None = None) -> LoadedIndex:
    """Rebuild the index of (model, kind) from the table and replace its file (the old one stays on failure).

    The table is read `ADD_BATCH` vectors at a time, each block added and dropped before the next is read.
    """
    index: faiss.IndexIDMap | None = None
    dims = max_id = added = 0
    with session_scope(engine) as conn:
        for ids, vectors in repo.iter_vectors(conn, model=model, kind=kind, block=ADD_BATCH):
            if index is None:
                dims, index = vectors.shape[1], _empty(vectors.shape[1])
            index.add_with_ids(vectors, ids)
            max_id, added = int(ids[-1]), added + len(ids)
            if on_batch:
                on_batch(added)
    return _publish(engine, LoadedIndex(model, dims, 0, max_id, index or _empty(1), kind))


def update_index(engine: Engine, *, model: str, kind: str = CHUNK) -> LoadedIndex:
    """Bring the file up to the table: drop vectors that are gone, add the new ones (ids only grow).

    Falls back to a full build when there is no usable file or it was built for another model.
    """
    loaded = read_index(index_path(model, kind))
    if loaded is None or loaded.model != model or loaded.kind != kind:
        return build_index(engine, model=model, kind=kind)
    changed = False
    with session_scope(engine) as conn:
        live = repo.list_ids(conn, model=model, kind=kind)
        have = faiss.vector_to_array(loaded.index.id_map).astype(np.int64)
        gone = np.setdiff1d(have, live, assume_unique=True)
        if len(gone):
            loaded.index.remove_ids(faiss.IDSelectorBatch(gone))
            changed = True
        for ids, vectors in repo.iter_vectors(conn, model=model, kind=kind, after_id=loaded.max_id):
            if loaded.dims and vectors.shape[1] != loaded.dims:
                break  # another dimension under the same name: rebuilt below
            if not loaded.dims:
                loaded.index, loaded.dims = _empty(vectors.shape[1]), vectors.shape[1]
            loaded.index.add_with_ids(vectors, ids)
            loaded.max_id, changed = int(ids[-1]), True
        else:
            return _publish(engine, loaded) if changed else loaded
    return build_index(engine, model=model, kind=kind)


def ensure_index(engine: Engine, *, model: str, kind: str = CHUNK) -> LoadedIndex:
    """The index of (model, kind): read from its file, rebuilt when the file is missing, damaged or of another model."""
    loaded = read_index(index_path(model, kind))
    if loaded is None or loaded.model != model or loaded.kind != kind:
        return build_index(engine, model=model, kind=kind)
    return loaded


def _publish(engine: Engine, loaded: LoadedIndex) -> LoadedIndex:
    with session_scope(engine) as conn:
        loaded.version = repo.get_index_version(conn, kind=loaded.kind) + 1
    write_index(index_path(loaded.model, loaded.kind), loaded)
    # after the file is in place: readers then reload it
    run_write(lambda conn: repo.bump_index_version(conn, kind=loaded.kind), engine=engine)
    return loaded


class IndexCache:
    """The API's in-memory copies of the indexes, each reloaded when its version in sync_state moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, str], tuple[LoadedIndex, int, Path]] = {}

    def get(self, engine: Engine, *, model: str, kind: str = CHUNK) -> LoadedIndex:
        with session_scope(engine) as conn:
            version = repo.get_index_version(conn, kind=kind)
        with self._lock:
            path = index_path(model, kind)
            held = self._loaded.get((model, kind))
            if held is None or held[1] != version or held[2] != path:
                for key in [key for key in self._loaded if key[1] == kind]:
                    del self._loaded[key]  # the old copy (or another model's) goes before the new one is read
                loaded = ensure_index(engine, model=model, kind=kind)
                with session_scope(engine) as conn:
                    seen = repo.get_index_version(conn, kind=kind)
                held = (loaded, seen, path)
                self._loaded[(model, kind)] = held
            return held[0]
