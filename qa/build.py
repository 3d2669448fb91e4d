"""build_index: the one way qa builds an index, from the CLI (``qa index``), the server's indexer and
Python alike -- read → split → embed → BM25 → calibrate → tune → write, each stage timed in the report.

The stages are :mod:`qa.indexing`'s, but for tuning (:mod:`qa.retrieval.tune`): it measures the hybrid
ranking on the corpus, so it lives with the ranking, and a build is put together here, above both.
``tune=None`` keeps the defaults (what a test of the mechanics wants); any callable ``Index → Tuning``
replaces the stage. The default's part that needs no vectors runs while the passages are embedded.
"""

from __future__ import annotations

from pathlib import Path

from .indexing.build import BuildReport, Tuner, memory_index, passages_index, sync_index
from .indexing.embed import TextEncoder
from .indexing.index import Index
from .passage import Passage
from .retrieval.tune import TUNE as measure

__all__ = ["build_index", "index_corpus", "index_passages"]


def build_index(corpus_dir: str | Path, index_dir: str | Path | None = None, *, tune: Tuner | None = measure, **options) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir`` (default ``$QA_INDEX_DIR``, else ./index): sync an existing
    index (embed only what changed) or build a new one. ``options``: ``embedder``, ``progress``,
    ``rebuild``, ``dry_run``, ``kind`` (the vector store), ``max_file_mb`` -- see
    :func:`qa.indexing.build.sync_index`."""
    return sync_index(corpus_dir, index_dir, tune=tune, **options)


def index_corpus(
    corpus_dir: str | Path, *, embedder: TextEncoder | None = None, progress: bool = False, kind: str = "auto",
    tune: Tuner | None = measure,
) -> Index:  # fmt: skip
    """:func:`build_index`'s index, in memory: nothing is written (``qa eval-qa``, experiments)."""
    return memory_index(corpus_dir, tune=tune, embedder=embedder, progress=progress, kind=kind)


def index_passages(passages: list[Passage], *, embedder: TextEncoder | None = None, progress: bool = False, tune: Tuner | None = measure) -> Index:
    """:func:`index_corpus` of passages already split (a benchmark's documents)."""
    return passages_index(passages, tune=tune, embedder=embedder, progress=progress)
