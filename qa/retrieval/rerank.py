"""rerank: the stage that reorders the best passages before they are highlighted -- by default the
cross-encoder (:mod:`.cross_encoder`), which reads the question and each passage together.

A re-ranker is a :class:`Reranker`: ``depth`` (how many of the best passages it wants to see; 0: just the
``k`` asked for) and ``rerank(question, hits, idf)``. What else it can do it declares by overriding the
base's defaults: ``for_index(index)`` (a copy bound to an index), ``warm_up()`` (load what it needs now),
``name``, ``judges_sentences`` with ``sentence_scores(question, passage, spans)`` (it picks the answer's
sentence), ``subject_gap(question, asked, passage, idf)`` (it tells a passage about what was asked about
from one that says what was asked: :mod:`.subject`) and ``floor`` (a best hit scoring below it answers
nothing: the question is not found). An object that only has ``depth`` and ``rerank(question, hits)`` --
one written outside qa -- is wrapped in one (:class:`Plugged`).

It is chosen by configuration: ``$QA_RERANK`` (or ``Retriever(index, rerank=...)``) names one in
:data:`RERANKERS` (``none`` answers without re-ranking), or any importable ``module:attribute`` that is a
re-ranker or makes one when called -- so adding one is one module, registered with one line here or named
in the setting.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

import numpy as np

from ..passage import Hit, Passage

__all__ = ["DEFAULT", "RERANKERS", "NoRerank", "Plugged", "Reranker", "reranker"]


class Reranker:
    """The re-ranking stage's contract, with what a re-ranker need not do answered by default."""

    depth: int = 0
    name: str = ""
    floor: float | None = None  # a best hit scoring below this answers nothing (None: no such score)
    judges_sentences: bool = False  # whether sentence_scores works
    tests_subject: bool = False  # whether subject_gap gives a gap (else always None)

    def rerank(self, question: str, hits: list[Hit], idf: Mapping[str, float] | None = None) -> list[Hit]:
        """``hits`` (best first, not yet highlighted) in the order they should be shown (``idf``: the
        rarity of the question's content words in the index, as ranking found it)."""
        raise NotImplementedError

    def for_index(self, index) -> Reranker:
        return self

    def warm_up(self) -> None:
        pass

    def sentence_scores(self, question: str, passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        raise NotImplementedError

    def subject_gap(self, question: str, asked: str, passage: Passage, idf: Mapping[str, float] | None = None) -> float | None:
        return None


class NoRerank(Reranker):
    name = "none"

    def rerank(self, question: str, hits: list[Hit], idf: Mapping[str, float] | None = None) -> list[Hit]:
        return hits


class Plugged(Reranker):
    """A re-ranker written outside qa: an object with ``depth`` and ``rerank(question, hits)``."""

    def __init__(self, made) -> None:
        self.made = made
        self.depth = made.depth
        self.name = str(getattr(made, "name", None) or type(made).__name__)

    def rerank(self, question: str, hits: list[Hit], idf: Mapping[str, float] | None = None) -> list[Hit]:
        return self.made.rerank(question, hits)


RERANKERS: dict[str, str] = {
    "cross-encoder": "qa.retrieval.cross_encoder:CrossEncoderRerank",
    "none": "qa.retrieval.rerank:NoRerank",
}
DEFAULT = "cross-encoder"


def reranker(setting: str | object | None = None) -> Reranker:
    """The re-ranker a setting names (default ``$QA_RERANK``, else the cross-encoder)."""
    if setting is not None and not isinstance(setting, str):
        return _checked(setting, type(setting).__name__)
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
    return _checked(made, name)


def _checked(made: object, name: str) -> Reranker:
    if isinstance(made, Reranker):
        return made
    if not callable(getattr(made, "rerank", None)) or not isinstance(getattr(made, "depth", None), int):
        raise ValueError(f"re-ranker {name!r} needs a rerank(question, hits) method and an integer depth")
    return Plugged(made)
