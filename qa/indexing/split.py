"""Split a document into passages: paragraphs as a reader sees them, each with exact provenance.

Structured documents (Markdown, HTML, PDF, DOCX) come with their blocks (paragraphs, lists, code,
tables) and section path or page; plain text is split here. In plain text, paragraphs are separated by blank lines or by single line breaks (after a line that ends a sentence);
a block of short lines is hard-wrapped prose and stays one paragraph. The first non-empty line is the
title and paragraph 1. Short fragments (captions, bylines, photo credits) join a neighbour. A paragraph
longer than the model's input is cut at sentence boundaries (at word boundaries for a sentence that is
itself too long), never truncated; a list, code block or table is cut between its lines only. For
every passage ``document.text[start:end] == passage.text``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from ..passage import Passage
from ..readers.document import Block, Document
from ..text import sentence_spans, word_count

__all__ = ["split_document"]

MIN_CHARS = 40  # shorter paragraphs (not the title) join a neighbour
WRAP_WIDTH = 100  # a block whose lines are all at most this long (but the last) is hard-wrapped prose
TITLE_CHARS = 150
MAX_CHARS = 3000  # nor more characters than this in a passage (a 2 MB "word" is one unknown token)
_TERMINAL = tuple(".!?…:;\"'”’)]")
_LIST_ITEM = re.compile(r"\s*(?:[-*+•]\s|\d{1,3}[.)]\s|#{1,6}\s|>)")
_WORD = re.compile(r"\S+")


def split_document(
    doc: Document,
    *,
    max_tokens: int = 256,
    count_tokens: Callable[[str], int] = word_count,
) -> list[Passage]:
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be > 0, got {max_tokens}")
    text = doc.text
    if doc.blocks is None:
        spans = _paragraph_spans(text)
        if not spans:
            return []
        blocks = [Block(s, e) for s, e in spans]
        title = doc.title or _title(text[slice(*spans[0])])
    else:
        blocks = _merge_short_blocks(text, list(doc.blocks))
        title = doc.title or (_title(text[blocks[0].start : blocks[0].end].split("\n")[0]) if blocks else "")
    line_starts = None if doc.extracted else _line_starts(text)
    ends = [box[6] for box in doc.boxes]
    passages: list[Passage] = []
    number, page = 0, None
    for block in blocks:
        number = 1 if block.page != page else number + 1  # a PDF's paragraphs are counted per page
        page = block.page
        for piece_start, piece_end in _fit_block(text, block, max_tokens, count_tokens):
            passages.append(
                Passage(
                    text=text[piece_start:piece_end],
                    source=doc.source,
                    title=title,
                    paragraph=number,
                    line=_line_of(line_starts, piece_start) if line_starts else None,
                    start=piece_start,
                    end=piece_end,
                    section=block.section,
                    page=block.page,
                    **_placed(doc, ends, piece_start, piece_end),
                )
            )
    return passages


def _placed(doc: Document, ends: list[int], start: int, end: int) -> dict:
    """The boxes of the lines of ``doc`` that ``start:end`` covers (``ends``: where each line ends), and
    whether any was read by OCR."""
    if not doc.boxes:
        return {}
    first = bisect.bisect_right(ends, start)  # the first line ending after start
    boxes = []
    for box in doc.boxes[first:]:
        if box[5] >= end:
            break
        boxes.append(box)
    return {"boxes": tuple(boxes), "ocr": bool(doc.ocr_pages) and not {b[0] for b in boxes}.isdisjoint(doc.ocr_pages)}


def _merge_short_blocks(text: str, blocks: list[Block]) -> list[Block]:
    """A block shorter than MIN_CHARS ("Run this:", a caption) joins the next block of its section and
    page, else the previous one; alone in its section it stays."""
    out: list[Block] = []
    pending: Block | None = None
    for block in blocks:
        if pending is not None:
            if (pending.section, pending.page) == (block.section, block.page):
                block = _joined(pending, block)
            else:
                out.append(pending)
            pending = None
        if block.end - block.start < MIN_CHARS:
            pending = block
        else:
            out.append(block)
    if pending is not None:
        if out and (out[-1].section, out[-1].page) == (pending.section, pending.page):
            out[-1] = _joined(out[-1], pending)
        else:
            out.append(pending)
    return out


def _joined(first: Block, second: Block) -> Block:
    kind = second.kind if first.kind == "text" else first.kind
    return Block(first.start, second.end, first.section, first.page, kind)


def _fit_block(text: str, block: Block, max_tokens: int, count_tokens) -> list[tuple[int, int]]:
    # Lists, code and tables are cut between lines (a line too long by itself is cut like prose).
    return _fit(text, block.start, block.end, max_tokens, count_tokens, by_lines=block.kind != "text")


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, the title first, short fragments merged into a neighbour."""
    paragraphs: list[tuple[int, int, int]] = []  # start, end, block number
    for block_no, block in enumerate(_blocks(text)):
        if not paragraphs:  # the first non-empty line is the title, always a paragraph of its own
            paragraphs.append((*block[0], -1))
            block = block[1:]
        for group in _paragraphs_of_block(text, block):
            paragraphs.append((group[0][0], group[-1][1], block_no))
    return _merge_fragments(text, paragraphs)


def _blocks(text: str) -> list[list[tuple[int, int]]]:
    """Runs of consecutive non-blank lines, each line as the (start, end) of its stripped content."""
    blocks: list[list[tuple[int, int]]] = [[]]
    pos = 0
    for raw in text.split("\n"):
        content = raw.strip()
        if content:
            start = pos + (len(raw) - len(raw.lstrip()))
            blocks[-1].append((start, start + len(content)))
        elif blocks[-1]:
            blocks.append([])
        pos += len(raw) + 1
    return [b for b in blocks if b]


def _paragraphs_of_block(text: str, lines: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    if not lines:
        return []
    wrapped = len(lines) > 1 and max(e - s for s, e in lines[:-1]) <= WRAP_WIDTH
    groups = [[lines[0]]]
    for prev, line in zip(lines, lines[1:]):
        starts_item = bool(_LIST_ITEM.match(text, line[0]))
        ends_sentence = text[prev[1] - 1] in _TERMINAL
        if starts_item or (not wrapped and ends_sentence):
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups


def _merge_fragments(text: str, paragraphs: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """A short fragment joins the previous paragraph of its block, else the next paragraph, else the
    previous one. The title never takes part."""
    title, body = paragraphs[0], [list(p) for p in paragraphs[1:]]
    i = 0
    while i < len(body):
        start, end, block = body[i]
        if len(body) > 1 and len(text[start:end]) < MIN_CHARS:
            if i > 0 and body[i - 1][2] == block:
                body[i - 1][1] = end
            elif i + 1 < len(body):
                body[i + 1][0] = start
            else:
                body[i - 1][1] = end
            del body[i]
            i = max(i - 1, 0)  # the grown neighbour may need another look
            continue
        i += 1
    return [(title[0], title[1])] + [(s, e) for s, e, _ in body]


def _title(first_line: str) -> str:
    title = first_line.lstrip("#").strip() or first_line
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def _fit(text, start, end, max_tokens, count_tokens, *, by_lines: bool = False) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` into pieces of at most ``max_tokens`` (and ``MAX_CHARS``): whole sentences
    (or, ``by_lines``, whole lines) packed greedily; the sentences of a line that is too long by itself,
    the words of a sentence that is. Each unit is counted once and pieces are packed by the sum of their
    units' counts (word-piece counts add up across whitespace), so a huge paragraph, list or code block
    costs time in proportion to its length."""
    if end - start <= MAX_CHARS and count_tokens(text[start:end]) <= max_tokens:
        return [(start, end)]
    too_many = max_tokens + 1
    units: list[tuple[int, int, int]] = []  # start, end, tokens
    for ls, le in _line_spans(text, start, end) if by_lines else [(start, end)]:
        if by_lines:
            n = count_tokens(text[ls:le]) if le - ls <= MAX_CHARS else too_many
            if n <= max_tokens:
                units.append((ls, le, n))
                continue
        for s, e in sentence_spans(text, ls, le):
            n = count_tokens(text[s:e]) if e - s <= MAX_CHARS else too_many
            if n <= max_tokens:
                units.append((s, e, n))
                continue
            counted: dict[str, int] = {}  # words repeat: count each once
            for word in _WORD.finditer(text, s, e):
                w = word.group()
                if w not in counted:
                    counted[w] = count_tokens(w) if len(w) <= MAX_CHARS else too_many
                if counted[w] <= max_tokens:
                    units.append((word.start(), word.end(), counted[w]))
                else:
                    units.extend(_cut_word(text, word.start(), word.end(), max_tokens, count_tokens))
    pieces: list[list[int]] = []  # start, end, tokens
    for s, e, n in units:
        if pieces and pieces[-1][2] + n <= max_tokens and e - pieces[-1][0] <= MAX_CHARS:
            pieces[-1][1:] = [e, pieces[-1][2] + n]
        else:
            pieces.append([s, e, n])
    return [(s, e) for s, e, _ in pieces]


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line of ``text[start:end]``, surrounding whitespace left out."""
    spans, pos = [], start
    for line in text[start:end].split("\n"):
        lo, hi = pos + len(line) - len(line.lstrip()), pos + len(line.rstrip())
        if lo < hi:
            spans.append((lo, hi))
        pos += len(line) + 1
    return spans


def _cut_word(text, start, end, max_tokens, count_tokens) -> list[tuple[int, int, int]]:
    """A "word" too long for the model (a URL, base64…) is cut into character runs that fit."""
    pieces = []
    while start < end:
        size = min(end - start, MAX_CHARS)
        n = count_tokens(text[start : start + size])
        while size > 1 and n > max_tokens:
            size = max(1, size * 3 // 4)
            n = count_tokens(text[start : start + size])
        pieces.append((start, start + size, n))
        start += size
    return pieces


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def _line_of(line_starts: list[int], offset: int) -> int:
    return bisect.bisect_right(line_starts, offset)
