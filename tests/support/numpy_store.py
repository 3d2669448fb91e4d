"""A vector store written outside qa, as a user would: exact search with numpy, saved as ``vectors.npy``
(tests register it with one call: ``register_store("numpy", "support.numpy_store:NumpyStore")``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class NumpyStore:
    kind = "numpy"

    def __init__(self, vectors: np.ndarray):
        self.dimension = vectors.shape[1]
        self._vectors = vectors

    @classmethod
    def create(cls, dimension, ids, embedder):
        return cls(np.zeros((0, dimension), dtype=np.float32))

    @classmethod
    def open(cls, folder: Path, ids):
        return cls(np.load(folder / "vectors.npy", allow_pickle=False))

    def save(self, folder: Path) -> None:
        np.save(folder / "vectors.npy", self._vectors, allow_pickle=False)

    def __len__(self) -> int:
        return len(self._vectors)

    def present(self, ids):
        return set()

    def add(self, vectors, passages) -> None:
        self._vectors = np.concatenate([self._vectors, np.asarray(vectors, dtype=np.float32)])

    def search(self, queries, k):
        scores = np.atleast_2d(queries) @ self._vectors.T
        rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, rows, axis=1), rows

    def vectors(self, rows):
        return self._vectors[np.asarray(rows, dtype=np.int64)]

    def prune(self) -> int:
        return 0
