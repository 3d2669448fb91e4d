"""tune: how the hybrid weighs titles and mixes its two runs, measured on the corpus itself when an index
is built -- no labels, no other data, the same code for every corpus.

Which run to trust more depends on the corpus: BM25 wins where passages are told apart by rare words
(codes, names, jargon the model never saw), the model wins where questions word things differently from
the documents; a title names what an entity's description is about, or is the same few words for every
page of a manual. So both are measured, by the inverse cloze task (Lee et al., 2019): a sentence taken
out of its passage is a question that passage answers, and only that passage lost it, so neither run finds
it by its exact words. For up to ``QUERIES`` such pseudo-queries, a copy of the index (at most ``SAMPLE``
passages) in which the source passages lack their sentence is ranked, and nDCG@10 of the source scored:

1. for each title weight of ``TITLE_WEIGHTS`` (how many times BM25 reads a passage's title and section
   path: 0 leaves them out), at the default dense weight -- skipped when no passage has a title;
2. with that title weight, for each dense weight of ``WEIGHTS`` (0: BM25 alone, 1: the model alone).

A measured setting replaces its default (title once, dense ``DENSE_WEIGHT``) only when it beats it by
``SIGNIFICANCE`` standard errors over the same pseudo-queries: on a flat curve the sample's noise picks
the peak, and the default is as good and better tested.

Feedback and settle are off while measuring, and feedback is not chosen here: a pseudo-query has one
relevant passage, which makes pseudo-relevance feedback look harmful on every corpus -- also where many
passages answer a question and real questions gain from it (msmarco-trecdl-5k: ICT −0.016 nDCG@10 for
three feedback passages, real queries +0.015). Settle looks for the very sentence taken out. A corpus with
fewer than ``MIN_QUERIES`` passages of three sentences or more keeps the defaults: too few to measure.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..indexing.assemble import assemble_index
from ..indexing.bm25 import PassageWords
from ..indexing.index import Index
from ..indexing.manifest import TITLE_WEIGHTS, Tuning
from ..text import sentence_spans
from ..passage import Passage
from .candidates import CANDIDATES, gather
from .fuse import DENSE_WEIGHT, fuse
from .pipeline import DEFAULT_TUNING as DEFAULT
from .ranking import Query, Ranking, top_ids

__all__ = ["DEFAULT", "MIN_QUERIES", "QUERIES", "TUNE", "WEIGHTS", "Plan", "Tune", "prepare", "pseudo_queries", "tune"]

WEIGHTS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
QUERIES = 200
MIN_QUERIES = 40
SAMPLE = 5_000
SIGNIFICANCE = 2.0  # standard errors by which a weight must beat the default to replace it
SENTENCE_WORDS = (5, 40)  # pseudo-queries shorter carry too little, longer ones are not questions


@dataclass(frozen=True)
class Plan:
    """What tuning measures with that needs no vector, made from the passages alone (:func:`prepare`): a
    build makes it while the passages are embedded, so only the dense half waits for them."""

    found: int  # pseudo-queries found (fewer than MIN_QUERIES: nothing else is made)
    asked: list[tuple[int, str]]  # (the source's row in the sample, the sentence taken out of it)
    sample: list[Passage]  # the passages measured on, the sources without their sentence
    titled: bool  # whether any passage has a title (else only the default title weight is measured)
    words: PassageWords | None  # the sample's BM25 words
    keyword: dict[int, list[tuple[np.ndarray, Ranking]]]  # per title weight, per question: BM25's score of every sample passage, and its run


def prepare(passages: list[Passage], words: PassageWords | None = None, *, queries: int = QUERIES, seed: int = 0) -> Plan:
    """The measuring of :func:`tune` that needs no vectors: pseudo-queries, the sample and BM25's part of
    each question's candidates at every title weight. ``words``: the passages' BM25 words, when made."""
    rng = random.Random(seed)
    found = pseudo_queries(passages, queries, rng)
    if len(found) < MIN_QUERIES:
        return Plan(len(found), [], [], False, None, {})
    sources = {position for position, _, _ in found}
    others = [i for i in range(len(passages)) if i not in sources]
    keep = sorted(sources | set(rng.sample(others, min(len(others), SAMPLE - len(sources)))))
    cut = {position: passage for position, _, passage in found}
    sample = [cut.get(i, passages[i]) for i in keep]
    where = {i: n for n, i in enumerate(keep)}
    asked = [(where[position], question) for position, question, _ in found]
    titled = any(p.context for p in sample)
    sample_words = PassageWords(sample, words)
    depth = min(len(sample), CANDIDATES)
    keyword: dict[int, list[tuple[np.ndarray, Ranking]]] = {}
    for t in TITLE_WEIGHTS if titled else (DEFAULT.title_weight,):
        bm25, keyword[t] = sample_words.bm25(t), []
        for _, question in asked:
            scores = bm25.scores(question)
            best = top_ids(scores, depth)
            keyword[t].append((scores, Ranking(best, scores[best])))
    return Plan(len(found), asked, sample, titled, sample_words, keyword)


def tune(index: Index, plan: Plan | None = None, *, queries: int = QUERIES, seed: int = 0) -> Tuning:
    """The title weight and fusion weight that retrieve the sources of ``index``'s pseudo-queries best,
    with the evidence (nDCG@10 at each), or the defaults when the corpus is too small to measure.
    ``plan``: :func:`prepare` of the index's passages, when made already."""
    plan = plan or prepare(index.passages, index.words, queries=queries, seed=seed)
    asked, titled = plan.asked, plan.titled
    if not asked:
        return dataclasses.replace(
            DEFAULT, method=f"defaults: {plan.found} passages of 3+ sentences, {MIN_QUERIES} needed to measure",
            passages=len(index),
        )  # fmt: skip
    # The first round of hybrid ranking (Retriever.rank without feedback and settle) over the sample: the
    # sources embedded without their sentence, the others keep their vectors; candidates gathered once per
    # question and title weight (BM25's half from the plan), fused at each weight.
    copy = assemble_index(plan.sample, index.embedder, previous=index, title_weight=None, words=plan.words)[0]
    depth = min(len(copy), CANDIDATES)
    vectors = copy.encode_query([q for _, q in asked])
    # The dense run is the same at every title weight: searched once per question. The candidates'
    # cosines come from one product of every question with every passage: hundreds of small products, one
    # per candidate set, each spread over BLAS's threads, stall when other work holds the cores
    near = [Ranking(*copy.dense(v, depth)) for v in vectors]
    similar = vectors @ copy.vectors(np.arange(len(copy))).T
    gathered = {
        t: [
            gather(
                copy, Query(v, scores), depth, runs=(lambda *_, n=n: n, lambda *_, w=words: w),
                similarity=lambda vector, rows, row=similar[i]: row[rows],
            )  # fmt: skip
            for i, (v, n, (scores, words)) in enumerate(zip(vectors, near, runs))
        ]
        for t, runs in plan.keyword.items()
    }

    def gains(title_weight: int, weight: float) -> np.ndarray:
        return np.array([_ndcg(src, fuse(c, weight).top_rows(10)) for (src, _), c in zip(asked, gathered[title_weight])])

    by_title = {t: gains(t, DENSE_WEIGHT) for t in gathered}
    title = _choose(by_title, DEFAULT.title_weight)
    by_weight = {w: gains(title, w) for w in WEIGHTS}
    return Tuning(
        _choose(by_weight, DENSE_WEIGHT),
        f"inverse cloze: {len(asked)} sentences taken out of their passages, nDCG@10 of the source per title "
        f"weight (at dense weight {DENSE_WEIGHT:g}), then per dense weight; a default (title {DEFAULT.title_weight}, "
        f"dense {DENSE_WEIGHT:g}) stays unless another beats it by {SIGNIFICANCE:g} standard errors"
        + ("" if titled else "; no passage has a title"),
        len(asked), len(index), _curve(by_weight), title, _curve(by_title) if titled else {},
    )  # fmt: skip


class Tune:
    """:func:`tune` as a build's stage (:class:`qa.indexing.build.Preparing`): called on an index it
    measures; :meth:`prepare` first does the part that needs no vectors, while the passages are embedded."""

    def __call__(self, index: Index) -> Tuning:
        return tune(index)

    def prepare(self, passages: list[Passage], words: PassageWords) -> Callable[[Index], Tuning]:
        return functools.partial(tune, plan=prepare(passages, words))


TUNE = Tune()


def _choose(gains: dict, default):
    """The setting of the best mean gain, if it beats ``default`` clearly (:func:`_clearly_better`)."""
    best = max(gains, key=lambda x: gains[x].mean())
    return best if _clearly_better(gains[best], gains[default]) else default


def _curve(gains: dict) -> dict[str, float]:
    return {f"{x:g}": round(float(g.mean()), 4) for x, g in gains.items()}


def pseudo_queries(passages: list[Passage], n: int, rng: random.Random) -> list[tuple[int, str, Passage]]:
    """Up to ``n`` (passage position, one of its sentences, the passage without that sentence), from
    passages of three sentences or more, one sentence each, picked at random."""
    eligible = []
    for position, p in enumerate(passages):
        spans = sentence_spans(p.text)
        fit = [(s, e) for s, e in spans if SENTENCE_WORDS[0] <= len(p.text[s:e].split()) <= SENTENCE_WORDS[1]]
        if len(spans) >= 3 and fit:
            eligible.append((position, fit))
    found = []
    for position, fit in rng.sample(eligible, min(n, len(eligible))):
        p = passages[position]
        s, e = rng.choice(fit)
        rest = (p.text[:s].rstrip() + " " + p.text[e:].lstrip()).strip()
        found.append((position, p.text[s:e], dataclasses.replace(p, text=rest)))
    return found


def _clearly_better(gains: np.ndarray, than: np.ndarray) -> bool:
    """Whether ``gains`` beat ``than`` (the same pseudo-queries) by more than ``SIGNIFICANCE`` standard
    errors of their paired difference: a small sample's noise must not move the weight."""
    diff = gains - than
    return bool(diff.mean() > SIGNIFICANCE * diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else False


def _ndcg(source: int, ranked) -> float:
    """nDCG@10 of a ranking (passage positions, best first) with one relevant passage."""
    return next((1 / math.log2(rank + 2) for rank, row in enumerate(ranked[:10]) if row == source), 0.0)
