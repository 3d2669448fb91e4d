"""What reading a file gives: a Document (its text and, for structured formats, its blocks) or a Skip.

A document's ``text`` is what every offset in qa refers to. For .txt and .md it is the file's own text
(decoded, byte-order mark removed, line endings normalised to ``\\n``), so a citation's line number can be
checked in any editor. For PDF, DOCX and HTML it is the text qa extracted, kept in the index.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Block", "Document", "Extracted", "Skip", "TextBuilder", "Unreadable", "is_extracted"]


@dataclass(frozen=True)
class Block:
    """A unit of a structured document that is never cut in the middle unless it is longer than the
    model's input: a paragraph, a whole list, a code block, a table, a quote."""

    start: int  # character offsets into the document's text
    end: int
    section: tuple[str, ...] = ()  # headings above the block, outermost first
    page: int | None = None  # 1-based, for paged formats (PDF)
    kind: str = "text"  # text | list | code | table: lists, code and tables are cut between lines only


@dataclass(frozen=True)
class Extracted:
    """What a format reader returns."""

    text: str
    blocks: tuple[Block, ...]
    title: str = ""
    warnings: tuple[str, ...] = ()
    boxes: tuple[tuple, ...] = ()  # each line's (page, x0, y0, x1, y1, start, end): see :class:`Document`
    ocr_pages: tuple[int, ...] = ()  # pages whose text came from OCR


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus root, with forward slashes
    text: str
    sha256: str  # of the file's bytes
    encoding: str
    format: str = "txt"  # txt | md | html | pdf | docx | image
    title: str = ""  # "" → the first line is the title (plain text)
    blocks: tuple[Block, ...] | None = None  # None → paragraphs are found in the plain text
    warnings: tuple[str, ...] = ()  # parts of the file that could not be used
    # where each line of a paged document (PDF, image) lies: (page, x0, y0, x1, y1, start, end), the box
    # in fractions of the page from its top left, start/end offsets into ``text``
    boxes: tuple[tuple, ...] = ()
    ocr_pages: tuple[int, ...] = ()  # pages whose text came from OCR

    @property
    def extracted(self) -> bool:
        """True when ``text`` was extracted from the file rather than being the file's own text."""
        return is_extracted(self.format)


def is_extracted(fmt: str) -> bool:
    """Whether qa extracts a text from files of this format (PDF, DOCX, HTML) rather than reading their
    own text (txt, md): the extracted text is kept in the index, for offsets and context."""
    return fmt not in ("txt", "md")


@dataclass(frozen=True)
class Skip:
    source: str
    reason: str
    sha256: str | None = None


class Unreadable(Exception):
    """A file that is not indexable as it is; the message is the reason shown in the build report."""


class TextBuilder:
    """Assembles an extracted text: pieces separated by blank lines, each content piece recorded as a
    Block at its offsets (headings are added as text with ``kind=None``: shown, but not a block)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self._pos = 0

    def add(self, piece: str, kind: str | None, section: tuple[str, ...] = ()) -> None:
        if self.parts:
            self.parts.append("\n\n")
            self._pos += 2
        self.parts.append(piece)
        if kind is not None:
            self.blocks.append(Block(self._pos, self._pos + len(piece), section, kind=kind))
        self._pos += len(piece)

    def text(self) -> str:
        return "".join(self.parts)
