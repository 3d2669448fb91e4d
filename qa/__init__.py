"""qa: question answering over your documents -- the best paragraphs, each with a checkable citation.

    >>> import qa
    >>> for hit in qa.retrieve("Who runs the Foreign Ministry's Persian accounts?", k=3):  # doctest: +SKIP
    ...     print(hit.citation(), hit.score)
"""

__version__ = "0.1.0"

from .answer import Answer, ask  # noqa: E402
from .build import BuildReport, build_index, index_status  # noqa: E402
from .embed import Embedder  # noqa: E402
from .errors import QAError  # noqa: E402
from .hit import Highlight, Hit  # noqa: E402
from .loaded import retrieve  # noqa: E402
from .read import Document, Skip, read_corpus  # noqa: E402
from .search import Index  # noqa: E402
from .split import Passage, split_document  # noqa: E402

__all__ = [
    "Answer",
    "Highlight",
    "ask",
    "BuildReport",
    "Document",
    "Embedder",
    "Hit",
    "Index",
    "Passage",
    "QAError",
    "Skip",
    "__version__",
    "build_index",
    "index_status",
    "read_corpus",
    "retrieve",
    "split_document",
]
