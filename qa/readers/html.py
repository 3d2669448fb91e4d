"""HTML: the main content as paragraphs, headings as the section path.

lxml parses (it copes with tag soup). What is not content is dropped first: scripts, styles, navigation,
headers, footers, asides, forms and hidden elements. The content is ``<main>`` (or ``role=main``, or a
single ``<article>``) when the page has one, else ``<body>``. The extracted text -- headings as lines,
blocks separated by blank lines -- is what offsets refer to. The title is the first ``<h1>``, else
``<title>``. The tree is walked without recursion, so deep nesting cannot exhaust the stack.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from .document import Block, Extracted, TextBuilder, Unreadable
from .text import decode

__all__ = ["extract"]

_DROP = (
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe",
    "object", "embed", "svg", "canvas", "button", "select", "textarea", "head", "menu", "dialog",
)  # fmt: skip
_DROP_XPATH = (
    "//*[@hidden or @aria-hidden='true' or @role='navigation' or @role='banner' or @role='contentinfo' "
    "or @role='complementary' or contains(translate(@style, ' ', ''), 'display:none')]"
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {"p": "text", "blockquote": "text", "figcaption": "text", "address": "text", "pre": "code",
           "ul": "list", "ol": "list", "dl": "list", "table": "table"}  # fmt: skip
_BREAKS = {"div", "section", "article", "main", "body", "li", "td", "th", "tr", "br", "hr", "dd", "dt"}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)


def extract(data: bytes) -> Extracted:
    parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(_decode(data), parser=parser)
    except (etree.ParserError, ValueError) as e:
        raise Unreadable(f"not HTML ({e})") from None
    warnings = []
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        warnings.append("HTML nested too deeply: the part beyond the parser's depth limit was left out")
    page_title = _clean(root.findtext(".//title") or "")
    for element in [*root.iter(*_DROP), *root.xpath(_DROP_XPATH)]:
        if element.getparent() is not None:
            element.drop_tree()
    content = _content_root(root)
    text, blocks, first_h1 = _walk(content)
    if not blocks:
        raise Unreadable("no text found in the HTML")
    return Extracted(text, tuple(blocks), first_h1 or page_title, tuple(warnings))


def _decode(data: bytes) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return decode(data)[0]


def _content_root(root):
    main = root.find(".//main")
    if main is None:
        main = next(iter(root.xpath("//*[@role='main']")), None)
    articles = root.findall(".//article")
    if main is None and len(articles) == 1:
        main = articles[0]
    if main is None:
        main = root.find("body")
    return main if main is not None else root


def _walk(content) -> tuple[str, list[Block], str]:
    """Blocks of ``content`` in document order; text outside block elements becomes paragraphs."""
    out = TextBuilder()
    headings: list[tuple[int, str]] = []
    loose: list[str] = []
    first_h1 = ""

    def add(piece: str, kind: str | None) -> None:
        out.add(piece, kind, tuple(h for _, h in headings))

    def flush() -> None:
        piece = _clean(" ".join(loose))
        loose.clear()
        if piece:
            add(piece, "text")

    inside = None  # the block element being taken whole
    for event, el in etree.iterwalk(content, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if inside is not None:
                continue
            if tag in _HEADINGS or tag in _BLOCKS:
                flush()
                inside = el
                if tag in _HEADINGS:
                    heading = _clean(el.text_content())
                    if heading:
                        level = _HEADINGS[tag]
                        headings = [h for h in headings if h[0] < level] + [(level, heading)]
                        first_h1 = first_h1 or (heading if level == 1 else "")
                        add(heading, None)
                else:
                    piece = _block_text(el, _BLOCKS[tag])
                    if piece:
                        add(piece, _BLOCKS[tag])
            else:
                if tag in _BREAKS:
                    flush()
                if el.text:
                    loose.append(el.text)
        else:
            if inside is not None and el is not inside:
                continue
            inside = None
            if tag in _BREAKS:
                flush()
            if el is not content and el.tail:
                loose.append(el.tail)
    flush()
    return out.text(), out.blocks, first_h1


def _block_text(el, kind: str) -> str:
    if kind == "code":
        return el.text_content().strip("\n").rstrip()
    if kind == "list":
        marker = "{n}. " if el.tag == "ol" else "- "
        items = [i for i in el if isinstance(i.tag, str) and i.tag in ("li", "dt", "dd")]
        lines = [marker.format(n=n) + _clean(i.text_content()) for n, i in enumerate(items, 1)]
        return "\n".join(line for line in lines if line.strip(" -.0123456789"))
    if kind == "table":
        rows = [" | ".join(_clean(c.text_content()) for c in row if c.tag in ("td", "th")) for row in el.iter("tr")]
        return "\n".join(r for r in rows if r.strip(" |"))
    return _clean(el.text_content())


def _clean(text: str) -> str:
    return " ".join(text.split())
