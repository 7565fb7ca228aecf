from __future__ import annotations

import numpy as np
import pytest

from backend.db.session import run_write, session_scope
from backend.vectors import index as vindex
from backend.vectors import repo

MODEL = "test/fake-4d"


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 4)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _store(engine, vectors: np.ndarray, *, ref_id: int = 1, model: str = MODEL) -> None:
    rows = [{"ref_id": ref_id, "chunk_index": i, "dims": 4, "content_hash": f"h{i}", "vector": v.tobytes(),
             "text_preview": None, "first_message_id": None, "last_message_id": None}
            for i, v in enumerate(vectors)]
    run_write(lambda conn: repo.replace_chunks(conn, model=model, rows=rows), engine=engine)


def _ids(engine, model: str = MODEL) -> list[int]:
    with session_scope(engine) as conn:
        return sorted(int(i) for i in repo.list_ids(conn, model=model))


def test_build_search_and_rebuild_after_the_file_is_deleted(migrated_engine):
    vectors = _unit(np.random.default_rng(1), 50)
    _store(migrated_engine, vectors)
    built = vindex.build_index(migrated_engine, model=MODEL)
    ids = _ids(migrated_engine)
    assert built.count == 50
    assert built.search(vectors[7], 1)[0][0] == ids[7]

    path = vindex.index_path(MODEL)
    path.unlink()
    again = vindex.ensure_index(migrated_engine, model=MODEL)
    assert path.is_file() and again.count == 50 and again.version > built.version
    assert again.search(vectors[7], 1)[0][0] == ids[7]


def test_a_crash_mid_build_leaves_the_previous_index(migrated_engine):
    rng = np.random.default_rng(2)
    first = _unit(rng, 20)
    _store(migrated_engine, first)
    old = vindex.build_index(migrated_engine, model=MODEL)
    _store(migrated_engine, _unit(rng, 30), ref_id=2)

    def crash(done: int) -> None:
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        vindex.build_index(migrated_engine, model=MODEL, on_batch=crash)
    survivor = vindex.read_index(vindex.index_path(MODEL))
    assert survivor is not None and survivor.count == 20 and survivor.version == old.version
    assert survivor.search(first[3], 1)[0][0] == _ids(migrated_engine)[3]
    assert not list(vindex.index_path(MODEL).parent.glob("*.tmp-*"))


def test_incremental_update_adds_and_removes(migrated_engine):
    rng = np.random.default_rng(3)
    _store(migrated_engine, _unit(rng, 10))
    vindex.build_index(migrated_engine, model=MODEL)
    changed = _unit(rng, 4)
    _store(migrated_engine, changed)  # chunk 0..3 of ref 1 replaced: new ids, old ones gone
    updated = vindex.update_index(migrated_engine, model=MODEL)
    assert updated.count == 10
    have = sorted(int(i) for i in vindex.faiss.vector_to_array(updated.index.id_map))
    assert have == _ids(migrated_engine)
    assert updated.search(changed[2], 1)[0][0] == max(_ids(migrated_engine)) - 1


def test_another_model_gets_its_own_index_and_the_cache_reloads_on_version(migrated_engine):
    rng = np.random.default_rng(4)
    _store(migrated_engine, _unit(rng, 5))
    cache = vindex.IndexCache()
    assert cache.get(migrated_engine, model=MODEL).count == 5
    _store(migrated_engine, _unit(rng, 3), ref_id=9)
    assert cache.get(migrated_engine, model=MODEL).count == 5  # nothing published yet
    vindex.update_index(migrated_engine, model=MODEL)
    assert cache.get(migrated_engine, model=MODEL).count == 8
    other = cache.get(migrated_engine, model="test/other")
    assert other.model == "test/other" and other.count == 0


def test_a_damaged_file_is_rebuilt(migrated_engine):
    _store(migrated_engine, _unit(np.random.default_rng(5), 6))
    vindex.build_index(migrated_engine, model=MODEL)
    vindex.index_path(MODEL).write_bytes(b"garbage")
    assert vindex.ensure_index(migrated_engine, model=MODEL).count == 6


def test_kinds_have_their_own_index_and_version_and_a_search_can_be_limited_to_ids(migrated_engine):
    rng = np.random.default_rng(6)
    chunks, notes = _unit(rng, 8), _unit(rng, 3)
    _store(migrated_engine, chunks)
    rows = [{"ref_id": 100 + i, "chunk_index": 0, "dims": 4, "content_hash": f"a{i}", "vector": v.tobytes()}
            for i, v in enumerate(notes)]
    run_write(lambda conn: repo.replace_units(conn, model=MODEL, kind=repo.ANALYSIS, rows=rows), engine=migrated_engine)
    built = vindex.build_index(migrated_engine, model=MODEL)
    analyses = vindex.build_index(migrated_engine, model=MODEL, kind=repo.ANALYSIS)
    assert (built.count, analyses.count) == (8, 3)
    assert vindex.index_path(MODEL, repo.ANALYSIS) != vindex.index_path(MODEL)
    with session_scope(migrated_engine) as conn:
        assert repo.get_index_version(conn) == 1 and repo.get_index_version(conn, kind=repo.ANALYSIS) == 1
        analysis_ids = sorted(int(i) for i in repo.list_ids(conn, model=MODEL, kind=repo.ANALYSIS))
    assert analyses.search(notes[1], 1)[0][0] == analysis_ids[1]
    reread = vindex.read_index(vindex.index_path(MODEL, repo.ANALYSIS))
    assert reread.kind == repo.ANALYSIS and reread.count == 3

    ids = _ids(migrated_engine)
    among = np.array([ids[2], ids[5]])
    found = built.search(chunks[0], 5, among=among)
    assert sorted(i for i, _ in found) == sorted(among.tolist())
    assert built.search(chunks[5], 1, among=among)[0][0] == ids[5]
    assert built.search(chunks[0], 5, among=np.array([], dtype=np.int64)) == []
