"""timing: where the time of one answer (the HTTP API's ``Server-Timing`` header, ``bench/load.py``'s
breakdown) or of one build (``qa index``'s seconds per stage) goes, stage by stage.

Off unless a caller asks (``with recorded() as spent: …``): a stage outside it costs one context-variable
read. Times are seconds per stage name, summed when a stage runs more than once (a follow-up ranks twice);
a stage run inside another counts as the outer one (tuning embeds its questions: that is tuning's time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter

__all__ = ["BUILD_STAGES", "STAGES", "recorded", "stage"]

# In the order an answer passes them (the names Server-Timing carries).
STAGES = ("embed", "bm25", "vectors", "fuse", "feedback", "settle", "rerank", "highlight", "abstain")
# In the order a build passes them (what ``qa index`` reports; "model" is loading the embedding model).
BUILD_STAGES = ("read", "split", "model", "embed", "bm25", "calibrate", "tune", "write")

_spent: ContextVar[dict[str, float] | None] = ContextVar("qa_timing", default=None)
_inside: ContextVar[bool] = ContextVar("qa_timing_inside", default=False)


@contextmanager
def recorded() -> Iterator[dict[str, float]]:
    """Collect the stages run inside the ``with`` block (this thread or task only) into the dict it gives."""
    spent: dict[str, float] = {}
    token = _spent.set(spent)
    try:
        yield spent
    finally:
        _spent.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` when a caller is recording (and no other stage is running), else
    do nothing."""
    spent = _spent.get()
    if spent is None or _inside.get():
        yield
        return
    began, token = perf_counter(), _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)
        spent[name] = spent.get(name, 0.0) + perf_counter() - began
