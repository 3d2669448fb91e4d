"""subject: what a question is about, as the names it mentions ("When was Yiftah Curiel born?" → "Yiftah
Curiel").

The abstain stage asks the cross-encoder how well the best passage answers the question and how well it
matches the subject alone: a passage that matches "Yiftah Curiel" far better than "When was Yiftah Curiel
born?" is about him but does not say what was asked (:mod:`.abstain`). A name is a run of capitalised
words or words with a digit ("the 31-year-old Iranian"); a question's first word counts only as part of a
run ("Ardavan Hatami: where is he based?"), never alone ("Which", "According").

Whether the test can be trusted on an index is tried once (:func:`check`): questions made from the
corpus's own names, asking what no passage about them states, must fall below the margin, and the names'
own sentences must not.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..passage import Passage
from ..text import content_words, sentence_spans

__all__ = ["MARGIN", "SubjectCheck", "check", "subject"]

_WORD = re.compile(r"\w[\w'’.-]*\w|\w")
_CLAUSE = re.compile(r"[.?!:;,]\s+")
_POSSESSIVE = re.compile(r"['’]s?$")
MAX_CHARS = 200  # of a subject: a question in capitals is not a name


def subject(question: str) -> str | None:
    """The names ``question`` mentions, in order, joined by spaces; None when it names nothing."""
    names: list[str] = []
    for clause in _CLAUSE.split(question):
        words = _WORD.findall(clause)
        run: list[str] = []
        for i, word in enumerate(words + [""]):
            named = bool(word) and (word[0].isupper() or any(c.isdigit() for c in word))
            if named and i == 0:  # a clause's first word: only when a name follows and it is no stopword
                named = len(words) > 1 and words[1][0].isupper() and bool(content_words([word])[0])
            if named:
                run.append(_POSSESSIVE.sub("", word))
            elif run:
                names.append(" ".join(run))
                run = []
    text = " ".join(names)
    return text[:MAX_CHARS] if text else None


# --- whether the test works on an index ---------------------------------------------------------------

MARGIN = 2.0  # logits: a passage that matches the subject alone this much better than the question
# Questions about a named thing of the corpus asking what no passage about it states: generated per
# index from its own names, with the word that must be missing for the question to be unanswerable.
PROPERTIES = (
    ("What is the phone number of {}?", "phone"),
    ("What is the email address of {}?", "email"),
    ("What is the shoe size of {}?", "shoe"),
    ("What is the blood type of {}?", "blood"),
    ("What is the favourite food of {}?", "food"),
    ("Which primary school did {} attend?", "school"),
)
SAMPLE = 24  # names of the corpus the test is tried on
PASSAGES = 400  # passages it looks for names in (a sample of a large index)
GATE = 0.75  # of the generated questions the test must call related (and of the names' own sentences, not)


@dataclass(frozen=True)
class SubjectCheck:
    """How the subject test fared on an index's own names: ``caught`` of ``tried`` generated questions
    asking what the corpus does not state fell ``margin`` below their subject, ``kept`` of their names'
    own sentences did not; the test is ``on`` when both reach ``GATE``."""

    on: bool
    margin: float = MARGIN
    tried: int = 0
    caught: int = 0
    kept: int = 0


def check(passages: Sequence[Passage], gap: Callable[[str, str, Passage], float | None]) -> SubjectCheck:
    """Try the subject test (``gap``: question, question as asked, passage → the logit gap) on questions
    made from ``passages``' own names. Too few names (under 4): off, nothing to trust it on."""
    rng = random.Random(0)
    named: dict[str, tuple[Passage, str]] = {}
    for passage in rng.sample(list(passages), min(PASSAGES, len(passages))):
        for s, e in sentence_spans(passage.text) or [(0, len(passage.text))]:
            sentence = passage.text[s:e]
            name = subject(sentence)
            if name and " " in name and len(name) <= 60 and name not in named:
                named[name] = (passage, sentence)
    tried = caught = kept = 0
    for name in rng.sample(sorted(named), min(SAMPLE, len(named))):
        passage, sentence = named[name]
        template, missing = rng.choice(PROPERTIES)
        if missing in passage.text.lower():
            continue
        question = template.format(name)
        made, own = gap(question, question, passage), gap(sentence, sentence, passage)
        if made is None or own is None:
            continue
        tried += 1
        caught += made < -MARGIN
        kept += own >= -MARGIN
    on = tried >= 4 and caught >= GATE * tried and kept >= GATE * tried
    return SubjectCheck(on, MARGIN, tried, caught, kept)
