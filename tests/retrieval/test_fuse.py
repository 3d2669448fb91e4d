from __future__ import annotations

import numpy as np
import pytest

from qa.retrieval.feedback import rm3_terms, rocchio
from qa.retrieval.fuse import minmax_top, mix
from qa.retrieval.ranking import top_ids


def test_minmax_top_scales_best_to_one_and_depth_th_to_zero():
    scores = np.array([5.0, 1.0, 3.0, 2.0])
    assert np.allclose(minmax_top(scores, depth=3), [1.0, -1 / 3, 1 / 3, 0.0])
    assert np.allclose(minmax_top(np.array([2.0, 2.0])), [0.0, 0.0])  # no spread: no signal
    assert minmax_top(np.array([])).size == 0


def test_mix_weights_runs_after_normalising_each():
    dense, keyword = np.array([0.9, 0.5, 0.1]), np.array([0.0, 30.0, 10.0])
    assert np.allclose(mix(dense, keyword, dense_weight=1.0), [1.0, 0.5, 0.0])
    assert np.allclose(mix(dense, keyword, dense_weight=0.0), [0.0, 1.0, 1 / 3])
    assert np.argmax(mix(dense, keyword, dense_weight=0.6)) == 1


def test_top_ids_best_first_and_stable_on_ties():
    scores = np.array([1.0, 3.0, 3.0, 2.0, 0.0])
    assert top_ids(scores, 3).tolist() == [1, 2, 3]
    assert top_ids(scores, 10).tolist() == [1, 2, 3, 0, 4]
    assert top_ids(scores, 0).tolist() == []


def test_rocchio_moves_towards_feedback_and_stays_unit_length():
    query = np.array([1.0, 0.0], dtype=np.float32)
    moved = rocchio(query, np.array([[0.0, 1.0], [0.0, 1.0]], dtype=np.float32), beta=1.0)
    assert np.isclose(np.linalg.norm(moved), 1.0) and np.allclose(moved, [2**-0.5, 2**-0.5], atol=1e-6)
    assert rocchio(query, np.zeros((0, 2), dtype=np.float32)) is query


def test_rm3_keeps_query_terms_and_adds_frequent_feedback_terms():
    feedback = [["israel", "asylum", "israel"], ["israel", "ministry"], ["police"] * 1]
    weights = rm3_terms(["iran", "asylum"], feedback[:2], n_terms=2, weight=0.5)
    # Length-normalised frequencies: israel 2/3 + 1/2, ministry 1/2, asylum 1/3 -> the top two expand.
    assert weights == pytest.approx({"iran": 0.25, "asylum": 0.25, "israel": 0.35, "ministry": 0.15})
    assert rm3_terms([], [["x", "x", "y"]], n_terms=1) == {"x": 1.0}  # no query words: feedback alone


def test_feedback_takes_a_small_share_of_the_corpus_only():
    from qa.retrieval.feedback import FEEDBACK_DOCS, feedback_docs

    assert feedback_docs(9) == 0 and feedback_docs(25) == 2 and feedback_docs(5000) == FEEDBACK_DOCS
