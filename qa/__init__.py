"""qa: question answering over your documents -- the best paragraphs, each with a checkable citation.

    >>> import qa
    >>> for hit in qa.retrieve("Who runs the Foreign Ministry's Persian accounts?", k=3):  # doctest: +SKIP
    ...     print(hit.citation(), hit.score)

The package follows the data: :mod:`qa.readers` (files → documents), :mod:`qa.indexing` (passages,
vectors, stores, the index folder), :mod:`qa.retrieval` (the question pipeline), :mod:`qa.serve` (chat,
HTTP API), :mod:`qa.cli`.
"""

from .build import build_index, index_corpus, index_passages
from .errors import QAError
from .evaluate import ANSWERABLE, evaluate_qa, evaluate_retrieval, load_qa_cases
from .indexing.access import Rules, load_rules
from .indexing.build import BuildReport, index_status
from .indexing.embed import Embedder, TextEncoder
from .indexing.folder import load_index
from .indexing.index import Index, IndexInfo
from .indexing.manifest import Tuning
from .indexing.ray_embed import RayEmbedder
from .indexing.report import tuning_line
from .indexing.split import split_document
from .indexing.stores import kinds as store_kinds
from .passage import Highlight, Hit, Passage
from .readers import Document, Skip, read_corpus
from .retrieval.answer import Answer
from .retrieval.oneshot import ask, retrieve, user_groups
from .retrieval.pipeline import Retriever
from .retrieval.request import MODES, Request
from .retrieval.rerank import Reranker
from .retrieval.stages import Stages
from .users import Users, add_user
from .version import __version__

__all__ = [
    "ANSWERABLE",
    "MODES",
    "Answer",
    "BuildReport",
    "Document",
    "Embedder",
    "Highlight",
    "Hit",
    "Index",
    "IndexInfo",
    "Passage",
    "QAError",
    "RayEmbedder",
    "Request",
    "Reranker",
    "Retriever",
    "Rules",
    "Skip",
    "Stages",
    "TextEncoder",
    "Tuning",
    "Users",
    "__version__",
    "add_user",
    "ask",
    "build_index",
    "evaluate_qa",
    "evaluate_retrieval",
    "index_corpus",
    "index_passages",
    "index_status",
    "load_index",
    "load_qa_cases",
    "load_rules",
    "read_corpus",
    "retrieve",
    "split_document",
    "store_kinds",
    "tuning_line",
    "user_groups",
]
