"""candidates: the passages worth scoring for a query -- the best ``depth`` by the vector store (dense)
and the best ``depth`` by BM25, together -- each with both scores."""

from __future__ import annotations

import numpy as np

from ..indexing.index import Index
from .ranking import Candidates, Query, Ranking, top_ids

__all__ = ["CANDIDATES", "dense", "gather", "keyword"]

CANDIDATES = 1000  # per run, before fusion


def gather(index: Index, query: Query, depth: int, allowed: np.ndarray | None = None, also: np.ndarray | None = None) -> Candidates:
    """The union of the dense and BM25 top ``depth`` (and the positions ``also``), with both scores.
    ``allowed``: only these passage positions (ascending)."""
    rows = np.union1d(dense(index, query.vector, depth, allowed).rows, keyword(query.keyword, depth, allowed).rows)
    if also is not None:
        rows = np.union1d(also, rows)
    return Candidates(rows, index.store.vectors(rows) @ query.vector, query.keyword[rows])


def dense(index: Index, vector: np.ndarray, depth: int, allowed: np.ndarray | None = None) -> Ranking:
    """The ``depth`` passages nearest ``vector``: the store's search, or an exact one over ``allowed``."""
    if allowed is not None:
        scores = index.store.vectors(allowed) @ vector
        best = top_ids(scores, depth)
        return Ranking(allowed[best], scores[best])
    scores, rows = index.store.search(vector, depth)
    found = rows[0] >= 0
    return Ranking(rows[0][found], scores[0][found])


def keyword(scores: np.ndarray, depth: int, allowed: np.ndarray | None = None) -> Ranking:
    """The ``depth`` passages BM25 scores highest (``scores``: one per passage)."""
    best = top_ids(scores, depth) if allowed is None else allowed[top_ids(scores[allowed], depth)]
    return Ranking(best, scores[best])
