"""The stages of the question pipeline, each a typed contract (a :class:`~typing.Protocol`), and
:class:`Stages`, which holds one of each so any one can be replaced
(``Retriever(index, stages=replace(Stages(), settle=my_settle))``). Every mode goes through them: BM25
mode is the keyword run alone, dense mode the dense run alone, hybrid mode both gathered and fused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..indexing.index import Index
from ..indexing.manifest import Calibration
from ..passage import Highlight, Hit, Passage
from . import abstain, candidates, feedback, followup, fuse, highlight, settle
from .abstain import Verdict
from .ranking import Candidates, Query, Ranking, Searched
from .rerank import Reranker

__all__ = ["Abstain", "Feedback", "Fuse", "Gather", "Highlighter", "Merge", "Resolve", "Run", "Settle", "Stages"]

Encode = Callable[[list[str]], np.ndarray]


class Resolve(Protocol):
    def __call__(self, question: str, history: list[str]) -> str:
        """What to search for: the question, or (a follow-up) it with the conversation's topic."""
        ...


class Run(Protocol):
    def __call__(self, index: Index, query: Query, depth: int, allowed: np.ndarray | None = None) -> Ranking:
        """The ``depth`` best passages by one signal (the dense run: vectors; the keyword run: BM25)."""
        ...


class Gather(Protocol):
    def __call__(
        self, index: Index, query: Query, depth: int, allowed: np.ndarray | None = None, also: np.ndarray | None = None,
        *, runs: tuple[Run, Run] = ..., similarity: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> Candidates:  # fmt: skip
        """The union of both runs' best ``depth`` (and ``also``), with both scores of each (``similarity``:
        the cosines of a vector to rows, when the caller has them at hand)."""
        ...


class Fuse(Protocol):
    def __call__(self, candidates: Candidates, dense_weight: float | None = None) -> Ranking: ...


class Feedback(Protocol):
    def __call__(self, index: Index, text: str, query: Query, first: Ranking, searched: int) -> Query | None:
        """The query expanded with the first ranking's best passages (None: no second round)."""
        ...


class Settle(Protocol):
    def __call__(
        self, question: str, vector: np.ndarray, ranking: Ranking, passages: Sequence[Passage], encode: Encode, idf: Mapping[str, float]
    ) -> Ranking: ...


class Merge(Protocol):
    def __call__(self, with_topic: list[tuple[int, float]], alone: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """A follow-up's ranking from its search with the topic and the question alone."""
        ...


class Highlighter(Protocol):
    def __call__(
        self, question: str, vector: np.ndarray, passages: list[Passage], encode: Encode, idf: Mapping[str, float]
    ) -> list[Highlight]: ...


class Abstain(Protocol):
    def __call__(
        self, calibration: Calibration, found: Searched, hits: list[Hit],
        *, gap: float | None = None, floor: float | None = None,
    ) -> Verdict: ...  # fmt: skip


@dataclass(frozen=True)
class Stages:
    resolve: Resolve = followup.resolve
    dense: Run = candidates.dense
    keyword: Run = candidates.keyword
    gather: Gather = candidates.gather
    fuse: Fuse = fuse.fuse
    feedback: Feedback = feedback.expand
    settle: Settle = settle.settle
    merge: Merge = followup.merge
    rerank: Reranker | str | None = None  # None: $QA_RERANK, else the cross-encoder (see .rerank)
    highlight: Highlighter = highlight.highlights
    abstain: Abstain = abstain.decide
