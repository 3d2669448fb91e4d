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
    paragraph: int  # 1-based; in plain text the title is paragraph 1; in a PDF, counted per page
    line: int | None  # 1-based line where the passage starts; None for text extracted from PDF/DOCX/HTML
    start: int  # character offsets: the document's text[start:end] == text
    end: int
    score: float  # ranking score, higher is better (fused and normalised in hybrid mode)
    highlight: Highlight | None = None
    section: tuple[str, ...] = ()  # headings above the passage (Markdown, HTML, DOCX)
    page: int | None = None  # 1-based page (PDF)
    copies: tuple[str, ...] = ()  # other files with the same content

    def locator(self) -> str:
        """Where in the file: ``guide.md › Install › Linux ¶3, line 12`` or ``report.pdf, page 4 ¶2``.
        A top heading that is the document's title is left out: the citation starts with the title."""
        section = self.section[1:] if self.section[:1] == (self.title,) else self.section
        where = self.source + "".join(f" › {h}" for h in section)
        if self.page is not None:
            where += f", page {self.page}"
        where += f" ¶{self.paragraph}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.copies:
            where += f" (also {', '.join(self.copies)})"
        return where

    def citation(self) -> str:
        return f"{self.title} — {self.locator()}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
