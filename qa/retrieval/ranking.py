"""The values passed between the ranking stages: the :class:`Query` searched, the :class:`Candidates`
gathered for it, and a :class:`Ranking` of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Candidates", "Query", "Ranking", "top_ids"]


@dataclass(frozen=True)
class Query:
    """What one ranking searches for: the query vector, and BM25's score of every passage."""

    vector: np.ndarray
    keyword: np.ndarray  # BM25 score per passage position


@dataclass(frozen=True)
class Candidates:
    """Passage positions (ascending) with their dense (cosine) and BM25 scores for one :class:`Query`."""

    rows: np.ndarray
    dense: np.ndarray
    keyword: np.ndarray


@dataclass(frozen=True)
class Ranking:
    """Passage positions with one score each; :meth:`top` ranks them (ties keep the order of ``rows``,
    which the stages keep ascending: the earlier passage first)."""

    rows: np.ndarray
    scores: np.ndarray

    def top(self, n: int) -> list[tuple[int, float]]:
        """(position, score) of the ``n`` best, best first."""
        return [(int(self.rows[i]), float(self.scores[i])) for i in top_ids(self.scores, n)]

    def top_rows(self, n: int) -> np.ndarray:
        return self.rows[top_ids(self.scores, n)]


def top_ids(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, best first (stable for ties)."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]
