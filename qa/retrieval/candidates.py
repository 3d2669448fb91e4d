"""candidates: the passages worth scoring for a query -- the best ``depth`` by the vector store (the dense
run) and the best ``depth`` by BM25 (the keyword run), together -- each with both scores."""

from __future__ import annotations

import numpy as np

from ..indexing.index import Index
from .ranking import Candidates, Query, Ranking, top_ids

__all__ = ["CANDIDATES", "dense", "gather", "keyword", "union"]

CANDIDATES = 1000  # per run, before fusion


def dense(index: Index, query: Query, depth: int, allowed: np.ndarray | None = None) -> Ranking:
    """The ``depth`` passages nearest the query's vector: the store's search, or an exact one over ``allowed``."""
    return Ranking(*index.dense(query.vector, depth, allowed))


def keyword(index: Index, query: Query, depth: int, allowed: np.ndarray | None = None) -> Ranking:
    """The ``depth`` passages BM25 scores highest for the query (``allowed``: only these positions, ascending)."""
    scores = query.keyword
    best = top_ids(scores, depth) if allowed is None else allowed[top_ids(scores[allowed], depth)]
    return Ranking(best, scores[best])


def gather(
    index: Index, query: Query, depth: int, allowed: np.ndarray | None = None, also: np.ndarray | None = None,
    *, runs=(dense, keyword), similarity=None,
) -> Candidates:  # fmt: skip
    """The union of each run's top ``depth`` (and the positions ``also``), with both scores.
    ``allowed``: only these passage positions (ascending); ``runs``: the dense and the keyword run;
    ``similarity``: ``index.similarity`` from vectors the caller holds (tuning gathers hundreds of times)."""
    by_vector, by_words = (run(index, query, depth, allowed) for run in runs)
    rows = union(by_vector.rows, by_words.rows, *(() if also is None else (also,)))
    nearest = float(by_vector.scores.max()) if by_vector.scores.size else 0.0
    return Candidates(rows, (similarity or index.similarity)(query.vector, rows), query.keyword[rows], nearest)


def union(*positions: np.ndarray) -> np.ndarray:
    """The positions in any of ``positions``, ascending, once each: ``np.union1d``, by one sort (numpy 2's
    hashing ``unique`` takes 3x as long on a thousand candidates: tuning gathers 800 times a build)."""
    joined = np.sort(np.concatenate(positions))
    return joined[np.concatenate(([True], joined[1:] != joined[:-1]))] if joined.size else joined
