"""fuse: the dense and BM25 scores of the same candidates mixed into one ranking.

Each run's scores are min-max normalised over its own top ``NORM_DEPTH`` (so one run's long tail cannot
flatten the other), then mixed w·dense + (1 − w)·BM25, w measured on each corpus when it is indexed
(:mod:`.tune`); ``DENSE_WEIGHT`` where it was not (fits msmarco-trecdl-5k and squad2-dev-public; see
:mod:`qa.retrieval.feedback`).
"""

from __future__ import annotations

import numpy as np

from .ranking import Candidates, Ranking

__all__ = ["DENSE_WEIGHT", "fuse", "minmax_top", "mix"]

NORM_DEPTH = 100
DENSE_WEIGHT = 0.6


def fuse(candidates: Candidates, dense_weight: float | None = None) -> Ranking:
    """The candidates scored by the mix of their dense and BM25 scores (``dense_weight``: the corpus's
    tuned weight, :mod:`.tune`; None: ``DENSE_WEIGHT``)."""
    return Ranking(candidates.rows, mix(candidates.dense, candidates.keyword, dense_weight))


def minmax_top(scores: np.ndarray, depth: int = NORM_DEPTH) -> np.ndarray:
    """Scale so the best score is 1 and the ``depth``-th best is 0 (below it goes negative)."""
    if scores.size == 0:
        return scores.astype(np.float32)
    ranked = np.sort(scores)[::-1]
    hi, lo = ranked[0], ranked[min(depth, len(ranked)) - 1]
    if hi - lo < 1e-9:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - lo) / (hi - lo)).astype(np.float32)


def mix(dense: np.ndarray, keyword: np.ndarray, dense_weight: float | None = None) -> np.ndarray:
    """Convex mix of the two runs' normalised scores over the same candidates."""
    dense_weight = DENSE_WEIGHT if dense_weight is None else dense_weight
    return dense_weight * minmax_top(dense) + (1 - dense_weight) * minmax_top(keyword)
