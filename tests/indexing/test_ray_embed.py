"""Embedding with Ray Data on a local Ray instance gives the same index as one process."""

from __future__ import annotations

import numpy as np
import pytest

from qa.build import build_index
from qa.indexing.folder import load_index

pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_index_equals_the_single_process_one(corpus_dir, tmp_path, real_embedder, corpus_index):
    from qa.indexing.ray_embed import RayEmbedder

    embedder = RayEmbedder(real_embedder, actors=2)
    try:
        report = build_index(corpus_dir, tmp_path / "ray-idx", embedder=embedder)
    finally:
        embedder.shutdown()
    assert embedder.rows_embedded >= report.passages == 48  # the passages went through Ray
    with_ray = load_index(tmp_path / "ray-idx", embedder=real_embedder)
    alone = load_index(corpus_index, embedder=real_embedder)
    assert with_ray.ids == alone.ids and with_ray.passages == alone.passages
    rows = np.arange(len(alone))
    assert np.allclose(with_ray.vectors(rows), alone.vectors(rows), atol=1e-5)
    assert with_ray.manifest.abstain.threshold == pytest.approx(alone.manifest.abstain.threshold, abs=1e-4)
