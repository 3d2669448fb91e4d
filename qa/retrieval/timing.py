"""timing: where one answer's time goes, stage by stage (the HTTP API's ``Server-Timing`` header,
``bench/load.py``'s breakdown).

Off unless a caller asks (``with recorded() as spent: …``): a stage outside it costs one context-variable
read. Times are seconds per stage name, summed when a stage runs more than once (a follow-up ranks twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter

__all__ = ["STAGES", "recorded", "stage"]

# In the order an answer passes them (the names Server-Timing carries).
STAGES = ("embed", "bm25", "vectors", "fuse", "feedback", "settle", "rerank", "highlight", "abstain")

_spent: ContextVar[dict[str, float] | None] = ContextVar("qa_timing", default=None)


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
    """Time the block as stage ``name`` when a caller is recording, else do nothing."""
    spent = _spent.get()
    if spent is None:
        yield
        return
    began = perf_counter()
    try:
        yield
    finally:
        spent[name] = spent.get(name, 0.0) + perf_counter() - began
