"""followup: questions that lean on the conversation, without an LLM. Decide whether a question does,
and if so search for it together with the words of the turn it follows -- and alone (:func:`merge`).

A question depends on the conversation when it points back ("Where is *he* based?", "How long was *his*
father in prison?"), starts elliptically ("And in 2022?", "What about Bennett?") or has almost no words
of its own ("Why?"). Otherwise it is a new topic and is searched alone.
"""

from __future__ import annotations

import re

from ..text import STOPWORDS_EN_PLUS, tokenize

__all__ = ["ALONE_WEIGHT", "FOLLOWUP_DEPTH", "depends_on_history", "merge", "resolve"]

# Words that refer back to something named earlier. "that" is left out: it is far more often a
# relative pronoun ("the artist that visited") than a reference.
_REFERRING = frozenset(
    "he him his himself she her hers herself they them their theirs themselves it its itself "
    "this these those there then such".split()
)
_ELLIPTIC = re.compile(r"^\s*(and|but|also|so|what about|how about|what else|who else|same for|why|how come)\b", re.I)
# Words that carry no topic: a fuller stopword list than BM25's, plus verbs of asking and telling.
_NOT_TOPIC = frozenset(STOPWORDS_EN_PLUS) | frozenset("say said says tell told ask asked about also".split())
MAX_CONTEXT_WORDS = 12
# A follow-up is searched with the conversation's topic and also alone, mixed at this weight (on the
# corpus QA file this took follow-ups answered at rank 1 from 7 to 9 of 10).
ALONE_WEIGHT = 0.5
FOLLOWUP_DEPTH = 50  # passages ranked for each of the two searches


def depends_on_history(question: str) -> bool:
    words = re.findall(r"[a-z']+", question.lower())
    if any(w in _REFERRING for w in words) or _ELLIPTIC.match(question):
        return True
    return len(tokenize([question])[0]) <= 1  # "Why?", "When was that?", "Really?"


def _keywords(text: str) -> str:
    """The words of a turn that carry its topic: no stopwords, no question words, in order."""
    picked = [w for w in re.findall(r"[\w'’-]+", text) if w.lower() not in _NOT_TOPIC and len(w) > 1]
    return " ".join(list(dict.fromkeys(picked))[:MAX_CONTEXT_WORDS])  # first occurrences, in order


def resolve(question: str, history: list[str]) -> str:
    """What to search for: the question alone, or the topic words of the conversation plus the question.
    The topic is that of the latest earlier turn that stood on its own, so a chain of follow-ups keeps
    it ("Who is Hatami?" → "Where is he based?" → "What is his music about?" all search "Hatami")."""
    question = question.strip()
    turns = [t.strip() for t in history if t and t.strip()]
    if not turns or not depends_on_history(question):
        return question
    root = next((t for t in reversed(turns) if not depends_on_history(t)), turns[0])
    context = _keywords(root)
    return f"{context}: {question}" if context else question


def merge(with_topic: list[tuple[int, float]], alone: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The ``k`` best of a follow-up's two rankings, (position, score), its search with the topic and
    the question alone mixed, so that the topic words cannot drown out what the question itself asks."""
    scores = dict(with_topic)
    for i, s in alone:
        scores[i] = scores.get(i, 0.0) + ALONE_WEIGHT * s
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
