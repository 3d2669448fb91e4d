"""rerank: the stage that reorders the best passages before they are highlighted -- by default the
cross-encoder (:mod:`.cross_encoder`), which reads the question and each passage together. A re-ranker is
any object with ``depth`` (how many of the best passages it wants to see; 0: just the ``k`` asked for)
and ``rerank(question, hits) -> hits``; optionally ``for_index(index)`` (a copy bound to an index),
``warm_up()`` (load what it needs now, not on the first question), ``name``, ``sentence_scores(question,
passage, spans)`` (it picks the answer's sentence) and ``subject_gap(question, asked, passage)`` (it tells
a passage about what was asked about from one that says what was asked: :mod:`.subject`) and ``floor``
(a best hit scoring below it answers nothing: the question is not found).

It is chosen by configuration: ``$QA_RERANK`` (or ``Retriever(index, rerank=...)``) names one in
:data:`RERANKERS` (``none`` answers without re-ranking), or any importable ``module:attribute`` that is a
re-ranker or makes one when called -- so adding one is one module, registered with one line here or named
in the setting.
"""

from __future__ import annotations

import importlib
import os
from typing import Protocol

from ..passage import Hit

__all__ = ["DEFAULT", "RERANKERS", "NoRerank", "Reranker", "reranker", "reranker_name"]


class Reranker(Protocol):
    depth: int

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` (best first, not yet highlighted) in the order they should be shown."""
        ...


class NoRerank:
    depth = 0
    name = "none"

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        return hits


RERANKERS: dict[str, str] = {
    "cross-encoder": "qa.retrieval.cross_encoder:CrossEncoderRerank",
    "none": "qa.retrieval.rerank:NoRerank",
}
DEFAULT = "cross-encoder"


def reranker_name(made: Reranker) -> str:
    """What a re-ranker is called (``none`` for none): its ``name``, else its class."""
    return str(getattr(made, "name", None) or type(made).__name__)


def reranker(setting: str | Reranker | None = None) -> Reranker:
    """The re-ranker a setting names (default ``$QA_RERANK``, else the cross-encoder)."""
    if setting is not None and not isinstance(setting, str):
        return setting
    name = (setting or os.environ.get("QA_RERANK") or DEFAULT).strip()
    target = RERANKERS.get(name, name)
    module, _, attribute = target.partition(":")
    if not module or not attribute:
        raise ValueError(f"re-ranker must be one of {', '.join(RERANKERS)} or module:attribute, got {name[:100]!r}")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load re-ranker {name[:100]!r}: {e}") from None
    made = found
    if isinstance(found, type) or (callable(found) and not hasattr(found, "rerank")):  # a class or a factory
        try:
            made = found()
        except TypeError as e:
            raise ValueError(f"cannot make re-ranker {name!r}: {e}") from None
    if not callable(getattr(made, "rerank", None)) or not isinstance(getattr(made, "depth", None), int):
        raise ValueError(f"re-ranker {name!r} needs a rerank(question, hits) method and an integer depth")
    return made
