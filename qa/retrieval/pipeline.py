"""The retrieval pipeline: a question in, an :class:`Answer` out, in explicit stages --

    follow-up → candidates (dense, BM25) → fuse → feedback → settle → rerank → highlight → abstain

each a function or object of its own module with typed values between them (:mod:`.ranking`), held in
:class:`Stages` so any one can be replaced (``Retriever(index, stages=replace(Stages(), ...))``) or, for the
re-ranker, chosen by configuration (``$QA_RERANK``, see :mod:`.rerank`; the cross-encoder by default).
Settle is skipped when the re-ranker reads at least the passages settle would reorder: it would only
shuffle what the cross-encoder reorders anyway. ``qa.retrieve``, ``qa.ask``, the CLI, the HTTP API and
the chat all run :meth:`Retriever.run`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from ..errors import QAError
from ..text import content_words
from ..indexing.calibrate import calibrate
from ..indexing.embed import VectorCache
from ..indexing.folder import load_index
from ..indexing.index import Index
from ..indexing.manifest import Calibration, Tuning
from ..text import sentence_spans
from ..passage import Highlight, Hit
from . import abstain, candidates, feedback, followup, fuse, highlight, settle, subject
from .answer import Answer
from .ranking import Query, Ranking
from .request import Mode, Request
from .rerank import NoRerank, Reranker, reranker, reranker_name
from .timing import stage

__all__ = ["Retriever", "Stages"]

DEFAULT_TUNING = Tuning(fuse.DENSE_WEIGHT, "defaults (not measured)")
VECTOR_CACHE = 10_000  # recent question and sentence vectors kept per index (~15 MB at 384-d)


@dataclass(frozen=True)
class Stages:
    gather: Callable = candidates.gather  # (index, query, depth, allowed, also) → Candidates
    fuse: Callable = fuse.fuse  # (Candidates, dense weight) → Ranking
    feedback: Callable = feedback.expand  # (index, text, query, first ranking, searched) → Query | None
    settle: Callable = settle.settle  # (text, vector, ranking, passages, embed, idf) → Ranking
    rerank: Reranker | str | None = None  # None: $QA_RERANK, else none
    highlight: Callable = highlight.highlights  # (text, vector, passages, embed, idf) → [Highlight]
    abstain: Callable = abstain.decide  # (index, calibration, text, vector, hits, sources, gap=, floor=) → Verdict
    resolve: Callable = followup.resolve  # (question, history) → what to search
    merge: Callable = followup.merge  # (with topic, alone, k) → the follow-up's ranking


class Retriever:
    """Answers questions from one loaded :class:`~qa.indexing.index.Index`."""

    def __init__(self, index: Index, *, stages: Stages | None = None, rerank: Reranker | str | None = None):
        self.index = index
        self.stages = stages or Stages()
        made = reranker(rerank if rerank is not None else self.stages.rerank)
        bind = getattr(made, "for_index", None)
        self.reranker: Reranker = bind(index) if callable(bind) else made
        self.rerank_name = reranker_name(self.reranker)
        self.reranks = not isinstance(self.reranker, NoRerank)
        # Questions and highlight sentences, embedded once while they keep coming back.
        self.recent = VectorCache(VECTOR_CACHE)
        self._calibration = index.manifest.abstain
        self._subject_check: subject.SubjectCheck | None = None

    @classmethod
    def load(cls, index_dir: str | os.PathLike | None = None, *, model: str | None = None, embedder=None, **options) -> Retriever:
        """A retriever over the index in ``index_dir`` (see :func:`qa.indexing.folder.load_index`)."""
        return cls(load_index(index_dir, model=model, embedder=embedder), **options)

    # --- the one pipeline ---------------------------------------------------------------------------

    def ask(self, question: str, k: int = 5, *, history: list[str] | None = None,
            sources: Collection[str] | None = None, mode: Mode = "hybrid") -> Answer:  # fmt: skip
        """The ``k`` passages that best answer ``question``, best first, each with its highlight, and
        whether they answer it. ``history``: earlier user turns (for "where is he based?");
        ``sources``: search only those files."""
        return self.run(Request.checked(question, k, history=history, sources=sources, mode=mode))

    def retrieve(self, question: str, k: int = 5, **options) -> list[Hit]:
        """:meth:`ask`'s passages."""
        return self.ask(question, k, **options).hits

    def run(self, request: Request) -> Answer:
        """The answer to a checked request: every stage, in order."""
        s, k = self.stages, request.k
        query = s.resolve(request.question, list(request.history))
        hits = self.search(query, max(k, self.reranker.depth), request.mode, request.sources, alone=request.question)[:k]
        vector = self.embed_query(query)
        with stage("highlight"):
            # The answer's sentence by the re-ranker when it can judge sentences (unless the highlight stage
            # was replaced); the others', and all without it, by the highlight stage.
            judge = getattr(self.reranker, "sentence_scores", None)
            judged = [self._judged(hits[0].passage, query, judge)] if hits and callable(judge) and s.highlight is highlight.highlights else []
            rest = [h.passage for h in hits[len(judged) :]]
            marks = judged + (s.highlight(query, vector, rest, self.embed, self.idf(query)) if rest else [])
            hits = [dataclasses.replace(h, highlight=m) for h, m in zip(hits, marks)]
        with stage("abstain"):
            gap = self.subject_gap(query, request.question, hits)
            floor = getattr(self.reranker, "floor", None)
            verdict = s.abstain(self.index, self.calibration, query, vector, hits, request.sources, gap=gap, floor=floor)
        return Answer(request.question, query, verdict.answered, hits, verdict.confidence, verdict.outcome, self.reranks)

    def search(self, query: str, depth: int, mode: Mode = "hybrid", sources: Collection[str] | None = None,
               *, alone: str | None = None) -> list[Hit]:  # fmt: skip
        """The ``depth`` best passages for ``query``, ranked and re-ranked, without highlights. ``alone``:
        the question as asked, when ``query`` is it with the conversation's topic (a follow-up): both are
        ranked and the rankings merged."""
        s, settles = self.stages, self.reranker.depth < settle.SETTLE_DEPTH
        if alone is None or query == alone:
            ranked = self.rank(query, depth, mode, sources, settles=settles)
        else:
            wide = max(depth, followup.FOLLOWUP_DEPTH)
            with_topic = self.rank(query, wide, mode, sources, settles=settles)
            ranked = s.merge(with_topic, self.rank(alone, wide, mode, sources, settles=settles), depth)
        hits = [Hit(self.index.passages[i], score) for i, score in ranked]
        with stage("rerank"):
            return self.reranker.rerank(query, hits)

    def rank(self, text: str, k: int, mode: Mode = "hybrid", sources: Collection[str] | None = None,
             *, settles: bool = True) -> list[tuple[int, float]]:  # fmt: skip
        """(passage position, score) of the ``k`` best passages for ``text``, best first; only passages of
        the files in ``sources`` when given. The ranking stages, without re-ranking, highlights or
        abstention (``settles``: False skips the settle stage)."""
        index, s = self.index, self.stages
        allowed = index.positions_of(sources) if sources is not None else None
        if not len(index) or (allowed is not None and not allowed.size):
            return []
        if mode == "bm25":
            with stage("bm25"):
                return candidates.keyword(index.bm25.scores(text), k, allowed).top(k)
        vector = self.embed_query(text)
        if mode == "dense":
            with stage("vectors"):
                return candidates.dense(index, vector, k, allowed).top(k)
        searched = len(index) if allowed is None else len(allowed)
        depth = min(searched, max(candidates.CANDIDATES, k))
        with stage("bm25"):
            query = Query(vector, index.bm25.scores(text))
        with stage("vectors"):  # the store's search, and both scores of every candidate
            found = s.gather(index, query, depth, allowed)
        weight = self.tuning.dense_weight
        with stage("fuse"):
            ranking: Ranking = s.fuse(found, weight)
        with stage("feedback"):  # the expanded query's second round, gathered and fused
            expanded = s.feedback(index, text, query, ranking, searched)
            if expanded is not None:
                ranking = s.fuse(s.gather(index, expanded, depth, allowed, also=found.rows), weight)
        if settles:
            with stage("settle"):
                ranking = s.settle(text, vector, ranking, index.passages, self.embed, self.idf(text))
        return ranking.top(k)

    # --- what the stages share ------------------------------------------------------------------------

    @staticmethod
    def _judged(passage, question: str, judge) -> Highlight:
        """``passage``'s highlight from the re-ranker's scores of its sentences (one sentence: itself)."""
        spans = sentence_spans(passage.text) or [(0, len(passage.text))]
        return highlight.pick(passage, spans, judge(question, passage, spans) if len(spans) > 1 else np.zeros(1))

    def subject_gap(self, query: str, asked: str, hits: list[Hit]) -> float | None:
        """The re-ranker's question-over-subject gap on the best hit (:mod:`.subject`), when it has one and
        the test works on this index (tried on its own names once, on first use)."""
        gap = getattr(self.reranker, "subject_gap", None)
        if not hits or not callable(gap) or not self._subject_tried(gap).on:
            return None
        return gap(query, asked, hits[0].passage)

    def _subject_tried(self, gap) -> subject.SubjectCheck:
        if self._subject_check is None:
            self._subject_check = subject.check(self.index.passages, gap)
        return self._subject_check

    def warm_up(self) -> None:
        """Load the models and try the subject test now, not when the first question waits for them."""
        self.index.embedder.model
        warm = getattr(self.reranker, "warm_up", None)
        if callable(warm):
            warm()
        gap = getattr(self.reranker, "subject_gap", None)
        if callable(gap):
            self._subject_tried(gap)

    @property
    def calibration(self) -> Calibration:
        """The index's abstention threshold (an index built in memory is calibrated on first use)."""
        if self._calibration is None:
            self._calibration = calibrate(self.index)
        return self._calibration

    @property
    def tuning(self) -> Tuning:
        """How fusion mixes the two runs on this corpus (measured when it was indexed; else defaults)."""
        return self.index.manifest.tuning or DEFAULT_TUNING

    def idf(self, text: str) -> dict[str, float]:
        """How rare each of ``text``'s words is in the index (what the sentence stages weigh them by)."""
        return self.index.bm25.idf(content_words([text])[0])

    def embed_query(self, text: str) -> np.ndarray:
        if self.index.embedder.dimension != self.index.store.dimension:
            raise QAError(
                f"model {self.index.embedder.model_id!r} makes {self.index.embedder.dimension}-d vectors but the "
                f"index holds {self.index.store.dimension}-d ones; re-index with 'qa index'"
            )
        with stage("embed"):
            return self.embed([text])[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts that are not passages of the index (questions, sentences), kept a while."""
        return self.recent.encode(texts, self.index.embedder)
