"""PDF: the text of each page (pypdf), paragraphs rebuilt from its lines, each block with its page.

pypdf's layout mode keeps vertical gaps as blank lines, so a gap separates paragraphs; so does a short
line that ends a sentence. Lines of a paragraph are joined, and a word hyphenated across a line break
is made whole again ("exam-" + "ple" → "example"). A paragraph running over a page break is one
block, cited at the page where it starts. Scanned pages without a text layer give no text (no OCR).
"""

from __future__ import annotations

import io
import re

import pypdf
from pypdf.errors import PdfReadError

from .document import Block, Extracted, Unreadable

__all__ = ["extract"]

_TERMINAL = tuple(".!?…:;\"'”’)]")
_SHORT_LINE = 0.8  # a line shorter than this share of the longest line may end a paragraph
_HYPHENATED = re.compile(r"(?<=[^\W\d_])-$")
_TOOL_TITLE = re.compile(r"^(microsoft \w+ - |untitled\b)|\.(docx?|pdf|odt|rtf|tex|txt)$", re.I)
TITLE_CHARS = 150


def extract(data: bytes) -> Extracted:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted PDF (needs a password)")
        pages = list(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
        raise Unreadable(f"broken PDF ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    paragraphs: list[tuple[int, str]] = []  # (page, text)
    warnings = []
    for number, page in enumerate(pages, 1):
        try:
            raw = page.extract_text(extraction_mode="layout")
        except Exception:
            try:  # layout mode is the fussier one
                raw = page.extract_text()
            except Exception as e:
                warnings.append(f"page {number}: no text could be extracted ({type(e).__name__})")
                continue
        for i, paragraph in enumerate(_paragraphs(raw)):
            if i == 0 and paragraphs and _continues(paragraphs[-1][1], paragraph):
                paragraphs[-1] = (paragraphs[-1][0], _join(paragraphs[-1][1], paragraph))
            else:
                paragraphs.append((number, paragraph))
    if not paragraphs:
        raise Unreadable("no text in the PDF (scanned pages? qa does no OCR)")
    text, blocks, pos = [], [], 0
    for page, paragraph in paragraphs:
        blocks.append(Block(pos, pos + len(paragraph), page=page))
        text.append(paragraph)
        pos += len(paragraph) + 2
    return Extracted("\n\n".join(text), tuple(blocks), _title(reader, paragraphs[0][1]), tuple(warnings))


def _paragraphs(raw: str) -> list[str]:
    runs: list[list[str]] = [[]]
    for line in raw.split("\n"):
        line = " ".join(line.split())
        if line:
            runs[-1].append(line)
        elif runs[-1]:
            runs.append([])
    paragraphs = []
    for run in filter(None, runs):
        longest = max(map(len, run))
        current = run[0]
        for prev, line in zip(run, run[1:]):
            if prev.endswith(_TERMINAL) and len(prev) < _SHORT_LINE * longest:
                paragraphs.append(current)
                current = line
            else:
                current = _join(current, line)
        paragraphs.append(current)
    return paragraphs


def _join(left: str, right: str) -> str:
    if _HYPHENATED.search(left) and right[:1].islower():
        return left[:-1] + right
    return f"{left} {right}"


def _continues(previous: str, paragraph: str) -> bool:
    return not previous.endswith(_TERMINAL) and paragraph[:1].islower()


def _title(reader: pypdf.PdfReader, first_paragraph: str) -> str:
    try:
        meta = reader.metadata
        title = " ".join(str(meta.title).split()) if meta and meta.title else ""
    except Exception:  # metadata of a broken file
        title = ""
    if title and not _TOOL_TITLE.search(title):
        return title
    return first_paragraph if len(first_paragraph) <= TITLE_CHARS else first_paragraph[: TITLE_CHARS - 1] + "…"
