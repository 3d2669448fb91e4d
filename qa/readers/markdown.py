"""Markdown: blocks as a CommonMark parser sees them, headings as the section path.

The document text is the file's own text, so offsets and line numbers refer to the .md file. A
paragraph, a whole list, a code block, a table or a quote is one block, never cut in the middle unless
it is longer than the model's input. The title is the front matter's ``title``, else the first level-1
heading, else the first heading.
"""

from __future__ import annotations

import re

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from .document import Block, Extracted

__all__ = ["extract"]

_KINDS = {
    "paragraph_open": "text",
    "blockquote_open": "text",
    "html_block": "text",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "fence": "code",
    "code_block": "code",
    "table_open": "table",
}


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table").use(front_matter_plugin)


def extract(text: str) -> Extracted:
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)] + [len(text) + 1]
    tokens = _parser().parse(text)
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []  # (level, text) of the headings above
    front_title, first_heading = "", None
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None:
            continue
        if token.type == "front_matter":
            front_title = _front_title(token.content)
        elif token.type == "heading_open":
            level, heading = int(token.tag[1:]), _inline_text(tokens[i + 1])
            headings = [h for h in headings if h[0] < level] + [(level, heading)]
            if heading and (first_heading is None or (level == 1 and first_heading[0] > 1)):
                first_heading = (level, heading)
        elif token.type in _KINDS:
            start, end = _span(text, line_starts, *token.map)
            if start < end:
                section = tuple(h for _, h in headings if h)
                blocks.append(Block(start, end, section, kind=_KINDS[token.type]))
    title = front_title or (first_heading[1] if first_heading else "")
    return Extracted(text, tuple(blocks), title)


def _span(text: str, line_starts: list[int], first: int, last: int) -> tuple[int, int]:
    """Character span of lines ``[first, last)``, surrounding whitespace left out."""
    start, end = line_starts[first], min(line_starts[last] - 1, len(text))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


def _front_title(content: str) -> str:
    try:
        meta = yaml.safe_load(content)
    except yaml.YAMLError:
        return ""
    title = meta.get("title") if isinstance(meta, dict) else None
    return " ".join(title.split()) if isinstance(title, str) else ""
