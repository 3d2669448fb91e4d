"""Hybrid ranking: dense and BM25 scores fused, with one round of pseudo-relevance feedback on each side.

How it was chosen (measured by ``bench/quality.py``; see the README for the table):

1. First round: each run's scores are min-max normalised over its own top ``NORM_DEPTH`` (so one
   run's long tail cannot flatten the other), then mixed ``DENSE_WEIGHT``·dense + (1 − it)·BM25.
2. Feedback: the top ``FEEDBACK_DOCS`` passages of that first ranking are taken as relevant.
   Dense side: the query vector moves towards their centroid (Rocchio, weight ``ROCCHIO_BETA``).
   BM25 side: RM3 -- the query's words plus the ``EXPANSION_TERMS`` most frequent words of those
   passages, half and half.
3. Second round: the two expanded runs are normalised and mixed as in step 1.

Feedback assumes the top passages are mostly relevant, which holds only when they are a small part of
the corpus: at most one passage in ``FEEDBACK_SHARE`` is taken (none for a corpus under 10 passages,
where the first round is the answer; in a 9-passage corpus "the top 5" is half of everything).

On msmarco-trecdl-5k the whole grid around these values (dense weight 0.6–0.8, 3–10 feedback passages,
RM3 weight 0.3–0.5) lies within 0.815–0.825 nDCG@10: the method is not balanced on a knife's edge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["feedback_docs", "minmax_top", "mix", "rm3_terms", "rocchio", "top_ids"]

NORM_DEPTH = 100
DENSE_WEIGHT = 0.6
FEEDBACK_DOCS = 5
FEEDBACK_SHARE = 10
ROCCHIO_BETA = 1.0
EXPANSION_TERMS = 10
RM3_WEIGHT = 0.5


def feedback_docs(corpus_size: int) -> int:
    """How many top passages pseudo-relevance feedback may take as relevant in a corpus of this size."""
    return min(FEEDBACK_DOCS, corpus_size // FEEDBACK_SHARE)


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


def top_ids(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, best first (stable for ties)."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def rocchio(query: np.ndarray, feedback: np.ndarray, beta: float = ROCCHIO_BETA) -> np.ndarray:
    """The query vector moved towards the centroid of the feedback vectors, unit length again."""
    if len(feedback) == 0:
        return query
    moved = query + beta * feedback.mean(axis=0)
    return (moved / np.linalg.norm(moved)).astype(np.float32)


def rm3_terms(
    query_terms: Sequence[str],
    feedback_terms: Sequence[Sequence[str]],
    n_terms: int = EXPANSION_TERMS,
    weight: float = RM3_WEIGHT,
) -> dict[str, float]:
    """RM3 query expansion: term weights mixing the query's own terms with the most frequent terms of
    the feedback passages (each passage's term frequencies normalised by its length)."""
    original = Counter(query_terms)
    total = sum(original.values())
    weights: Counter[str] = Counter({t: (1 - weight) * n / total for t, n in original.items()}) if total else Counter()
    pooled: Counter[str] = Counter()
    for terms in feedback_terms:
        if terms:
            for term, n in Counter(terms).items():
                pooled[term] += n / len(terms)
    expansion = pooled.most_common(n_terms)
    mass = sum(v for _, v in expansion)
    for term, v in expansion:
        weights[term] += (weight if total else 1.0) * v / mass
    return dict(weights)
