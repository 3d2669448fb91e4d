"""What every way in to a running server shares: the retriever of the index it serves, loaded once and
reloaded when a build replaces it, or the caller's own error (a 503, a tool error) saying why there is none."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..errors import QAError
from ..retrieval.oneshot import cached_retriever
from ..retrieval.pipeline import Retriever

__all__ = ["current_retriever"]


def current_retriever(index_dir: str | os.PathLike, error: Callable[[str], Exception]) -> Retriever:
    """The retriever of the index in ``index_dir``; ``error(message)`` raised when it cannot be loaded."""
    try:
        return cached_retriever(index_dir)
    except QAError as e:
        raise error(str(e)) from None
