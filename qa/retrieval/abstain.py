"""abstain: whether the passages found answer the question, are only related to it, or the documents do
not contain it.

A question is answered when its best passage beats the index's calibrated threshold
(:mod:`qa.indexing.calibrate`) *and* the best passages share a word with it (stemmed, stopwords aside)
-- or, without a shared word, when it beats the threshold by ``STRONG`` standard deviations of the
probes. The word test catches questions that are merely in the corpus's neighbourhood ("What is the
population of Tokyo?" against news about Iran scores like a real question, but no passage says
"population" or "Tokyo"); the strong margin keeps pure paraphrases.

A question that passes is *related* rather than *answered* when it asks for a date, an age or a number
and no sentence of the best ``EVIDENCE_HITS`` passages holds one beside what the question is about
(:func:`~qa.retrieval.sentences.states_asked_form`): "How old is Sharona Avginsaz?" finds the passages
about her, none of which states her age. The documents mention the subject but do not say what was asked.
With a re-ranker that knows what score answers nothing (``floor``: the cross-encoder's logit −10), a best
passage below it is not found, whatever the embedding says: a question asked of a document that never
names its subject. It is related too when the re-ranker finds the best passage matches the names the
question mentions far better than the question (``gap`` below ``-margin``, :mod:`.subject`): "Which
university did Homan Khalili study at?" finds the passage about him, which says nothing of a university.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..indexing.manifest import Calibration
from ..passage import Hit
from ..text import tokenize
from .ranking import Searched
from .sentences import states_asked_form
from .subject import MARGIN

__all__ = ["EVIDENCE_HITS", "OUTCOMES", "STRONG", "Outcome", "Verdict", "decide"]

STRONG = 2.0  # standard deviations of the probes above the threshold that make a shared word unnecessary
EVIDENCE_HITS = 3

Outcome = Literal["answered", "related", "not_found"]
OUTCOMES: tuple[str, ...] = ("answered", "related", "not_found")


@dataclass(frozen=True)
class Verdict:
    answered: bool
    confidence: float  # best similarity minus the index's threshold (negative: not found; see floor)
    outcome: Outcome = "answered"  # answered; related: about the subject, not stating it; not_found


def decide(
    calibration: Calibration, found: Searched, hits: list[Hit],
    *, gap: float | None = None, margin: float = MARGIN, floor: float | None = None,
) -> Verdict:
    """Whether ``hits`` (ranked from what was ``found`` for the query) answer it (``gap``: the
    re-ranker's question-over-subject logit gap on the best hit, None without one; ``floor``: the
    re-ranker's score below which its best hit answers nothing, None without one)."""
    query = found.text
    confidence = found.nearest - calibration.threshold
    if floor is not None and hits and hits[0].score < floor:
        return Verdict(False, round(confidence, 4), "not_found")
    wanted = set(tokenize([query])[0])
    shared = any(wanted & set(words) for words in tokenize([h.title + "\n" + h.text for h in hits[:EVIDENCE_HITS]]))
    strong = confidence > STRONG * calibration.probe_sd
    if not (confidence > 0 and (shared or strong)):
        return Verdict(False, round(confidence, 4), "not_found")
    stated = states_asked_form(query, [h.text for h in hits[:EVIDENCE_HITS]], found.idf)
    stated = stated and (gap is None or gap >= -margin)
    return Verdict(stated, round(confidence, 4), "answered" if stated else "related")
