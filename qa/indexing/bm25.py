"""Keyword search: BM25 (bm25s) over stemmed words with English stopwords removed.

Saved as bm25s' own JSON + ``.npy`` files (``allow_pickle=False``): an index is data, not code.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..passage import Passage
from ..text import bm25s, tokenize, tokenize_corpus

__all__ = ["BM25", "PassageWords"]

# Lucene's BM25 with the parameters Anserini uses for passage retrieval: a standard, not a fit to
# any one of our datasets.
K1, B = 0.9, 0.4
logging.getLogger("bm25s").setLevel(logging.WARNING)


class BM25:
    def __init__(self, model: bm25s.BM25, size: int, among: np.ndarray | None = None):
        """``among``: which passages (a mask) the word statistics are of; None: all (see :meth:`among`)."""
        self._model = model
        self.size = size
        self._among = among
        self._n = size if among is None else int(among.sum())

    def among(self, rows: np.ndarray) -> BM25:
        """This BM25 with each word's rarity (idf) counted among the passages at ``rows`` alone: a search
        restricted to what one reader may see scores as if nothing else were indexed, so a score cannot
        tell whether a word is in a passage they may not read. (Only the mean passage length, one number
        over all of them, stays shared.)"""
        mask = np.zeros(self.size, dtype=bool)
        mask[rows] = True
        return BM25(self._model, self.size, mask)

    @classmethod
    def build(cls, texts: list[str]) -> BM25:
        return cls.from_words(tokenize_corpus(texts))

    @classmethod
    def from_words(cls, words: list[list[str]]) -> BM25:
        """BM25 over documents already tokenized (:func:`qa.text.tokenize_corpus`)."""
        model = bm25s.BM25(k1=K1, b=B)
        model.index(words, show_progress=False)
        return cls(model, len(words))

    def __len__(self) -> int:
        return self.size

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every passage for ``query`` (zeros when it has no searchable word)."""
        return self.weighted_scores(Counter(tokenize([query])[0]))

    def weighted_scores(self, terms: dict[str, float]) -> np.ndarray:
        """Sum over ``terms`` of weight × BM25 score of that (already tokenized) term."""
        total = np.zeros(self.size, dtype=np.float32)
        for term, weight in terms.items():
            if weight:
                if self._among is not None:  # bm25s' scores are idf × a term-frequency part: rescale the idf
                    df, sub = self._df(term)
                    weight *= _idf(self._n, sub) / _idf(self.size, df) if df else 0.0
                total += np.float32(weight) * self._model.get_scores([term])
        return total

    def idf(self, terms: list[str]) -> dict[str, float]:
        """How rare each (already tokenized) term is in the passages: BM25's idf, ln(1 + (N − df + ½)/(df + ½));
        a term no passage has gets the highest value."""
        return {term: _idf(self._n, self._df(term)[1]) for term in terms}

    def _df(self, term: str) -> tuple[int, int]:
        """How many passages have ``term``: of all, and of those the statistics are of."""
        t = self._model.vocab_dict.get(term)
        if t is None:
            return 0, 0
        indptr = self._model.scores["indptr"]
        df = int(indptr[t + 1] - indptr[t])
        if self._among is None:
            return df, df
        return df, int(self._among[self._model.scores["indices"][indptr[t] : indptr[t + 1]]].sum())

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25:
        return cls(bm25s.BM25.load(str(folder), show_progress=False, allow_pickle=False), size)


def _idf(n: int, df: int) -> float:
    """Lucene's idf (bm25s' too): ln(1 + (N − df + ½)/(df + ½))."""
    return float(np.log1p((n - df + 0.5) / (df + 0.5)))


class PassageWords:
    """The BM25 words of passages' texts and titles, each tokenized once for every BM25 a build makes of
    them: one per title weight measured, the measuring sample's, the one kept (tokenizing was most of each).
    A passage's words at a title weight are those of :meth:`Passage.keyword_text` (words do not span the
    lines it joins), so its BM25 is the same."""

    def __init__(self, passages: Sequence[Passage], known: PassageWords | None = None):
        """``known``: words of another set of passages, reused for the texts and titles they share."""
        have = known._words if known is not None else {}
        parts = [(p.context, p.text) for p in passages]
        wanted = dict.fromkeys(s for context, text in parts for s in (*context, text))
        missing = [s for s in wanted if s not in have]
        made = dict(zip(missing, tokenize_corpus(missing))) if missing else {}
        self._words = words = {s: have[s] if s in have else made[s] for s in wanted}
        self._each = [([w for c in context for w in words[c]], words[text]) for context, text in parts]

    def bm25(self, title_weight: int = 1) -> BM25:
        """BM25 over the passages, each with its title ``title_weight`` times."""
        return BM25.from_words([context * title_weight + text for context, text in self._each])
