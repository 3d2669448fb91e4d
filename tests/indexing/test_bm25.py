from __future__ import annotations

import numpy as np

from qa.indexing.bm25 import BM25, tokenize


def test_tokenize_stems_and_drops_stopwords():
    assert tokenize(["The runners were running to the houses"]) == [["runner", "were", "run", "hous"]]
    assert tokenize(["the of and", ""]) == [[], []]


def test_scores_rank_matching_passages_and_handle_empty_queries():
    bm25 = BM25.build(["cats chase mice", "dogs chase cats and cats", "bread and butter"])
    scores = bm25.scores("Which cats?")
    assert scores.shape == (3,) and scores[1] > scores[0] > 0 and scores[2] == 0
    assert not bm25.scores("the and of").any()  # nothing searchable: all zeros, no error
    assert not bm25.scores("unicorns").any()
    weighted = bm25.weighted_scores({"cat": 1.0, "bread": 0.5})
    assert np.allclose(weighted, bm25.scores("cats") + 0.5 * bm25.scores("bread"))


def test_save_and_load_without_pickle(tmp_path):
    bm25 = BM25.build(["alpha beta", "beta gamma", "gamma delta"])
    bm25.save(tmp_path / "bm25")
    files = sorted(p.name for p in (tmp_path / "bm25").iterdir())
    assert all(name.endswith((".json", ".npy")) for name in files)
    loaded = BM25.load(tmp_path / "bm25", 3)
    assert np.allclose(loaded.scores("beta gamma"), bm25.scores("beta gamma")) and len(loaded) == 3
