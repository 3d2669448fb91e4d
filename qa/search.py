"""Search an index: a question in, the best passages out, each with its citation.

``Index.load(dir)`` loads the model and the index once for many questions; ``retrieve(...)`` is the
one-call form, which keeps loaded indexes and reloads one when a newer build replaces it.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .config import find_index_dir
from .embed import Embedder, model_id
from .errors import QAError
from .split import Passage
from .store import MANIFEST, read_index
from .vectors import VectorStore

__all__ = ["Hit", "Index", "cached_index", "retrieve"]


@dataclass(frozen=True)
class Hit:
    text: str
    source: str  # file path relative to the corpus folder
    title: str
    paragraph: int  # 1-based; the title is paragraph 1
    line: int  # 1-based line where the passage starts
    start: int  # character offsets: the document's text[start:end] == text
    end: int
    score: float  # cosine similarity, higher is better

    def citation(self) -> str:
        return f"{self.title} — {self.source} ¶{self.paragraph}, line {self.line}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class Index:
    """A loaded index and the model that embeds questions for it."""

    def __init__(self, manifest: dict, passages: list[Passage], store: VectorStore, embedder: Embedder):
        self.manifest = manifest
        self.passages = passages
        self.store = store
        self.embedder = embedder

    @classmethod
    def load(
        cls,
        index_dir: str | os.PathLike | None = None,
        *,
        model: str | None = None,
        embedder: Embedder | None = None,
    ) -> Index:
        """Load the index in ``index_dir`` (see :mod:`qa.config` for the default). Questions are embedded
        with the model the index was built with; asking for another one (``model``, ``$QA_MODEL`` or an
        ``embedder`` of another model) is an error that says to re-index."""
        index_dir = find_index_dir(index_dir)
        manifest, passages, store = read_index(index_dir)
        built_with = manifest.get("model")
        wanted = None
        if embedder is not None:
            wanted = embedder.model_id
        elif model or os.environ.get("QA_MODEL"):
            wanted = model_id(model)
        if wanted and wanted != built_with:
            raise QAError(
                f"index in {index_dir} was built with model {built_with!r}, not {wanted!r}; "
                f"re-index with 'qa index --model {wanted}' or use the model it was built with"
            )
        return cls(manifest, passages, store, embedder or Embedder(built_with))

    def __len__(self) -> int:
        return len(self.passages)

    def retrieve(self, question: str, k: int = 5) -> list[Hit]:
        """The ``k`` passages most similar to ``question``, best first."""
        question = _check_args(question, k)
        if self.embedder.dimension != self.store.dimension:
            raise QAError(
                f"model {self.embedder.model_id!r} makes {self.embedder.dimension}-d vectors but the "
                f"index holds {self.store.dimension}-d ones; re-index with 'qa index'"
            )
        if not len(self.store):
            return []
        scores, ids = self.store.search(self.embedder.encode([question]), k)
        return [
            Hit(**dataclasses.asdict(self.passages[i]), score=float(s))
            for s, i in zip(scores[0], ids[0])
            if i >= 0
        ]


def _check_args(question: object, k: object) -> str:
    if not isinstance(question, str):
        raise ValueError(f"question must be a string, got {type(question).__name__}")
    if not question.strip():
        raise ValueError(f"question must not be empty or blank, got {question!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return question.strip()


_loaded: dict[Path, tuple[int, Index]] = {}
_loaded_lock = threading.Lock()


def cached_index(index_dir: str | os.PathLike | None) -> Index:
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


def retrieve(question: str, k: int = 5, *, index_dir: str | os.PathLike | None = None) -> list[Hit]:
    """The ``k`` passages of the index that best answer ``question``, best first.

    >>> import qa
    >>> qa.retrieve("Who is Sharona Avginsaz?", k=1)[0].source   # doctest: +SKIP
    '000_ec1e6d9161bd9899.txt'
    """
    _check_args(question, k)  # fail on bad input before loading anything
    return cached_index(index_dir).retrieve(question, k)
