"""``qa.ask`` and ``qa.retrieve``: one call per question. Each index is loaded once per process and
reloaded when a newer build replaces it: a build swaps ``manifest.json``, and the next question notices
its newer modification time (the model already in memory is kept)."""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from pathlib import Path

from ..config import find_index_dir
from ..indexing.folder import load_index
from ..indexing.manifest import MANIFEST
from ..passage import Hit
from .answer import Answer
from .pipeline import Retriever
from .request import Request

__all__ = ["ask", "cached_retriever", "retrieve"]

_loaded: dict[Path, tuple[int, Retriever]] = {}
_loaded_lock = threading.Lock()


def cached_retriever(index_dir: str | os.PathLike | None = None) -> Retriever:
    """The retriever of the index in a folder, reloaded when its manifest has been replaced by a newer build."""
    path = find_index_dir(index_dir).resolve()
    with _loaded_lock:
        try:
            stamp = (path / MANIFEST).stat().st_mtime_ns
        except OSError:
            stamp = -1
        cached = _loaded.get(path)
        if cached is None or cached[0] != stamp:
            index = load_index(path)
            if cached is not None:
                index = index.sharing_model(cached[1].index)  # keep the model already in memory
            _loaded[path] = (stamp, Retriever(index))
        return _loaded[path][1]


def ask(
    question: str,
    *,
    history: list[str] | None = None,
    k: int = 5,
    index_dir: str | os.PathLike | None = None,
    sources: Collection[str] | None = None,
) -> Answer:
    """Answer ``question`` from the index: the best passages with highlights, and whether they answer it.
    ``sources``: search only these files (paths as in ``Hit.source``).

    >>> a = qa.ask("Who won the 2018 FIFA World Cup?")   # doctest: +SKIP
    >>> a.answered
    False
    """
    request = Request.checked(question, k, history=history, sources=sources)  # bad input fails before loading
    return cached_retriever(index_dir).run(request)


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
    return ask(question, history=history, k=k, index_dir=index_dir, sources=sources).hits
