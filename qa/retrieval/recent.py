"""The vectors of recently embedded questions and sentences, kept per index by the retriever; and the
scope every cache of a question's work is keyed by (:data:`SCOPE`)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

__all__ = ["SCOPE", "VectorCache", "scoped"]

# What the asker may read ("": everything), set while a question is answered. Every cache of a
# question's work (its vector, its sentences', the re-ranker's pair scores) is keyed by it too: a cache
# shared by people who read different documents would tell one, by a fast answer, what another asked of
# documents the first may not read.
SCOPE: ContextVar[str] = ContextVar("qa_cache_scope", default="")


@contextmanager
def scoped(key: str) -> Iterator[None]:
    token = SCOPE.set(key)
    try:
        yield
    finally:
        SCOPE.reset(token)


class VectorCache:
    """Vectors of recently embedded texts, the least recently used dropped first (thread-safe).

    Questions come back (the same question searched, highlighted and checked for abstention; the same
    questions from many people) and so do sentences: answers on one corpus keep citing the same passages,
    whose sentences the highlighter would otherwise embed again for every question. Texts are kept by a
    16-byte hash, so the cache's size does not depend on how long they are."""

    def __init__(self, size: int):
        if size <= 0:
            raise ValueError(f"size must be > 0, got {size}")
        self.size = size
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def encode(self, texts: list[str], encode: Callable[[list[str]], np.ndarray], kind: str = "") -> np.ndarray:
        """``encode(texts)``, encoding only the texts not seen lately (each once); ``kind`` keeps apart
        texts encoded differently (a question and the same words as a sentence, for a prompted model)."""
        if not texts:
            return encode([])
        scope = SCOPE.get()
        keys = [self.key(f"{scope}\0{kind}\0{t}") for t in texts]
        with self._lock:
            found = {k: self._vectors[k] for k in keys if k in self._vectors}
            for k in found:
                self._vectors.move_to_end(k)
        missing = {k: t for k, t in zip(keys, texts) if k not in found}  # each text once, in order
        if missing:
            fresh = encode(list(missing.values()))
            found.update(zip(missing, fresh, strict=True))
            with self._lock:
                for k, vector in zip(missing, fresh, strict=True):
                    self._vectors[k] = vector
                    self._vectors.move_to_end(k)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return np.stack([found[k] for k in keys])
