"""Vector stores in faiss, kept in the index folder (``vectors.faiss``): exact search (``flat``) and a
graph over full vectors (``hnsw``). The inverted file (``ivf``) is :mod:`.ivf`."""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

__all__ = ["FaissStore", "FlatStore", "HNSWStore"]

FILE = "vectors.faiss"
IVF_PROBE_SHARE = 1 / 48  # share of the inverted lists searched per query (recall@10 ≥ 0.95 in bench)
HNSW_NEIGHBOURS, HNSW_EF_SEARCH = 32, 128


class FaissStore:
    """A faiss index over unit vectors; rows are numbered in the order they were added. Which kind it is
    follows from the faiss index it holds, so any faiss kind opens the file of any other."""

    def __init__(self, index: faiss.Index):
        self.dimension = int(index.d)
        self._index = index
        self._tune()

    @property
    def kind(self) -> str:
        ivf = faiss.try_extract_index_ivf(self._index)
        return "ivf" if ivf is not None else "hnsw" if isinstance(self._index, faiss.IndexHNSW) else "flat"

    def _tune(self) -> None:
        ivf = faiss.try_extract_index_ivf(self._index)
        if ivf is not None:
            ivf.nprobe = max(1, math.ceil(ivf.nlist * IVF_PROBE_SHARE))
            ivf.make_direct_map()  # so vectors() can reconstruct rows
        elif isinstance(self._index, faiss.IndexHNSW):
            self._index.hnsw.efSearch = HNSW_EF_SEARCH

    @classmethod
    def open(cls, folder: Path, ids: list[str]) -> FaissStore:
        return cls(faiss.read_index(str(folder / FILE)))

    def save(self, folder: Path) -> None:
        faiss.write_index(self._index, str(folder / FILE))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def present(self, ids: list[str]) -> set[str]:
        return set()  # a store of its own: nothing is there before it is added

    def add(self, vectors: np.ndarray, passages=None) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors must have shape (n, {self.dimension}), got {vectors.shape}")
        self._index.add(vectors)  # an inverted file's direct map (made in _tune) is kept up to date by faiss

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self._index.search(queries, k)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(rows)

    def prune(self) -> int:
        return 0  # the old data folder goes with the old index


class FlatStore(FaissStore):
    """Exact search: every vector compared with the question."""

    @classmethod
    def create(cls, dimension: int, ids: list[str], embedder=None) -> FlatStore:
        return cls(faiss.IndexFlatIP(dimension))


class HNSWStore(FaissStore):
    """A navigable graph over the full vectors: sub-linear search, more memory than flat."""

    @classmethod
    def create(cls, dimension: int, ids: list[str], embedder=None) -> HNSWStore:
        return cls(faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT))
