"""cross_encoder: the re-ranker qa uses by default (``$QA_RERANK=cross-encoder``) -- a cross-encoder
(:mod:`.cross_encoder_model`) reads the question and each of the first stage's best passages together and
orders them by how well they answer it; it also picks the answer's sentence (:meth:`CrossEncoderRerank.sentence_scores`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Mapping

import numpy as np

from ..passage import Hit, Passage
from ..text import content_words, sentence_spans
from .cross_encoder_model import CrossEncoder
from .rerank import Reranker
from .subject import subject

__all__ = ["DEPTH", "WINDOW", "CrossEncoderRerank"]

DEPTH = 30  # passages of the first stage it reads (chosen by bench/rerank.py: see the README); $QA_RERANK_DEPTH
MAX_DEPTH = 100
WINDOW = 128  # tokens of a passage it reads at most (ditto)
HEAD_TOKENS = 48  # of a passage's title and section path: a document's 5,000-character title costs no more
# A best hit below this is wholly unrelated to the question (off-topic questions score about −11). Not
# higher: it reads "When is the clock wound?" against "…winds the clock every Sunday at noon." at −8.
FLOOR_LOGIT = -10.0


def _probability(logit: float) -> float:
    return round(float(1.0 / (1.0 + np.exp(-logit))), 6)


class CrossEncoderRerank(Reranker):
    """The re-ranking stage: the best ``depth`` passages of the first stage in the order the cross-encoder
    puts them, each hit's score its probability of answering (the logit's sigmoid). It reads a passage's
    title and section path (``title``), then its text -- of a text longer than ``window`` tokens, the
    sentence sharing most of the question's rare words and that sentence's neighbours, up to ``window``
    tokens (0: the whole text, cut at 512)."""

    name = "cross-encoder"
    judges_sentences = True
    tests_subject = True
    floor = _probability(FLOOR_LOGIT)  # a best hit below it answers nothing (qa.retrieval.abstain)

    def __init__(self, depth: int | None = None, window: int = WINDOW, *, title: bool = True, model: CrossEncoder | None = None, idf=None):
        depth = _depth_setting() if depth is None else depth
        if not 0 < depth <= MAX_DEPTH:
            raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        self.depth = depth
        self.window = window
        self.title = title
        self.model = model or _shared_model()
        self._idf = idf  # the index's word rarity (BM25 idf of a word list), bound by for_index

    def for_index(self, index) -> CrossEncoderRerank:
        """This re-ranker, weighing words by their rarity in ``index`` when it picks a window."""
        return CrossEncoderRerank(self.depth, self.window, title=self.title, model=self.model, idf=index.idf)

    def warm_up(self) -> None:
        self.model.warm_up()

    def rerank(self, question: str, hits: list[Hit], idf: Mapping[str, float] | None = None) -> list[Hit]:
        head, rest = hits[: self.depth], hits[self.depth :]
        if not head:
            return hits
        logits = self.model.score(question, [self.read(question, h.passage, idf) for h in head])
        order = sorted(range(len(head)), key=lambda i: (-logits[i], i))
        ranked = [dataclasses.replace(head[i], score=_probability(logits[i])) for i in order]
        floor = ranked[-1].score  # passages it did not read stay below the ones it did, in their order
        return ranked + [dataclasses.replace(h, score=min(h.score, floor)) for h in rest]

    def sentence_scores(self, question: str, passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        """How well each sentence of ``passage`` (``spans``: offsets in its text) answers ``question``: the
        cross-encoder's logit of the sentence under the passage's title, plus that of the sentence with the
        one before it (what "she said" refers to is often there). Measured on 400 squad2 questions: the
        answer in the top passage's highlight 79.0% by the sentence scores of :mod:`.sentences`, 84.5% by
        the sentence alone, 85.9% by both."""
        head = self._head(passage)
        texts = [passage.text[s:e] for s, e in spans]
        alone = self.model.score(question, [head + t for t in texts])
        paired = self.model.score(question, [head + (texts[i - 1] + " " if i else "") + t for i, t in enumerate(texts)])
        return alone + paired

    def subject_gap(self, question: str, asked: str, passage: Passage, idf: Mapping[str, float] | None = None) -> float | None:
        """How much better ``passage`` answers ``question`` than it matches the names ``asked`` mentions
        (:func:`.subject.subject`; None when it names nothing): far below zero, the passage is about what
        was asked about but does not say what was asked. ``asked`` is the question as the user wrote it:
        a follow-up that names no one ("which university did he study at?") is not tested -- the
        cross-encoder reads "Ardavan Hatami: what is his music about?" poorly (1.9 against 7.3 for the
        name alone) even where the documents say it. The question's pair is the re-ranking's, cached."""
        name = subject(asked)
        if name is None:
            return None
        read = self.read(question, passage, idf)
        return float(self.model.score(question, [read])[0] - self.model.score(name, [read])[0])

    def read(self, question: str, passage: Passage, idf: Mapping[str, float] | None = None) -> str:
        """What the cross-encoder reads of ``passage`` for ``question`` (see the class docstring; ``idf``:
        the rarity of the question's content words, when the caller has it)."""
        return self._head(passage) + self.window_of(question, passage.text, idf)

    def _head(self, passage: Passage) -> str:
        """The title and section path read before a passage's text (their first ``HEAD_TOKENS`` tokens)."""
        if not self.title or not passage.context:
            return ""
        head = "\n".join(passage.context)
        offsets = self.model.offsets(head)
        return (head if len(offsets) <= HEAD_TOKENS else head[: offsets[HEAD_TOKENS - 1][1]]) + "\n"

    def window_of(self, question: str, text: str, idf: Mapping[str, float] | None = None) -> str:
        """The part of ``text`` read for ``question``: all of it, or a window (see the class docstring)."""
        if not self.window:
            return text
        offsets = self.model.offsets(text)
        if len(offsets) <= self.window:
            return text
        spans = sentence_spans(text) or [(0, len(text))]
        starts = np.array([s for s, _ in offsets])
        tokens = [int(np.searchsorted(starts, e) - np.searchsorted(starts, s)) for s, e in spans]
        if idf is not None:
            weight = idf
        else:
            wanted = sorted(set(content_words([question])[0]))
            weight = self._idf(wanted) if self._idf is not None else dict.fromkeys(wanted, 1.0)
        # fsum: a set's floats add up to the same in any order (its order follows the hash seed, and a
        # last-bit difference picked another of two sentences with the same words: eval runs differed)
        shares = [math.fsum(weight[w] for w in set(words) if w in weight) for words in content_words([text[s:e] for s, e in spans])]
        lo = hi = int(np.argmax(shares))
        used = tokens[lo]
        while True:  # the sentences after it first (what follows a name says what it did), then before
            if hi + 1 < len(spans) and used + tokens[hi + 1] <= self.window:
                hi += 1
                used += tokens[hi]
            elif lo > 0 and used + tokens[lo - 1] <= self.window:
                lo -= 1
                used += tokens[lo]
            else:
                break
        start, end = spans[lo][0], spans[hi][1]
        if used > self.window:  # one sentence longer than the window: its first ``window`` tokens
            inside = [e for s, e in offsets if start <= s < end]
            end = inside[self.window - 1]
        return text[start:end]


def _depth_setting() -> int:
    """``$QA_RERANK_DEPTH``, else :data:`DEPTH` (fewer passages: faster answers, less re-ranked)."""
    text = os.environ.get("QA_RERANK_DEPTH", "").strip()
    if not text:
        return DEPTH
    if not text.isdigit():
        raise ValueError(f"QA_RERANK_DEPTH must be a whole number between 1 and {MAX_DEPTH}, got {text[:20]!r}")
    return int(text)


_model: list[CrossEncoder] = []
_model_lock = threading.Lock()


def _shared_model() -> CrossEncoder:
    """One model per process, whatever number of retrievers (each index reloaded makes one)."""
    with _model_lock:
        if not _model:
            _model.append(CrossEncoder())
        return _model[0]
