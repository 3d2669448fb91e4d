"""Answers, and saying honestly when the documents do not contain one.

Abstention is calibrated per index, because what counts as a "high" similarity depends on the model and
on the corpus. When an index is built, a fixed set of off-topic questions (:data:`PROBES`: sport, cooking,
astronomy, programming…) is searched against it. Their best cosine similarities are what "nothing here
answers this" looks like for this corpus and model; the threshold is a high quantile of them plus a
margin of their spread. A corpus that happens to answer a probe moves the quantile little: most probes
stay off-topic for any corpus.

A question is answered when its best passage beats that threshold *and* the best passages share a
word with it (stemmed, stopwords aside) -- or, without a shared word, when it beats the threshold by
``STRONG`` standard deviations of the probes. The word test catches questions that are merely in the
corpus's neighbourhood ("What is the population of Tokyo?" against news about Iran scores like a real
question, but no passage says "population" or "Tokyo"); the strong margin keeps pure paraphrases.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from .bm25 import tokenize
from .errors import check_args, check_history
from .loaded import cached_index
from .search import Hit, Index

__all__ = ["PROBES", "Answer", "answer", "ask", "calibrate"]

PROBES = (
    "Who won the football World Cup final?",
    "How do I bake sourdough bread at home?",
    "What is the boiling point of water at sea level?",
    "How many moons does Jupiter have?",
    "Who painted the Mona Lisa?",
    "What is the best programming language for web development?",
    "How do you change a flat tyre on a bicycle?",
    "What is the recipe for chocolate chip cookies?",
    "When did the dinosaurs become extinct?",
    "How does photosynthesis work in plants?",
    "What is the tallest mountain in the world?",
    "Who wrote the novel Pride and Prejudice?",
    "How do I reset my wifi router password?",
    "What are the rules of chess castling?",
    "How long should I boil an egg?",
    "What is the speed of light in a vacuum?",
    "Which team won the basketball championship last season?",
    "How do I train my puppy to sit?",
    "What is the difference between a virus and a bacterium?",
    "How many calories are in a banana?",
    "What is the capital city of Canada?",
    "How do airplanes stay in the air?",
    "Who discovered penicillin?",
    "What is the largest ocean on Earth?",
    "How do I grow tomatoes in pots?",
    "What year did the first man land on the moon?",
    "How does a compound interest loan work?",
    "What is the plot of the opera Carmen?",
    "How do I knit a scarf for beginners?",
    "What causes the northern lights?",
    "Which guitar chords should a beginner learn first?",
    "How do I remove a red wine stain from a carpet?",
    "What is the lifespan of a domestic cat?",
    "How do solar panels generate electricity?",
    "What is the offside rule in football?",
    "How do I make fresh pasta dough?",
    "What is the chemical formula of table salt?",
    "How often should I water a cactus?",
    "What is a black hole?",
    "How do I install Python packages with pip?",
)
QUANTILE = 0.9
MARGIN = 1.0  # standard deviations of the probes' scores above their quantile
STRONG = 2.0  # further standard deviations that make a shared word unnecessary
EVIDENCE_HITS = 3


@dataclass(frozen=True)
class Answer:
    question: str
    query: str  # what was searched: the question, or with the conversation's topic for a follow-up
    answered: bool  # False: the documents do not contain the answer; ``hits`` are the closest passages
    hits: list[Hit] = field(default_factory=list)
    confidence: float = 0.0  # best similarity minus the index's threshold (negative: not answered)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": self.query,
            "answered": self.answered,
            "confidence": self.confidence,
            "hits": [h.to_dict() for h in self.hits],
        }


def calibrate(index: Index) -> dict:
    """The abstention threshold for ``index`` (stored in its manifest by ``qa index``)."""
    best = np.array([_best_similarity(index, v) for v in index.embedder.encode(list(PROBES))])
    threshold = float(np.quantile(best, QUANTILE) + MARGIN * best.std())
    return {
        "method": f"off-topic probes: q{int(QUANTILE * 100)} + {MARGIN:g} sd of their best cosine",
        "probes": len(PROBES),
        "probe_median": round(float(np.median(best)), 4),
        "probe_max": round(float(best.max()), 4),
        "probe_sd": round(float(best.std()), 4),
        "threshold": round(threshold, 4),
    }


def _best_similarity(index: Index, qvec: np.ndarray, sources: Collection[str] | None = None) -> float:
    if sources is not None:
        best = index.search_dense_best(qvec, sources)
        return best if best is not None else 0.0
    scores, ids = index.store.search(qvec, 1)
    return float(scores[0][0]) if ids.size and ids[0][0] >= 0 else 0.0


def answer(
    index: Index,
    question: str,
    *,
    history: list[str] | None = None,
    k: int = 5,
    sources: Collection[str] | None = None,
) -> Answer:
    """:func:`ask` on a loaded index. ``sources`` restricts the search (and the abstention check) to
    those files."""
    from .followup import resolve

    question = check_args(question, k)
    query = resolve(question, check_history(history))
    hits = index.hits(query, k, alone=question, sources=sources)
    calibration = index.manifest.get("abstain")
    if not calibration:  # an index built in memory, not by qa index: calibrate it now, once
        calibration = index.manifest["abstain"] = calibrate(index)
    confidence = _best_similarity(index, index.embed_query(query), sources) - calibration["threshold"]
    wanted = set(tokenize([query])[0])
    shared = any(wanted & set(words) for words in tokenize([h.title + "\n" + h.text for h in hits[:EVIDENCE_HITS]]))
    strong = confidence > STRONG * calibration.get("probe_sd", 0.0)
    return Answer(question, query, confidence > 0 and (shared or strong), hits, round(confidence, 4))


def ask(
    question: str,
    *,
    history: list[str] | None = None,
    k: int = 5,
    index_dir: str | os.PathLike | None = None,
    sources: Collection[str] | None = None,
) -> Answer:
    """Answer ``question`` from the index: the best passages with highlights, and whether they answer it.
    ``sources``: search only these files (paths as in ``Hit.source``).

    >>> a = qa.ask("Who won the 2018 FIFA World Cup?")   # doctest: +SKIP
    >>> a.answered
    False
    """
    check_args(question, k)
    check_history(history)
    return answer(cached_index(index_dir), question, history=history, k=k, sources=sources)
