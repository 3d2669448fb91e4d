"""The text toolkit every stage shares: words as BM25 sees them (:func:`tokenize`), the words that say
what a question is about (:func:`content_words`), sentences (:func:`sentence_spans`) and a plain word count.
Indexing and retrieval both read text with these, so a passage and a question are always cut alike."""

from __future__ import annotations

import functools
import re
import sys

import Stemmer


def _bm25s():
    """bm25s, imported without numba. bm25s imports numba whenever it is installed (ranx needs it, for
    :mod:`qa.evaluate`), which costs every qa process 0.3 s at start; qa runs bm25s's numpy backend only.
    numba stays importable for ranx afterwards."""
    if "bm25s" in sys.modules or "numba" in sys.modules:
        import bm25s

        return bm25s
    sys.modules["numba"] = None  # type: ignore[assignment]  # an ImportError to bm25s: "no numba here"
    try:
        import bm25s
    finally:
        del sys.modules["numba"]
    return bm25s


bm25s = _bm25s()
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_EN_PLUS  # noqa: E402

__all__ = ["content_words", "sentence_spans", "tokenize", "tokenize_corpus", "word_count"]

_stemmer = Stemmer.Stemmer("english")

# bm25s.tokenize's own rules (its word pattern, lower case, stopwords dropped before stemming), applied
# one text at a time: at question time its per-call set-up (a stopword set and progress bars per call)
# cost more than the words. Tested equal to bm25s.tokenize.
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall
_STOPWORDS = {"en": frozenset(STOPWORDS_EN), "plus": frozenset(STOPWORDS_EN_PLUS)}
TOKEN_CACHE = 4096  # texts whose words are kept: questions and the sentences of passages cited again
CACHED_TEXT = 1000  # characters: longer texts (whole passages) are split anew (bounds the cache: ~10 MB)

# "Mr. Smith", "J. R. R. Tolkien", "e.g. This": a period there does not end a sentence.
_ABBREVIATION = re.compile(
    r"(?:^|[\s(“\"])(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Gen|Col|Lt|Sgt|Rev|Gov|Sen|Rep|vs|etc|e\.g|i\.e|[A-Z])\.$"
)
# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets) before whitespace and
# the start of a new sentence.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")


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


def tokenize_corpus(texts: list[str]) -> list[list[str]]:
    """:func:`tokenize` for a whole corpus at once (uncached: its passages would only evict questions)."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer.stemWords, return_ids=False, show_progress=False)


def word_count(text: str) -> int:
    return len(text.split())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text[start:end]``, whitespace between sentences left out."""
    end = len(text) if end is None else end
    spans, pos = [], start
    for m in _SENTENCE_END.finditer(text, start, end):
        if _ABBREVIATION.search(text, max(start, m.start() - 12), m.start() + 1):
            continue
        cut = m.start() + len(m.group().rstrip())
        spans.append((pos, cut))
        pos = m.end()
    if pos < end:
        spans.append((pos, end))
    return spans
