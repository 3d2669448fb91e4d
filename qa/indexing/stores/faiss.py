"""Vector stores in faiss, kept in the index folder (``vectors.faiss``): exact search (``flat``) and a
graph over full vectors (``hnsw``). The inverted file (``ivf``) is :mod:`.ivf`."""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

from .base import exact_among

__all__ = ["FaissStore", "FlatStore", "HNSWStore"]

FILE = "vectors.faiss"
IVF_PROBE_SHARE = 1 / 48  # share of the inverted lists searched per query (recall@10 ≥ 0.95 in bench)
HNSW_NEIGHBOURS, HNSW_EF_SEARCH = 32, 128
# Up to this many allowed rows, comparing each takes ≤ 1 ms at 1M; beyond, faiss's and numpy's threads fight
# over the cores (2-24 ms), while faiss's search confined by a selector takes 1.5 (flat) to 4 ms (ivf) at 1M.
EXACT_AMONG_ROWS = 800
HNSW_AMONG_SHARE = 0.05  # a graph walk confined to fewer of its nodes loses recall (0.8 at 0.1%): exact below


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

    def search_among(self, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Few rows: each compared (exact); many: faiss's own search, skipping all other rows."""
        rows = np.asarray(rows, dtype=np.int64)
        params = self._among(rows) if len(rows) > EXACT_AMONG_ROWS and k > 0 else None
        if params is None:
            return exact_among(self, query, k, rows)
        scores, found = self._index.search(np.atleast_2d(query).astype(np.float32), k, params=params)
        kept = found[0] >= 0  # -1 pads an answer shorter than k
        return found[0][kept], scores[0][kept]

    def _among(self, rows: np.ndarray) -> faiss.SearchParameters | None:
        """Parameters that confine a search to ``rows``, widened by the share of rows they are so that it
        meets as many of them as an unconfined search meets rows (recall holds); None: search exactly."""
        share = len(rows) / len(self)
        hnsw = isinstance(self._index, faiss.IndexHNSW)
        if hnsw and share < HNSW_AMONG_SHARE:
            return None
        allowed = np.zeros(len(self), dtype=bool)
        allowed[rows] = True
        sel = faiss.IDSelectorBitmap(np.packbits(allowed, bitorder="little"))  # row i: bit i % 8 of byte i // 8
        ivf = faiss.try_extract_index_ivf(self._index)
        if ivf is not None:
            return faiss.SearchParametersIVF(sel=sel, nprobe=min(ivf.nlist, math.ceil(ivf.nprobe / share)))
        if hnsw:
            return faiss.SearchParametersHNSW(sel=sel, efSearch=math.ceil(self._index.hnsw.efSearch / share))
        return faiss.SearchParameters(sel=sel)

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
