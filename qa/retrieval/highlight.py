"""highlight: the sentence (or two) of each hit that best answers the question -- its best-scored
sentence (:mod:`.sentences`), with a neighbour when it is too short to stand alone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..passage import Highlight, Passage
from .sentences import Sentences

__all__ = ["highlights", "mark"]

SHORT = 40  # a best sentence shorter than this takes its neighbour along ("He said so." alone says little)


def highlights(
    question: str,
    question_vector: np.ndarray,
    passages: list[Passage],
    encode: Callable[[list[str]], np.ndarray],
    idf: dict[str, float],
) -> list[Highlight]:
    """One :class:`Highlight` per passage, offsets into the passage's source file (``question_vector``
    is the question already embedded by the model behind ``encode``; ``idf``: its words' rarity)."""
    return mark(passages, Sentences(question, question_vector, passages, encode, idf))


def mark(passages: list[Passage], sentences: Sentences) -> list[Highlight]:
    """The highlight of each passage from its scored ``sentences``."""
    out = []
    for p, ss, scores in zip(passages, sentences.spans, sentences.scores):
        best = int(np.argmax(scores))
        s, e = ss[best]
        if e - s < SHORT and len(ss) > 1:
            if best + 1 < len(ss) and (best == 0 or scores[best + 1] >= scores[best - 1]):
                e = ss[best + 1][1]
            else:
                s = ss[best - 1][0]
        out.append(Highlight(p.text[s:e], p.start + s, p.start + e))
    return out
