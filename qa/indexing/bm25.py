"""Keyword search: BM25 (bm25s) over stemmed words with English stopwords removed.

Saved as bm25s' own JSON + ``.npy`` files (``allow_pickle=False``): an index is data, not code.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_EN_PLUS

__all__ = ["BM25", "content_words", "tokenize"]

# Lucene's BM25 with the parameters Anserini uses for passage retrieval: a standard, not a fit to
# any one of our datasets.
K1, B = 0.9, 0.4
_stemmer = Stemmer.Stemmer("english")
logging.getLogger("bm25s").setLevel(logging.WARNING)


# bm25s.tokenize's own rules (its word pattern, lower case, stopwords dropped before stemming), applied
# one text at a time: at question time its per-call set-up (a stopword set and progress bars per call)
# cost more than the words. Tested equal to bm25s.tokenize.
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall
_STOPWORDS = {"en": frozenset(STOPWORDS_EN), "plus": frozenset(STOPWORDS_EN_PLUS)}
TOKEN_CACHE = 4096  # texts whose words are kept: questions and the sentences of passages cited again
CACHED_TEXT = 1000  # characters: longer texts (whole passages) are split anew (bounds the cache: ~10 MB)


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed words of two or more letters, stopwords removed."""
    return [list(_words(t, "en")) for t in texts]


def content_words(texts: list[str]) -> list[list[str]]:
    """:func:`tokenize` with the longer stopword list (179 words: "which", "did", "she", "how"…): the
    words that say what a question is about, not how it is asked."""
    return [list(_words(t, "plus")) for t in texts]


def _words(text: str, stopwords: str) -> tuple[str, ...]:
    return _cached(text, stopwords) if len(text) <= CACHED_TEXT else _stemmed(text, stopwords)


def _stemmed(text: str, stopwords: str) -> tuple[str, ...]:
    drop = _STOPWORDS[stopwords]
    return tuple(map(sys.intern, _stemmer.stemWords([w for w in _WORDS(text.lower()) if w not in drop])))


_cached = functools.lru_cache(maxsize=TOKEN_CACHE)(_stemmed)


def _tokenize_all(texts: list[str]) -> list[list[str]]:
    """:func:`tokenize` for a whole corpus at once (uncached: its passages would only evict questions)."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer.stemWords, return_ids=False, show_progress=False)


class BM25:
    def __init__(self, model: bm25s.BM25, size: int):
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> BM25:
        model = bm25s.BM25(k1=K1, b=B)
        model.index(_tokenize_all(texts), show_progress=False)
        return cls(model, len(texts))

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
                total += np.float32(weight) * self._model.get_scores([term])
        return total

    def idf(self, terms: list[str]) -> dict[str, float]:
        """How rare each (already tokenized) term is in the passages: BM25's idf, ln(1 + (N − df + ½)/(df + ½));
        a term no passage has gets the highest value."""
        vocab, indptr = self._model.vocab_dict, self._model.scores["indptr"]
        out = {}
        for term in terms:
            t = vocab.get(term)
            df = 0 if t is None else int(indptr[t + 1] - indptr[t])
            out[term] = float(np.log1p((self.size - df + 0.5) / (df + 0.5)))
        return out

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25:
        return cls(bm25s.BM25.load(str(folder), show_progress=False, allow_pickle=False), size)
