"""Abstention calibration, run when an index is built: what "nothing here answers this" looks like for
this corpus and model.

What counts as a "high" similarity depends on the model and on the corpus. A fixed set of off-topic
questions (:data:`PROBES`: sport, cooking, astronomy, programming…) is searched against the index; their
best cosine similarities are what an unanswerable question scores here, and the threshold is a high
quantile of them plus a margin of their spread. A corpus that happens to answer a probe moves the
quantile little: most probes stay off-topic for any corpus. The abstain stage
(:mod:`qa.retrieval.abstain`) compares each question with it.
"""

from __future__ import annotations

import numpy as np

from .index import Index
from .manifest import Calibration

__all__ = ["PROBES", "calibrate"]

PROBES = (
    "Who won the football World Cup final?",
    "How do I bake sourdough bread at home?",
    "What is the boiling point of water at sea level?",
    "How many moons does Jupiter have?",
    "Who painted the Mona Lisa?",
    "What is the best programming language for web development?",
    "How do you change a flat tyre on a bicycle?",
    "What is the recipe for chocolate chip cookies?",
    "When did the dinosaurs become extinct?",
    "How does photosynthesis work in plants?",
    "What is the tallest mountain in the world?",
    "Who wrote the novel Pride and Prejudice?",
    "How do I reset my wifi router password?",
    "What are the rules of chess castling?",
    "How long should I boil an egg?",
    "What is the speed of light in a vacuum?",
    "Which team won the basketball championship last season?",
    "How do I train my puppy to sit?",
    "What is the difference between a virus and a bacterium?",
    "How many calories are in a banana?",
    "What is the capital city of Canada?",
    "How do airplanes stay in the air?",
    "Who discovered penicillin?",
    "What is the largest ocean on Earth?",
    "How do I grow tomatoes in pots?",
    "What year did the first man land on the moon?",
    "How does a compound interest loan work?",
    "What is the plot of the opera Carmen?",
    "How do I knit a scarf for beginners?",
    "What causes the northern lights?",
    "Which guitar chords should a beginner learn first?",
    "How do I remove a red wine stain from a carpet?",
    "What is the lifespan of a domestic cat?",
    "How do solar panels generate electricity?",
    "What is the offside rule in football?",
    "How do I make fresh pasta dough?",
    "What is the chemical formula of table salt?",
    "How often should I water a cactus?",
    "What is a black hole?",
    "How do I install Python packages with pip?",
)
QUANTILE = 0.9
MARGIN = 1.0  # standard deviations of the probes' scores above their quantile


def calibrate(index: Index) -> Calibration:
    """The abstention threshold for ``index`` (stored in its manifest by ``qa index``)."""
    best = np.array([index.best_similarity(v) for v in index.encode_query(list(PROBES))])
    return Calibration(
        threshold=round(float(np.quantile(best, QUANTILE) + MARGIN * best.std()), 4),
        probe_sd=round(float(best.std()), 4),
        method=f"off-topic probes: q{int(QUANTILE * 100)} + {MARGIN:g} sd of their best cosine",
        probes=len(PROBES),
        probe_median=round(float(np.median(best)), 4),
        probe_max=round(float(best.max()), 4),
    )
