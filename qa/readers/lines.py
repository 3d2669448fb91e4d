"""Paragraphs from positioned lines: what a PDF's text layer and OCR both give (a line of text and its
box on its page), made into an :class:`~.document.Extracted` whose text keeps where each line lies.

A paragraph ends at a vertical gap wider than the page's usual line pitch, at a change of the OCR
engine's own block or paragraph, where the next line goes up the page (a new column), and after a short
line that ends a sentence. Lines of a paragraph are joined with a space; a word hyphenated across a line
break is made whole again ("exam-" + "ple" → "example"). A paragraph running over a page break (the last
one of a page not ending a sentence, the next page's first starting in lower case) is one block, cited
at the page where it starts. A document's title line (its first paragraph, short and not a sentence)
heads it: its text is kept and boxed, and it is every passage's title rather than a passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .document import Block, Extracted

__all__ = ["Line", "PageLines", "TITLE_CHARS", "assemble", "fallback_title"]

_TERMINAL = tuple(".!?…:;\"'”’)]")
_SHORT_LINE = 0.8  # a line shorter than this share of the paragraph's longest may end it
_GAP = 1.3  # a step down the page of more than this many usual line pitches starts a paragraph
_LEADING = 1.2  # white space between two lines of a paragraph is less than this many line heights
_SAME_HEIGHT = 0.2  # lines whose heights differ by less than this share are of one size
_HYPHENATED = re.compile(r"(?<=[^\W\d_])-$")
TITLE_CHARS = 150


@dataclass(frozen=True)
class Line:
    """One line of a page: its text and box (page fractions, from the top left: x0 < x1, y0 < y1)."""

    text: str
    box: tuple[float, float, float, float]
    group: int | None = None  # the OCR engine's block and paragraph: a change starts a paragraph


@dataclass(frozen=True)
class PageLines:
    page: int  # 1-based
    lines: tuple[Line, ...]
    ocr: bool = False


def assemble(pages: Iterable[PageLines], title: str = "", warnings: Sequence[str] = ()) -> Extracted:
    """The document's text (paragraphs separated by blank lines), a block per paragraph with its page,
    and each line's ``(page, x0, y0, x1, y1, start, end)``. ``title`` "" → its first paragraph."""
    paragraphs: list[list[tuple[str, int, tuple]]] = []  # each: its lines as (text, page, box)
    ocr_pages = []
    for page in pages:
        if page.ocr:
            ocr_pages.append(page.page)
        for i, run in enumerate(_paragraphs(page.lines)):
            lines = [(line.text, page.page, line.box) for line in run]
            if i == 0 and paragraphs and _continues(paragraphs[-1][-1][0], lines[0][0]):
                paragraphs[-1].extend(lines)
            else:
                paragraphs.append(lines)
    parts, blocks, boxes, pos = [], [], [], 0
    for n, lines in enumerate(paragraphs):
        text, spans = _joined([t for t, _, _ in lines])
        if n or not _heading(text, title, len(paragraphs)):  # a title line is shown, not a passage of its own
            blocks.append(Block(pos, pos + len(text), page=lines[0][1]))
        boxes += [(page, *box, pos + s, pos + e) for (s, e), (_, page, box) in zip(spans, lines)]
        parts.append(text)
        pos += len(text) + 2
    text = "\n\n".join(parts)
    first = parts[0] if parts else ""
    return Extracted(text, tuple(blocks), title or fallback_title(first), tuple(warnings), tuple(boxes), tuple(ocr_pages))


def _heading(first: str, title: str, paragraphs: int) -> bool:
    """Whether a document's first paragraph is its title line (short, no sentence, the title named or
    none): then it heads the document rather than being glued to the paragraph after it as a passage."""
    return paragraphs > 1 and len(first) <= TITLE_CHARS and not first.endswith(_TERMINAL) and title in ("", first)


def fallback_title(first_paragraph: str) -> str:
    """A document's title when it names none: its first paragraph, cut to :data:`TITLE_CHARS`."""
    if len(first_paragraph) <= TITLE_CHARS:
        return first_paragraph
    return first_paragraph[: TITLE_CHARS - 1] + "…"


def _paragraphs(lines: Sequence[Line]) -> list[list[Line]]:
    lines = [line for line in lines if line.text]
    if not lines:
        return []
    pitches = _pitches(lines)
    runs: list[list[Line]] = [[lines[0]]]
    for prev, line in zip(lines, lines[1:]):
        step = line.box[1] - prev.box[1]
        height = _height(prev, line)
        pitch = min((p for h, p in pitches if abs(h - height) <= _SAME_HEIGHT * height), default=1.5 * height)
        if line.group != prev.group or step < -0.5 * height or step > _GAP * pitch:
            runs.append([line])
        else:
            runs[-1].append(line)
    paragraphs = []
    for run in runs:  # a short line that ends a sentence ends its paragraph
        longest = max(line.box[2] - line.box[0] for line in run)
        paragraphs.append([run[0]])
        for prev, line in zip(run, run[1:]):
            if prev.text.endswith(_TERMINAL) and prev.box[2] - prev.box[0] < _SHORT_LINE * longest:
                paragraphs.append([line])
            else:
                paragraphs[-1].append(line)
    return paragraphs


def _height(a: Line, b: Line) -> float:
    return max(min(a.box[3] - a.box[1], b.box[3] - b.box[1]), 1e-4)


def _pitches(lines: Sequence[Line]) -> list[tuple[float, float]]:
    """The steps down from one line's top to the next's that are a paragraph's line pitch, with the
    lines' height: steps whose white gap is under :data:`_LEADING` heights, and steps that recur (double
    spacing). The smallest among lines of a size is their pitch: not the median, as a page of short
    paragraphs has as many gaps between paragraphs as steps within them."""
    steps = []
    for a, b in zip(lines, lines[1:]):
        height, step = _height(a, b), b.box[1] - a.box[1]
        if 0.8 * height < step < 3 * height:
            steps.append((height, step, b.box[1] - a.box[3] < _LEADING * height))
    return [
        (height, step)
        for height, step, tight in steps
        if tight or sum(abs(other - step) <= 0.05 * step for _, other, _ in steps) >= 3
    ]


def _joined(lines: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Lines made one paragraph, and where each line's text lies in it."""
    text, spans = lines[0], [(0, len(lines[0]))]
    for line in lines[1:]:
        if _HYPHENATED.search(text) and line[:1].islower():
            text = text[:-1]
            spans[-1] = (spans[-1][0], len(text))
        else:
            text += " "
        spans.append((len(text), len(text) + len(line)))
        text += line
    return text, spans


def _continues(previous_line: str, line: str) -> bool:
    return not previous_line.endswith(_TERMINAL) and line[:1].islower()
