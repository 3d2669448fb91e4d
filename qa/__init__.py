"""qa: question answering over your documents -- the best paragraphs, each with a checkable citation.

    >>> import qa
    >>> for hit in qa.retrieve("Who runs the Foreign Ministry's Persian accounts?", k=3):  # doctest: +SKIP
    ...     print(hit.citation(), hit.score)

The package follows the data: :mod:`qa.readers` (files → documents), :mod:`qa.indexing` (passages,
vectors, stores, the index folder), :mod:`qa.retrieval` (the question pipeline), :mod:`qa.serve` (chat,
HTTP API), :mod:`qa.cli`.
"""

from .errors import QAError
from .indexing.build import BuildReport, index_status
from .indexing.build import build_index as _build_index
from .indexing.embed import Embedder
from .indexing.folder import load_index
from .indexing.index import Index
from .indexing.split import split_document
from .passage import Highlight, Hit, Passage
from .readers import Document, Skip, read_corpus
from .retrieval.answer import Answer
from .retrieval.oneshot import ask, retrieve
from .retrieval.pipeline import Retriever, Stages
from .retrieval.tune import tune
from .version import __version__

__all__ = [
    "Answer",
    "BuildReport",
    "Document",
    "Embedder",
    "Highlight",
    "Hit",
    "Index",
    "Passage",
    "QAError",
    "Retriever",
    "Skip",
    "Stages",
    "__version__",
    "ask",
    "build_index",
    "index_status",
    "load_index",
    "read_corpus",
    "retrieve",
    "split_document",
]


def build_index(corpus_dir, index_dir=None, **options) -> BuildReport:
    """:func:`qa.indexing.build.build_index`, with the hybrid tuned on the corpus (``tune=None``: defaults)."""
    options.setdefault("tune", tune)
    return _build_index(corpus_dir, index_dir, **options)
