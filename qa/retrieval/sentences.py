"""sentences: how well each sentence of the passages found states what the question asks.

A sentence's score is three things measured on SQuAD 2.0 and the default corpus's questions:

- its cosine similarity to the question (the embedding finds the sentence about the right thing);
- ``WORD_WEIGHT`` × the share of the question's words it contains, each word weighted by how rare it is
  in the corpus (BM25's idf): "Sharona Avginsaz" counts for more than "year", so the sentence naming
  what was asked about wins over one merely on the topic;
- ``CUE_BONUS`` when the question asks for a date or a number ("when", "how many") and the sentence
  holds one: the sentence that *states* it, not the one that only talks about it.

The highlight (:mod:`.highlight`) is the best sentence of a hit; the settle stage (:mod:`.settle`)
reorders the top passages by their best sentence; the abstain stage (:mod:`.abstain`) asks whether the
best one holds what is asked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np

from ..text import content_words, sentence_spans
from ..passage import Passage

__all__ = ["CUE_BONUS", "WORD_WEIGHT", "Form", "Sentences", "asked_form", "holds_form", "states_asked_form", "score_sentences", "without_cue"]

WORD_WEIGHT = 0.8
CUE_BONUS = 0.1
SUBJECT_SHARE = 0.25

Form = Literal["date", "number", "age"]

# "When…" opens the question ("What happens when…" asks for no date); "what year" may stand anywhere.
_DATE_QUESTION = re.compile(r"^\W*(since |until )?when\b|\b(what|which) (year|decade|century|date|month|day)\b", re.I)
_NUMBER_QUESTION = re.compile(
    r"\bhow (many|much|long|old|far|large|big|high|tall|wide|deep|often|fast)\b|"
    r"\b(what|which) (percentage|percent|proportion|number|amount|population|age)\b", re.I
)  # fmt: skip
_AGE_QUESTION = re.compile(r"\bhow old\b|\b(what|which) age\b|\bat what age\b", re.I)
_AGE = re.compile(r"\b\d+[- ]years?[- ]old\b|\baged? \d+|\bage of \d+|\bborn\b|\b\d+,? (was|is) (his|her|their) age\b", re.I)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_WHEN_WORDS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|noon|midnight|morning|afternoon|evening|night|"
    "dawn|dusk|spring|summer|autumn|fall|winter|today|yesterday|tomorrow|ago|now|recently|later|earlier|"
    "daily|weekly|monthly|yearly|annually|before|after|during|since|until|century|centuries|era|age|period"
)
# What can answer "when": a year, a month, any number (a day, an hour), or a word of time ("every Sunday
# at noon", "after the war"). Broad on purpose: a "when" question is called merely related only when its
# passages hold no time at all.
_DATE = re.compile(rf"\d|\b({_MONTHS}|{_WHEN_WORDS})\b", re.I)
# What the highlight favours for a "when" question: a sentence with a year, a day or a month in it (the
# broad words above would favour any sentence saying "after" or "during": fewer answers highlighted).
_EXACT_DATE = re.compile(rf"\d|\b({_MONTHS})\b", re.I)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|half|twice|once)\b", re.I
)  # fmt: skip


def asked_form(question: str) -> Form | None:
    """Whether ``question`` asks for a date ("When…", "In what year…"), an age ("How old…") or another
    number ("How many…")."""
    if _AGE_QUESTION.search(question):
        return "age"
    if _DATE_QUESTION.search(question):
        return "date"
    if _NUMBER_QUESTION.search(question):
        return "number"
    return None


def without_cue(question: str) -> str:
    """``question`` without the words that ask for its form ("How old is X?" → "X?"): what it is about."""
    for cue in (_AGE_QUESTION, _DATE_QUESTION, _NUMBER_QUESTION):
        question = cue.sub(" ", question)
    return question


def holds_form(text: str, form: Form | None, exact: bool = False) -> bool:
    """Whether ``text`` holds something of the ``form`` asked for (True when nothing particular is);
    ``exact``: for a date, only a number or a month counts, not a word of time."""
    if form == "date":
        return (_EXACT_DATE if exact else _DATE).search(text) is not None
    if form == "number":
        return _NUMBER.search(text) is not None
    if form == "age":
        return _AGE.search(text) is not None
    return True


def score_sentences(
    question: str,
    question_vector: np.ndarray,
    sentences: Sequence[str],
    vectors: np.ndarray,
    idf: Mapping[str, float],
    word_weight: float = WORD_WEIGHT,
) -> np.ndarray:
    """One score per sentence (see the module's docstring); ``vectors``: the sentences embedded, ``idf``:
    the rarity of the question's tokenized words (:meth:`qa.indexing.bm25.BM25.idf`)."""
    scores = (vectors @ question_vector).astype(np.float32) if len(sentences) else np.zeros(0, np.float32)
    wanted = set(content_words([question])[0])
    total = math.fsum(idf.get(w, 0.0) for w in wanted)  # fsum: the same in any order of the set (hash seed)
    if total > 0:
        shares = [math.fsum(idf.get(w, 0.0) for w in wanted & set(words)) / total for words in content_words(list(sentences))]
        scores += np.float32(word_weight) * np.array(shares, dtype=np.float32)
    form = asked_form(question)
    if form is not None:
        scores += np.float32(CUE_BONUS) * np.array([holds_form(s, form, exact=True) for s in sentences], dtype=np.float32)
    return scores


def states_asked_form(question: str, texts: Sequence[str], idf: Mapping[str, float]) -> bool:
    """Whether a sentence of ``texts`` holds what ``question`` asks for (a date, an age, a number) *and*
    at least ``SUBJECT_SHARE`` of what it asks about (its other words, weighted by rarity: ``idf``, of the
    question's content words, which hold them), so a
    "31-year-old" elsewhere does not answer "How old is Sharona?". True when it asks for no such form."""
    form = asked_form(question)
    if form is None:
        return True
    subject = set(content_words([without_cue(question)])[0])
    weights = {w: idf.get(w, 0.0) for w in subject}
    total = math.fsum(weights.values())
    for text in texts:
        for s, e in sentence_spans(text) or [(0, len(text))]:
            sentence = text[s:e]
            if holds_form(sentence, form):
                shared = subject & set(content_words([sentence])[0])
                if total <= 0 or math.fsum(weights[w] for w in shared) >= SUBJECT_SHARE * total:
                    return True
    return False


class Sentences:
    """The sentences of some passages, scored for one question: ``spans[i]`` and ``scores[i]`` are those of
    passage ``i`` (a passage without a sentence boundary is one sentence)."""

    def __init__(
        self,
        question: str,
        question_vector: np.ndarray,
        passages: Sequence[Passage],
        encode: Callable[[list[str]], np.ndarray],
        idf: Mapping[str, float],
        word_weight: float = WORD_WEIGHT,
    ):
        self.spans = [sentence_spans(p.text) or [(0, len(p.text))] for p in passages]
        texts = [p.text[s:e] for p, ss in zip(passages, self.spans) for s, e in ss]
        flat = score_sentences(question, question_vector, texts, encode(texts) if texts else np.zeros((0, 1)), idf, word_weight)
        bounds = np.cumsum([0] + [len(ss) for ss in self.spans])
        self.scores = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def best(self) -> np.ndarray:
        """Each passage's best sentence score."""
        return np.array([s.max() if s.size else 0.0 for s in self.scores], dtype=np.float32)
