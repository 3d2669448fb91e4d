"""abstain: whether the passages found answer the question, or the documents do not contain it.

A question is answered when its best passage beats the index's calibrated threshold
(:mod:`qa.indexing.calibrate`) *and* the best passages share a word with it (stemmed, stopwords aside)
-- or, without a shared word, when it beats the threshold by ``STRONG`` standard deviations of the
probes. The word test catches questions that are merely in the corpus's neighbourhood ("What is the
population of Tokyo?" against news about Iran scores like a real question, but no passage says
"population" or "Tokyo"); the strong margin keeps pure paraphrases.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from ..indexing.bm25 import tokenize
from ..indexing.calibrate import best_similarity
from ..indexing.index import Index
from ..indexing.manifest import Calibration
from ..passage import Hit

__all__ = ["EVIDENCE_HITS", "STRONG", "Verdict", "decide"]

STRONG = 2.0  # standard deviations of the probes above the threshold that make a shared word unnecessary
EVIDENCE_HITS = 3


@dataclass(frozen=True)
class Verdict:
    answered: bool
    confidence: float  # best similarity minus the index's threshold (negative: not answered)


def decide(
    index: Index, calibration: Calibration, query: str, vector: np.ndarray, hits: list[Hit], sources: Collection[str] | None
) -> Verdict:
    """Whether ``hits`` (found for ``query``, embedded as ``vector``) answer it."""
    confidence = best_similarity(index, vector, sources) - calibration.threshold
    wanted = set(tokenize([query])[0])
    shared = any(wanted & set(words) for words in tokenize([h.title + "\n" + h.text for h in hits[:EVIDENCE_HITS]]))
    strong = confidence > STRONG * calibration.probe_sd
    return Verdict(confidence > 0 and (shared or strong), round(confidence, 4))
