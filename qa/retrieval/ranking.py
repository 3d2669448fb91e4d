"""The values passed between the stages: the :class:`Query` searched, the :class:`Candidates` gathered
for it, a :class:`Ranking` of them, and :class:`Searched` -- what ranking one text found, which travels on
to re-ranking, highlights and abstention so that nothing is embedded, tokenised or searched twice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..indexing.index import top_ids

__all__ = ["Candidates", "Query", "Ranking", "Searched", "top_ids"]


@dataclass(frozen=True)
class Query:
    """What one ranking searches for: the query vector, and BM25's score of every passage."""

    vector: np.ndarray
    keyword: np.ndarray | None  # BM25 score per passage position (None: not asked for, dense mode)


@dataclass(frozen=True)
class Candidates:
    """Passage positions (ascending) with their dense (cosine) and BM25 scores for one :class:`Query`."""

    rows: np.ndarray
    dense: np.ndarray
    keyword: np.ndarray
    nearest: float = 0.0  # the best cosine similarity of any passage searched (the dense run's first)


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


@dataclass(frozen=True)
class Searched:
    """What ranking ``text`` found: its vector, its words' rarity, the passages it was allowed, every
    candidate with its final score (and, in hybrid mode, the first round's dense and BM25 scores), and the
    best cosine similarity of any allowed passage."""

    text: str
    vector: np.ndarray
    idf: Mapping[str, float]  # rarity of text's content words (qa.text.content_words) in the index
    allowed: np.ndarray | None  # the passage positions searched (None: all)
    ranking: Ranking
    nearest: float = 0.0
    candidates: Candidates | None = None  # hybrid mode: both runs' scores of the first round's candidates

    def top(self, n: int) -> list[tuple[int, float]]:
        return self.ranking.top(n)
