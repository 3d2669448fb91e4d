"""A question with its settings, checked once where it enters qa (the API's schema checks its own)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from ..errors import check_args, check_history

__all__ = ["MODES", "Mode", "Request"]

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Request:
    question: str  # stripped
    k: int = 5
    history: tuple[str, ...] = ()  # the conversation's earlier user turns, oldest first
    sources: tuple[str, ...] | None = None  # search only these files
    mode: Mode = "hybrid"

    @classmethod
    def checked(
        cls,
        question: object,
        k: object = 5,
        *,
        history: object = None,
        sources: Collection[str] | None = None,
        mode: str = "hybrid",
    ) -> Request:
        """The request, or ValueError naming what is wrong (see :func:`qa.errors.check_args`)."""
        question = check_args(question, k)
        turns = check_history(history)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return cls(question, k, tuple(turns), None if sources is None else tuple(sources), mode)  # type: ignore[arg-type]
