"""The retrieval pipeline: a question in, an :class:`Answer` out, in explicit stages --

    follow-up → candidates (dense, BM25) → fuse → feedback → settle → rerank → highlight → abstain

each a function or object of its own module, typed by a contract of :mod:`.stages`, with typed values
between them (:mod:`.ranking`), held in :class:`Stages` so any one can be replaced
(``Retriever(index, stages=replace(Stages(), ...))``) or, for the re-ranker, chosen by configuration
(``$QA_RERANK``, see :mod:`.rerank`; the cross-encoder by default). What ranking found for the question
(its vector, its words' rarity, the passages allowed, the best similarity: :class:`~.ranking.Searched`)
travels on to re-ranking, highlights and abstention: nothing is embedded, tokenised or searched twice.
Settle is skipped when the re-ranker reads at least the passages settle would reorder: it would only
shuffle what the cross-encoder reorders anyway. ``qa.retrieve``, ``qa.ask``, the CLI, the HTTP API and
the chat all run :meth:`Retriever.run`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections.abc import Collection

import numpy as np

from ..indexing.calibrate import calibrate
from .recent import VectorCache, scoped
from ..indexing.folder import load_index
from ..indexing.index import Index
from ..indexing.manifest import Calibration, Tuning
from ..passage import Highlight, Hit
from ..text import content_words, sentence_spans
from . import candidates, followup, fuse, highlight, settle, subject
from .answer import Answer
from .ranking import Query, Ranking, Searched
from .request import Mode, Request, UnknownSources
from .rerank import NoRerank, Reranker, reranker
from .stages import Stages
from ..timing import stage

__all__ = ["Retriever", "Stages"]

DEFAULT_TUNING = Tuning(fuse.DENSE_WEIGHT, "defaults (not measured)")
VECTOR_CACHE = 10_000  # recent question and sentence vectors kept per index (~15 MB at 384-d)
READABLE_SETS = 256  # the passages each set of readable files may search, kept (one set per group combination)


class Retriever:
    """Answers questions from one loaded :class:`~qa.indexing.index.Index`."""

    def __init__(self, index: Index, *, stages: Stages | None = None, rerank: Reranker | str | None = None):
        self.index = index
        self.stages = stages or Stages()
        self.reranker: Reranker = reranker(rerank if rerank is not None else self.stages.rerank).for_index(index)
        self.rerank_name = self.reranker.name or type(self.reranker).__name__
        self.reranks = not isinstance(self.reranker, NoRerank)
        # Questions and highlight sentences, embedded once while they keep coming back.
        self.recent = VectorCache(VECTOR_CACHE)
        self._calibration = index.calibration
        self._subject_check: subject.SubjectCheck | None = None
        self._readable: dict[frozenset[str], tuple[np.ndarray, str, Index]] = {}  # readable files → what allowed() gives
        self._readable_lock = threading.Lock()

    @classmethod
    def load(cls, index_dir: str | os.PathLike | None = None, *, model: str | None = None, embedder=None, **options) -> Retriever:
        """A retriever over the index in ``index_dir`` (see :func:`qa.indexing.folder.load_index`)."""
        return cls(load_index(index_dir, model=model, embedder=embedder), **options)

    # --- the one pipeline ---------------------------------------------------------------------------

    def ask(self, question: str, k: int = 5, *, history: list[str] | None = None, sources: Collection[str] | None = None,
            mode: Mode = "hybrid", readable: frozenset[str] | None = None) -> Answer:  # fmt: skip
        """The ``k`` passages that best answer ``question``, best first, each with its highlight, and
        whether they answer it. ``history``: earlier user turns (for "where is he based?");
        ``sources``: search only those files; ``readable``: the files the asker may read (None: all;
        see :func:`qa.indexing.access.readable`) -- nothing else is searched, ranked or counted."""
        return self.run(Request.checked(question, k, history=history, sources=sources, mode=mode), readable)

    def retrieve(self, question: str, k: int = 5, **options) -> list[Hit]:
        """:meth:`ask`'s passages."""
        return self.ask(question, k, **options).hits

    def run(self, request: Request, readable: frozenset[str] | None = None) -> Answer:
        """The answer to a checked request, among the files ``readable`` (None: all): every stage, in
        order, with the caches of this asker's scope (:mod:`.recent`). :class:`UnknownSources` (a
        ValueError) when ``sources`` names a file that is not in the index or not readable: every way in
        says so alike, rather than answer with nothing (and a file one may not read is one not there)."""
        allowed, scope, view = self.allowed(request.sources, readable)
        with scoped(scope):
            return self._run(request, allowed, view)

    def _run(self, request: Request, allowed: np.ndarray | None, view: Index) -> Answer:
        s, k = self.stages, request.k
        query = s.resolve(request.question, list(request.history))
        found, hits = self.found(query, max(k, self.reranker.depth), request.mode, alone=request.question, allowed=allowed, view=view)
        hits = hits[:k]
        with stage("highlight"):
            # The answer's sentence by the re-ranker when it can judge sentences (unless the highlight stage
            # was replaced); the others', and all without it, by the highlight stage.
            judged = [self._judged(hits[0].passage, query)] if hits and self.reranker.judges_sentences and s.highlight is highlight.highlights else []
            rest = [h.passage for h in hits[len(judged) :]]
            marks = judged + (s.highlight(query, found.vector, rest, self.embed, found.idf) if rest else [])
            hits = [dataclasses.replace(h, highlight=m) for h, m in zip(hits, marks)]
        with stage("abstain"):
            gap = self.subject_gap(query, request.question, hits, found.idf)
            verdict = s.abstain(self.calibration, found, hits, gap=gap, floor=self.reranker.floor)
        return Answer(request.question, query, verdict.answered, hits, verdict.confidence, verdict.outcome, self.reranks)

    def search(self, query: str, depth: int, mode: Mode = "hybrid", sources: Collection[str] | None = None,
               *, alone: str | None = None, readable: frozenset[str] | None = None) -> list[Hit]:  # fmt: skip
        """The ``depth`` best passages for ``query``, ranked and re-ranked, without highlights. ``alone``:
        the question as asked, when ``query`` is it with the conversation's topic (a follow-up): both are
        ranked and the rankings merged."""
        allowed, scope, view = self.allowed(sources, readable)
        with scoped(scope):
            return self.found(query, depth, mode, alone=alone, allowed=allowed, view=view)[1]

    def allowed(self, sources: Collection[str] | None, readable: frozenset[str] | None = None) -> tuple[np.ndarray | None, str, Index]:
        """The positions a search may look at -- the passages of ``sources`` (None: every file) that are
        of files ``readable`` (None: every file) -- the scope of the caches for ``readable``, and the index
        as ``readable``'s reader sees it (BM25's word statistics of their passages alone: :meth:`Index.among`).
        :class:`UnknownSources` when ``sources`` names a file not in the index or not readable."""
        index = self.index
        if sources is not None:
            unknown = sum(not index.allowed([f]).size or (readable is not None and f not in readable) for f in set(sources))
            if unknown:
                raise UnknownSources(f"sources: {unknown} of the files named {'is' if unknown == 1 else 'are'} not in the index")
        if readable is None:
            return index.allowed(sources), "", index
        with self._readable_lock:
            known = self._readable.get(readable)
        if known is None:
            digest = hashlib.blake2b("\0".join(sorted(readable)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
            rows = index.allowed(readable)
            known = (rows, digest, index.among(rows))
            with self._readable_lock:
                if len(self._readable) >= READABLE_SETS:
                    self._readable.clear()
                self._readable[readable] = known
        mine, scope, view = known
        return (mine if sources is None else np.intersect1d(index.allowed(sources), mine, assume_unique=True)), scope, view

    def found(self, query: str, depth: int, mode: Mode = "hybrid", sources: Collection[str] | None = None,
              *, alone: str | None = None, allowed: np.ndarray | None = None, view: Index | None = None,
              ) -> tuple[Searched, list[Hit]]:  # fmt: skip
        """:meth:`search`, with what ranking ``query`` found (among the positions ``allowed``, when given;
        with the statistics of ``view``, :meth:`allowed`'s)."""
        s, settles = self.stages, self.reranker.depth < settle.SETTLE_DEPTH
        if allowed is None:
            allowed = self.index.allowed(sources)
        if alone is None or query == alone:
            found = self.rank(query, depth, mode, allowed=allowed, settles=settles, view=view)
            ranked = found.top(depth)
        else:
            wide = max(depth, followup.FOLLOWUP_DEPTH)
            found = self.rank(query, wide, mode, allowed=allowed, settles=settles, view=view)
            alone_found = self.rank(alone, wide, mode, allowed=allowed, settles=settles, view=view)
            ranked = s.merge(found.top(wide), alone_found.top(wide), depth)
        hits = [Hit(self.index.passage(i), score) for i, score in ranked]
        with stage("rerank"):
            return found, self.reranker.rerank(query, hits, found.idf)

    def rank(self, text: str, k: int, mode: Mode = "hybrid", sources: Collection[str] | None = None,
             *, allowed: np.ndarray | None = None, settles: bool = True, view: Index | None = None) -> Searched:  # fmt: skip
        """What ranking ``text`` finds: its ``k`` best passages (``.top(k)``: (position, score), best
        first), only passages of the files in ``sources`` (or at the positions ``allowed``) when given.
        The ranking stages, without re-ranking, highlights or abstention (``settles``: False skips the
        settle stage); ``view``: the index to rank with (BM25's statistics of a reader's passages)."""
        index, s = view if view is not None else self.index, self.stages
        if allowed is None:
            allowed = index.allowed(sources)
        vector = self.embed_query(text)
        idf = index.idf(content_words([text])[0])
        if not len(index) or (allowed is not None and not allowed.size):
            nothing = Ranking(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
            return Searched(text, vector, idf, allowed, nothing, 0.0)
        searched = len(index) if allowed is None else len(allowed)
        if mode == "bm25":
            with stage("bm25"):
                ranking = s.keyword(index, Query(vector, index.keyword(text)), k, allowed)
            with stage("vectors"):  # abstention's best similarity: no vector search ran
                nearest = index.best_similarity(vector, allowed)
            return Searched(text, vector, idf, allowed, ranking, nearest)
        if mode == "dense":
            with stage("vectors"):
                ranking = s.dense(index, Query(vector, None), k, allowed)
            return Searched(text, vector, idf, allowed, ranking, float(ranking.scores.max()) if ranking.scores.size else 0.0)
        depth = min(searched, max(candidates.CANDIDATES, k))
        runs = (s.dense, s.keyword)
        with stage("bm25"):
            query = Query(vector, index.keyword(text))
        with stage("vectors"):  # both runs, and both scores of every candidate
            found = s.gather(index, query, depth, allowed, runs=runs)
        weight = self.tuning.dense_weight
        with stage("fuse"):
            ranking = s.fuse(found, weight)
        with stage("feedback"):  # the expanded query's second round, gathered and fused
            expanded = s.feedback(index, text, query, ranking, searched)
            if expanded is not None:
                ranking = s.fuse(s.gather(index, expanded, depth, allowed, also=found.rows, runs=runs), weight)
        if settles:
            with stage("settle"):
                ranking = s.settle(text, vector, ranking, index.passages, self.embed, idf)
        return Searched(text, vector, idf, allowed, ranking, found.nearest, found)

    # --- what the stages share ------------------------------------------------------------------------

    def _judged(self, passage, question: str) -> Highlight:
        """``passage``'s highlight from the re-ranker's scores of its sentences (one sentence: itself)."""
        spans = sentence_spans(passage.text) or [(0, len(passage.text))]
        scores = self.reranker.sentence_scores(question, passage, spans) if len(spans) > 1 else np.zeros(1)
        return highlight.pick(passage, spans, scores)

    def subject_gap(self, query: str, asked: str, hits: list[Hit], idf=None) -> float | None:
        """The re-ranker's question-over-subject gap on the best hit (:mod:`.subject`), when it has one and
        the test works on this index (tried on its own names once, on first use)."""
        if not hits or not self._subject_tried().on:
            return None
        return self.reranker.subject_gap(query, asked, hits[0].passage, idf)

    def _subject_tried(self) -> subject.SubjectCheck:
        if self._subject_check is None:
            tests = self.reranker.tests_subject
            self._subject_check = subject.check(self.index.passages, self.reranker.subject_gap) if tests else subject.SubjectCheck(False)
        return self._subject_check

    def warm_up(self) -> None:
        """Load the models, calibrate and try the subject test now, not when the first question waits."""
        self.index.warm_up()
        self.reranker.warm_up()
        self.calibration
        self._subject_tried()

    @property
    def calibration(self) -> Calibration:
        """The index's abstention threshold (an index built in memory is calibrated on first use)."""
        if self._calibration is None:
            self._calibration = calibrate(self.index)
        return self._calibration

    @property
    def tuning(self) -> Tuning:
        """How fusion mixes the two runs on this corpus (measured when it was indexed; else defaults)."""
        return self.index.tuning or DEFAULT_TUNING

    def embed_query(self, text: str) -> np.ndarray:
        with stage("embed"):
            return self.recent.encode([text], self.index.encode_query, "query")[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts that are not passages of the index (sentences), kept a while."""
        return self.recent.encode(texts, self.index.encode_document, "document")
