"""A tiny deterministic embedder for fast tests of logic: hashed bag of words, unit length."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import numpy as np

from qa.text import word_count


class FakeEmbedder:
    """A qa.indexing.embed.TextEncoder. ``stall_flag``: on encode, touch that file and hang (kill tests)."""

    def __init__(self, dimension: int = 256, model_id: str = "fake-bow", stall_flag: str | None = None):
        self.model_id = model_id
        self.precision = "fp32"
        self.dimension = dimension
        self.max_tokens = 40
        self.stall_flag = stall_flag
        self.calls = 0
        self.encoded: list[str] = []  # every text embedded, in order

    def count_tokens(self, text: str) -> int:
        return word_count(text)

    def adopt(self, precision: str) -> None:
        pass

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)

    def encode_document(self, texts: list[str], *, progress: bool = False, bar=None) -> np.ndarray:
        return self.encode(texts, progress=progress, bar=bar)

    def encode(self, texts: list[str], *, progress: bool = False, bar=None) -> np.ndarray:
        self.calls += 1
        self.encoded.extend(texts)
        if self.stall_flag:
            Path(self.stall_flag).touch()
            time.sleep(120)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if bar is not None:
            bar.update(len(texts))
        return out / np.where(norms == 0, 1, norms)
