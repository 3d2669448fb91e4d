"""highlight: the sentence (or two) of each hit that best answers the question -- its best-scored
sentence (:mod:`.sentences`), with a neighbour when it is too short to stand alone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..passage import Highlight, Passage
from .sentences import Sentences

__all__ = ["highlights", "mark", "pick"]

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
    return [pick(p, ss, scores) for p, ss, scores in zip(passages, sentences.spans, sentences.scores)]


def pick(passage: Passage, spans: list[tuple[int, int]], scores: np.ndarray) -> Highlight:
    """The highlight of ``passage``: its best-scored sentence (``spans``: the sentences' offsets in its
    text), with the better neighbour when it is too short to stand alone."""
    best = int(np.argmax(scores))
    s, e = spans[best]
    if e - s < SHORT and len(spans) > 1:
        if best + 1 < len(spans) and (best == 0 or scores[best + 1] >= scores[best - 1]):
            e = spans[best + 1][1]
        else:
            s = spans[best - 1][0]
    start, end = passage.start + s, passage.start + e
    boxes = tuple(box[:5] for box in passage.boxes if box[5] < end and box[6] > start)
    return Highlight(passage.text[s:e], start, end, boxes)
