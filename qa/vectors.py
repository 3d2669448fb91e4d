"""Vector stores: nearest neighbours by inner product over unit vectors (= cosine similarity).

:class:`VectorStore` is the interface the rest of qa uses; :class:`FaissStore` is the implementation.
The faiss index type follows the corpus size (``kind="auto"``): exact search (``flat``) up to
``EXACT_LIMIT`` passages, beyond it an inverted file with 8-bit scalar quantisation (``ivf``: a quarter
of the memory, a small fraction of the work per query). ``hnsw`` (a graph over full vectors) is there
for those who want it. ``bench/scale.py`` measures all three.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

__all__ = ["EXACT_LIMIT", "KINDS", "FaissStore", "VectorStore", "choose_kind"]

KINDS = ("auto", "flat", "ivf", "hnsw", "milvus")  # milvus: qa.milvus_store, a store outside this process
EXACT_LIMIT = 200_000  # below this, exact search answers in well under 20 ms on two cores
IVF_PROBE_SHARE = 1 / 48  # share of the inverted lists searched per query (recall@10 ≥ 0.95 in bench)
IVF_TRAIN_PER_LIST = 40  # training vectors per list (faiss wants 39 at least)
HNSW_NEIGHBOURS, HNSW_EF_SEARCH = 32, 128


class VectorStore(Protocol):
    dimension: int

    def __len__(self) -> int: ...

    def add(self, vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each of shape (len(queries), k'), best first; ids index the added rows."""
        ...

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of rows ``ids`` (approximate for quantised stores), (len(ids), dimension)."""
        ...

    def save(self, path: Path) -> None: ...


def choose_kind(count: int, kind: str = "auto") -> str:
    if kind not in KINDS:
        raise ValueError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind != "auto":
        return kind
    return "flat" if count <= EXACT_LIMIT else "ivf"


class FaissStore:
    """A faiss index over unit vectors; rows are numbered in the order they were added."""

    def __init__(self, dimension: int, index: faiss.Index | None = None):
        if dimension <= 0:
            raise ValueError(f"dimension must be > 0, got {dimension}")
        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexFlatIP(dimension)
        self._tune()

    @classmethod
    def create(cls, dimension: int, count: int, kind: str = "auto", training: np.ndarray | None = None) -> FaissStore:
        """An empty store for ``count`` vectors. ``ivf`` needs ``training`` vectors (a sample of them)."""
        kind = choose_kind(count, kind)
        if kind == "flat":
            return cls(dimension)
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            return cls(dimension, index)
        if training is None or len(training) == 0:
            raise ValueError("an ivf store needs training vectors")
        lists = max(1, min(int(4 * math.sqrt(count)), len(training) // IVF_TRAIN_PER_LIST))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dimension, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.train(np.ascontiguousarray(training, dtype=np.float32))
        return cls(dimension, index)

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

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors must have shape (n, {self.dimension}), got {vectors.shape}")
        self._index.add(vectors)
        if faiss.try_extract_index_ivf(self._index) is not None:
            faiss.try_extract_index_ivf(self._index).make_direct_map()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self))
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self._index.search(queries, k)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(ids)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        index = faiss.read_index(str(path))
        return cls(index.d, index)
