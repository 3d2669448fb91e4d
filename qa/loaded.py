"""Indexes loaded once per process and reloaded when rebuilt, and :func:`retrieve`, the one-call API.

A build swaps in a new index by replacing ``manifest.json``; the next question notices its newer
modification time and loads the new index (the model already in memory is kept).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from pathlib import Path

from .config import find_index_dir
from .errors import check_args, check_history
from .hit import Hit
from .search import Index
from .store import MANIFEST

__all__ = ["cached_index", "retrieve"]


_loaded: dict[Path, tuple[int, Index]] = {}
_loaded_lock = threading.Lock()


def cached_index(index_dir: str | os.PathLike | None = None) -> Index:
    """The loaded index for a folder, reloaded when its manifest has been replaced by a newer build."""
    path = find_index_dir(index_dir).resolve()
    with _loaded_lock:
        try:
            stamp = (path / MANIFEST).stat().st_mtime_ns
        except OSError:
            stamp = -1
        cached = _loaded.get(path)
        if cached is None or cached[0] != stamp:
            index = Index.load(path)
            if cached is not None and cached[1].embedder.model_id == index.embedder.model_id:
                index.embedder = cached[1].embedder  # keep the model already in memory
            _loaded[path] = (stamp, index)
        return _loaded[path][1]


def retrieve(
    question: str,
    k: int = 5,
    *,
    history: list[str] | None = None,
    index_dir: str | os.PathLike | None = None,
    sources: Collection[str] | None = None,
) -> list[Hit]:
    """The ``k`` passages of the index that best answer ``question``, best first (only from the files
    in ``sources`` when given).

    >>> import qa
    >>> qa.retrieve("Where is Ardavan Hatami based?", k=1)[0].highlight.text   # doctest: +SKIP
    'Ardavan Hatami, an Iranian artist based in Germany, was deeply moved by the visit to Israel.'
    """
    check_args(question, k)  # fail on bad input before loading anything
    check_history(history)
    return cached_index(index_dir).retrieve(question, k, history=history, sources=sources)
