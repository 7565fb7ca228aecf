from __future__ import annotations

import numpy as np
import pytest

from backend.llm import embed
from backend.vectors import local_model
from backend.vectors.local_model import DIMS, MODEL_SHA256, EmbeddingModelUnavailable, LocalEmbedder
from backend.vectors.provider import MODEL


def test_gateway_embeds_with_the_local_provider(migrated_engine):
    texts = ["The cat is sleeping on the sofa", "A kitten naps on the couch",
             "Quarterly tax filing is due next week"]
    vectors = np.array(embed(model=MODEL, texts=texts, engine=migrated_engine))
    assert vectors.shape == (3, DIMS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.3
    with migrated_engine.connect() as conn:
        logged = conn.exec_driver_sql(
            "SELECT model, provider, status, tokens_in FROM llm_calls WHERE purpose = 'embedding'").all()
    assert [row[:3] for row in logged] == [(MODEL, "chatstats-embed", "ok")]
    assert logged[0][3] > 10


def test_batching_and_order_do_not_change_vectors():
    embedder = local_model.get_embedder()
    texts = ["short", "a much longer sentence about planning a trip to Lisbon in the spring", "", "cake"]
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    batched = embedder.embed(texts, batch_size=3)
    assert np.allclose(one_by_one, batched, atol=1e-4)


def test_a_model_file_with_another_hash_is_refused(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(EmbeddingModelUnavailable, match=MODEL_SHA256):
        LocalEmbedder(fake)


def test_the_installed_model_has_the_pinned_hash():
    assert local_model.file_sha256(local_model.model_path()) == MODEL_SHA256


def test_a_token_budget_splits_batches_without_changing_vectors():
    embedder = local_model.get_embedder()
    texts = ["word " * n for n in (3, 200, 40, 1, 90, 250, 12)]
    whole = embedder.embed(texts)
    tight, tokens = embedder.embed_counted(texts, max_batch_tokens=300)  # the long texts run one at a time
    assert np.allclose(whole, tight, atol=1e-4)
    assert tokens == sum(min(n + 2, local_model.MAX_TOKENS) for n in (3, 200, 40, 1, 90, 250, 12))
