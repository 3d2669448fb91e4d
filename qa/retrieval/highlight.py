"""highlight: the sentence (or two) of each hit that best answers the question.

A sentence's score is its cosine similarity to the question plus a bonus for the share of the
question's (stemmed, non-stopword) words it contains: the embedding finds the sentence about the right
thing, the words prefer the one that names what was asked about.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..indexing.bm25 import tokenize
from ..indexing.split import sentence_spans
from ..passage import Highlight, Passage

__all__ = ["highlights"]

WORD_BONUS = 0.3
SHORT = 40  # a best sentence shorter than this takes its neighbour along ("He said so." alone says little)


def highlights(
    question: str, question_vector: np.ndarray, passages: list[Passage], encode: Callable[[list[str]], np.ndarray]
) -> list[Highlight]:
    """One :class:`Highlight` per passage, offsets into the passage's source file (``question_vector``
    is the question already embedded by the model behind ``encode``)."""
    spans = [sentence_spans(p.text) or [(0, len(p.text))] for p in passages]
    sentences = [p.text[s:e] for p, ss in zip(passages, spans) for s, e in ss]
    similarity = encode(sentences) @ question_vector
    wanted = set(tokenize([question])[0])
    words = tokenize(sentences)
    if wanted:
        similarity = similarity + WORD_BONUS * np.array([len(wanted & set(w)) / len(wanted) for w in words])
    out, row = [], 0
    for p, ss in zip(passages, spans):
        scores = similarity[row : row + len(ss)]
        row += len(ss)
        best = int(np.argmax(scores))
        s, e = ss[best]
        if e - s < SHORT and len(ss) > 1:
            if best + 1 < len(ss) and (best == 0 or scores[best + 1] >= scores[best - 1]):
                e = ss[best + 1][1]
            else:
                s = ss[best - 1][0]
        out.append(Highlight(p.text[s:e], p.start + s, p.start + e))
    return out
