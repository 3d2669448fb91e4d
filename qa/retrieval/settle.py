"""settle: the top passages of the hybrid ranking reordered by how well their best sentence states what
is asked (:mod:`.sentences`).

Fusion ranks whole passages; a question is answered by one sentence. Among the first ``SETTLE_DEPTH``
passages -- near-ties of fusion, most of them about the right subject -- the one whose best sentence names
the question's rarest words (and, for "when" / "how many", holds a date or a number) goes first. Each of
them is ordered by its fused score + ``SETTLE_WEIGHT`` × its best sentence's score; their scores are
then spread over the range the fused scores of these passages had, so they stay above the passages after
them and scores keep fusion's scale (0–1).

Only a question is settled (a question mark or word, or it opens like one: "is…", "name…"): a keyword
query ("rsa definition key") asks for a subject, not for a sentence, and its best passage is the one fusion
found. Measured on
msmarco-trecdl-5k (31 of 50 queries questions): 0.8109 nDCG@10 settling questions only, 0.8032 settling
all, 0.8194 none; squad2-dev-public (all but 8 of 2,828 questions) keeps answer@1 84%, highlight@1 70%.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..passage import Passage
from .ranking import Ranking, top_ids
from .sentences import Sentences

__all__ = ["SETTLE_DEPTH", "SETTLE_WEIGHT", "is_question", "settle"]

SETTLE_DEPTH = 10
SETTLE_WEIGHT = 3.0
SETTLE_WORD_WEIGHT = 0.5
_QUESTION = re.compile(
    r"\?|\b(who|whom|whose|what|when|where|which|why|how)\b|^\W*(is|are|was|were|do|does|did|can|could|name|list)\b", re.I
)


def is_question(text: str) -> bool:
    """Whether ``text`` is asked as a question (not a string of keywords)."""
    return _QUESTION.search(text) is not None


def settle(
    question: str,
    question_vector: np.ndarray,
    ranking: Ranking,
    passages: Sequence[Passage],
    encode: Callable[[list[str]], np.ndarray],
    idf: Mapping[str, float],
) -> Ranking:
    """``ranking`` with its top ``SETTLE_DEPTH`` rescored by their best sentence (``passages``: the
    index's, by position); a keyword query's ranking is left as it is."""
    top = top_ids(ranking.scores, SETTLE_DEPTH)
    if len(top) < 2 or not is_question(question):
        return ranking
    found = Sentences(question, question_vector, [passages[int(r)] for r in ranking.rows[top]], encode, idf, SETTLE_WORD_WEIGHT)
    combined = ranking.scores[top] + np.float32(SETTLE_WEIGHT) * np.maximum(found.best(), 0)
    hi, lo = ranking.scores[top].max(), ranking.scores[top].min()
    spread = combined.max() - combined.min()
    scores = ranking.scores.copy()
    scores[top] = lo + (combined - combined.min()) * ((hi - lo) / spread) if spread > 1e-9 else ranking.scores[top]
    return Ranking(ranking.rows, scores.astype(np.float32))
