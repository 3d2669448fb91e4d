"""feedback: one round of pseudo-relevance feedback on each side of the hybrid ranking.

How hybrid ranking was chosen (measured by ``bench/quality.py``; see the README for the table):

1. First round: candidates from both runs, fused (:mod:`.fuse`).
2. Feedback: the top ``FEEDBACK_DOCS`` passages of that first ranking are taken as relevant.
   Dense side: the query vector moves towards their centroid (Rocchio, weight ``ROCCHIO_BETA``).
   BM25 side: RM3 -- the query's words plus the ``EXPANSION_TERMS`` most frequent words of those
   passages, half and half.
3. Second round: candidates of the expanded query joined to the first ones, fused again.

Feedback assumes the top passages are mostly relevant, which holds only when they are a small part of
the corpus: at most one passage in ``FEEDBACK_SHARE`` is taken (none for a corpus under 10 passages,
where the first round is the answer; in a 9-passage corpus "the top 5" is half of everything).

On msmarco-trecdl-5k the whole grid around these values (dense weight 0.6–0.8, 3–10 feedback passages,
RM3 weight 0.3–0.5) lies within 0.815–0.825 nDCG@10: the method is not balanced on a knife's edge. With
settle after it, three feedback passages beat five on both datasets measured (nDCG@10, feedback passages
0 / 3 / 5 / 10: msmarco-trecdl-5k 0.8008 / 0.8156 / 0.8109 / 0.8097; squad2-dev-public question →
paragraph 0.8174 / 0.8202 / 0.8152 / 0.8083). Feedback is not chosen per corpus: the corpus's own
pseudo-queries have one relevant passage each and say "none" everywhere (see :mod:`.tune`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..text import tokenize
from ..indexing.index import Index
from .ranking import Query, Ranking

__all__ = ["expand", "feedback_docs", "rm3_terms", "rocchio"]

FEEDBACK_DOCS = 3
FEEDBACK_SHARE = 10
ROCCHIO_BETA = 1.0
EXPANSION_TERMS = 10
RM3_WEIGHT = 0.5


def expand(index: Index, text: str, query: Query, first: Ranking, searched: int) -> Query | None:
    """The query expanded with the top passages of the ``first`` ranking (None: no feedback for a
    search over ``searched`` passages, too few to take any as relevant)."""
    n = feedback_docs(searched)
    if n == 0:
        return None
    top = first.top_rows(n)
    vector = rocchio(query.vector, index.vectors(top))
    terms = rm3_terms(tokenize([text])[0], tokenize([index.passage(int(i)).search_text for i in top]))
    return Query(vector, index.keyword(terms))


def feedback_docs(corpus_size: int) -> int:
    """How many top passages pseudo-relevance feedback may take as relevant in a corpus of this size."""
    return min(FEEDBACK_DOCS, corpus_size // FEEDBACK_SHARE)


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
