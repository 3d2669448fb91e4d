"""What a search returns: a passage with its citation, score and highlighted answer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["Highlight", "Hit"]


@dataclass(frozen=True)
class Highlight:
    """The sentence (or two) of a passage that best answers the question; offsets into the file's text."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    text: str
    source: str  # file path relative to the corpus folder
    title: str
    paragraph: int  # 1-based; the title is paragraph 1
    line: int  # 1-based line where the passage starts
    start: int  # character offsets: the document's text[start:end] == text
    end: int
    score: float  # ranking score, higher is better (fused and normalised in hybrid mode)
    highlight: Highlight | None = None

    def citation(self) -> str:
        return f"{self.title} — {self.source} ¶{self.paragraph}, line {self.line}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
