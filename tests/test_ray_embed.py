"""Embedding with Ray Data on a local Ray instance gives the same index as one process."""

from __future__ import annotations

import numpy as np
import pytest

from qa.build import build_index
from qa.search import Index

from conftest import CORPUS

pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_index_equals_the_single_process_one(tmp_path, real_embedder, corpus_index):
    from qa.ray_embed import RayEmbedder

    embedder = RayEmbedder(real_embedder, actors=2)
    try:
        report = build_index(CORPUS, tmp_path / "ray-idx", embedder=embedder)
    finally:
        embedder.shutdown()
    assert embedder.rows_embedded >= report.passages == 48  # the passages went through Ray
    with_ray = Index.load(tmp_path / "ray-idx", embedder=real_embedder)
    alone = Index.load(corpus_index, embedder=real_embedder)
    assert with_ray.ids == alone.ids and with_ray.passages == alone.passages
    rows = np.arange(len(alone))
    assert np.allclose(with_ray.store.vectors(rows), alone.store.vectors(rows), atol=1e-5)
    assert with_ray.manifest["abstain"]["threshold"] == pytest.approx(alone.manifest["abstain"]["threshold"], abs=1e-4)
