"""What qa needs of a vector store: nearest neighbours by inner product over unit vectors (= cosine
similarity), rows numbered in the order of the index's passages."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from ...passage import Passage

__all__ = ["VectorStore", "exact_among", "top_ids"]


class VectorStore(Protocol):
    kind: str  # its name in the registry (qa.indexing.stores.STORES) and in the manifest
    dimension: int

    @classmethod
    def create(cls, dimension: int, ids: list[str], embedder) -> VectorStore:
        """An empty store for the rows ``ids`` (passage ids, in order), to be filled by :meth:`add`.
        ``embedder`` names the model and precision (a shared store keeps models apart by them)."""
        ...

    @classmethod
    def open(cls, folder: Path, ids: list[str]) -> VectorStore:
        """The store :meth:`save` wrote into the index's data ``folder``, for the rows ``ids``."""
        ...

    def __len__(self) -> int: ...

    def present(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` the store holds already (a shared store): they need no embedding, and
        :meth:`add` may be given anything in their rows."""
        ...

    def add(self, vectors: np.ndarray, passages: list[Passage]) -> None:
        """Store the next ``len(vectors)`` rows (``passages`` are theirs, for stores that keep them)."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each of shape (len(queries), k'), best first; row -1 pads a short answer."""
        ...

    def search_among(self, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of the ``k`` of ``rows`` (ascending positions) nearest the vector ``query``, best
        first: a search restricted to the passages a user may read. This default is exact (each of their
        vectors compared); qa falls back on it for a store that lacks the method."""
        return exact_among(self, query, k, rows)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (approximate for quantised stores), (len(rows), dimension)."""
        ...

    def save(self, folder: Path) -> None:
        """Write what :meth:`open` needs into the index's new data ``folder``."""
        ...

    def prune(self) -> int:
        """Once the new index is in place: drop what no index uses any more (a shared store); how many."""
        ...


def exact_among(store: VectorStore, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`VectorStore.search_among` by comparing ``query`` with the stored vector of each of ``rows``."""
    rows = np.asarray(rows, dtype=np.int64)
    scores = store.vectors(rows) @ query
    best = top_ids(scores, k)
    return rows[best], scores[best]


def top_ids(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, best first (stable for ties)."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]
