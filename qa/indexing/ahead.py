"""Encoding ahead: texts a build will embed, encoded on the spare core while the build is busy on the other
with work of one thread (reading and splitting files, building BM25), and taken when they are needed.

Reading and splitting a corpus, and tuning's BM25s, run on one core; embedding runs on all. Texts handed
to :meth:`Ahead.add` meanwhile are encoded one at a time on a lane of their own (:meth:`Embedder.spare_lane`);
:meth:`Ahead.take` stops that lane and encodes what it has not reached on every core, as it would have
without it. A vector is the same either way: int8 encodes each text alone. With no spare lane (fp32, one
core, another encoder) nothing is encoded ahead and ``take`` is the encoder's own call.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from .embed import Embedder, TextEncoder

__all__ = ["Ahead"]


class Ahead:
    def __init__(self, encode: Callable[..., np.ndarray], lane: Callable[[], Callable[[str], np.ndarray] | None]):
        """``encode(texts, bar=…)``: the encoder's own call; ``lane()``: the spare lane's ``encode(text)``,
        or None (asked when the first texts are added: a build that embeds nothing loads no model)."""
        self._encode, self._make_lane = encode, lane
        self._waiting: deque[str] = deque()
        self._done: dict[str, np.ndarray] = {}
        self._woken = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, embedder: TextEncoder, kind: str = "document") -> Ahead:
        """Encoding ahead as ``embedder.encode_<kind>`` encodes."""
        encode = embedder.encode_document if kind == "document" else lambda texts, bar=None: embedder.encode_query(texts)
        return cls(encode, lambda: embedder.spare_lane(kind) if isinstance(embedder, Embedder) else None)

    def add(self, texts: Iterable[str]) -> None:
        """Texts to encode when the spare lane gets to them (nothing happens without one)."""
        if self._stopped:
            return
        if self._thread is None:
            lane, self._make_lane = self._make_lane() if self._make_lane else None, None
            if lane is None:
                return
            self._thread = threading.Thread(target=self._run, args=(lane,), name="qa-ahead", daemon=True)
            self._thread.start()
        self._waiting.extend(texts)
        self._woken.set()

    def take(self, texts: list[str], *, bar=None) -> np.ndarray:
        """The vectors of ``texts``, in order: those encoded ahead, the others now (``bar`` counts both)."""
        self.stop()
        missing = [t for t in dict.fromkeys(texts) if t not in self._done]
        if bar is not None:
            bar.update(len(texts) - len(missing))
        fresh = dict(zip(missing, self._encode(missing, bar=bar))) if missing else {}
        vectors = [self._done[t] if t in self._done else fresh[t] for t in texts]
        return np.stack(vectors).astype(np.float32, copy=False) if vectors else np.zeros((0, 0), dtype=np.float32)

    def stop(self) -> None:
        """Stop encoding ahead (the lane finishes the text it is on)."""
        self._stopped = True
        self._woken.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self, lane: Callable[[str], np.ndarray]) -> None:
        while not self._stopped:
            try:
                text = self._waiting.popleft()  # atomic: add() appends from the other thread
            except IndexError:
                self._woken.wait()
                self._woken.clear()
                continue
            if text not in self._done:
                self._done[text] = lane(text)
