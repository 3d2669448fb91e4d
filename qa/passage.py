"""What flows between the stages: a :class:`Passage` (a paragraph of a document with its provenance), and
a :class:`Hit` (a passage a search found, with its score and the :class:`Highlight` that answers).

A hit carries its passage rather than copying its fields: ``hit.text``, ``hit.source``… read through to
it, and the HTTP API's model is derived from these definitions (field descriptions included).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["PASSAGE_FIELDS", "Highlight", "Hit", "Passage"]


def _doc(text: str, **kwargs):
    return field(metadata={"description": text}, **kwargs)


@dataclass(frozen=True)
class Passage:
    text: str = _doc("The passage: a paragraph (or a part of a long one) exactly as in the document's text.")
    source: str = _doc("File path relative to the corpus folder.")
    title: str = _doc("The document's title.")
    paragraph: int = _doc("1-based; in plain text the title is paragraph 1; in a PDF, counted per page.")
    line: int | None = _doc("1-based line of the passage's first character (.txt/.md); null for text extracted from PDF/DOCX/HTML.")
    start: int = _doc("Character offsets into the document's text: text[start:end] is the passage.")
    end: int = _doc("See start.")
    section: tuple[str, ...] = _doc("Headings above the passage, outermost first (Markdown, HTML, DOCX).", default=())
    page: int | None = _doc("1-based page (PDF).", default=None)
    copies: tuple[str, ...] = _doc("Other files of the corpus with the very same content.", default=())
    boxes: tuple[tuple[int, float, float, float, float, int, int], ...] = _doc(
        "Where each line of the passage lies on its page (PDF and image files): [page, x0, y0, x1, y1, start, end],"
        " the box in fractions of the page from its top left, start/end the line's offsets as for start.",
        default=(),
    )
    ocr: bool = _doc("True when the passage's text was read by OCR (a scanned page or an image).", default=False)

    @property
    def context(self) -> list[str]:
        """The lines that say where the passage stands: its document's title and section path (less a
        title the text itself opens with)."""
        context = [self.title] if self.title else []
        context += [h for h in self.section if h != self.title]
        if context and self.text.lstrip("# ").startswith(context[0].rstrip("…")):
            context = context[1:]
        return context

    @property
    def search_text(self) -> str:
        """What is embedded for this passage: its :attr:`context`, then its text (the title is part of what
        a paragraph is about: "he" in a paragraph is often the person in the title)."""
        return self.keyword_text(1)

    def keyword_text(self, title_weight: int = 1) -> str:
        """What BM25 indexes for this passage: its :attr:`context` ``title_weight`` times (0: none; how
        much the title counts is measured per corpus, :mod:`qa.retrieval.tune`), then its text."""
        return "\n".join([*self.context * title_weight, self.text])

    def locator(self) -> str:
        """Where in the file: ``guide.md › Install › Linux ¶3, line 12``, ``report.pdf, page 4 ¶2`` or
        ``scan.pdf, page 3 ¶2 (OCR)``.
        A top heading that is the document's title is left out: the citation starts with the title."""
        section = self.section[1:] if self.section[:1] == (self.title,) else self.section
        where = self.source + "".join(f" › {h}" for h in section)
        if self.page is not None:
            where += f", page {self.page}"
        where += f" ¶{self.paragraph}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.ocr:
            where += " (OCR)"
        if self.copies:
            where += f" (also {', '.join(self.copies)})"
        return where

    def citation(self) -> str:
        return f"{self.title} — {self.locator()}"


PASSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Passage))
_READ_THROUGH = frozenset({*PASSAGE_FIELDS, "context", "search_text", "keyword_text", "locator", "citation"})  # a hit's, from its passage


@dataclass(frozen=True)
class Highlight:
    """The sentence (or two) of a passage that best answers the question; offsets into the file's text.
    ``boxes``: the lines it lies on, ``(page, x0, y0, x1, y1)`` in page fractions (PDF and image files)."""

    text: str
    start: int
    end: int
    boxes: tuple[tuple[int, float, float, float, float], ...] = ()


@dataclass(frozen=True)
class Hit:
    """A passage a search found. Its fields (``text``, ``source``, ``title``…), :meth:`citation` and
    :meth:`locator` are the passage's."""

    passage: Passage
    score: float  # ranking score, higher is better (fused and normalised in hybrid mode)
    highlight: Highlight | None = None

    def __getattr__(self, name: str):
        if name in _READ_THROUGH:
            return getattr(self.passage, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __dir__(self):
        return sorted({*super().__dir__(), *_READ_THROUGH})

    def to_dict(self) -> dict:
        """The passage's fields, the score, the highlight and the citation, as JSON-ready values."""
        return {
            **dataclasses.asdict(self.passage),
            "score": self.score,
            "highlight": dataclasses.asdict(self.highlight) if self.highlight else None,
            "citation": self.passage.citation(),
        }
