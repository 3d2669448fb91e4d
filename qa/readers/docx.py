"""DOCX: paragraphs, lists and tables in document order (python-docx); headings as the section path.

A .docx is a zip archive: its directory is checked before anything is decompressed, so a zip bomb is
refused by its declared sizes rather than discovered by running out of memory. The extracted text --
headings as lines, blocks separated by blank lines -- is what offsets refer to. The title is the
document's Title property, else its "Title" paragraph, else its first heading.
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from .document import Extracted, TextBuilder, Unreadable

__all__ = ["MAX_EXPANDED_BYTES", "MAX_RATIO", "check_zip", "extract"]

MAX_EXPANDED_BYTES = 256 * 1024 * 1024  # all members together, decompressed
MAX_RATIO = 200  # decompressed / compressed, for members large enough to matter
_HEADING = re.compile(r"^heading (\d)$", re.I)
_LIST_STYLE = re.compile(r"^list", re.I)


def check_zip(data: bytes) -> None:
    """Raise :class:`Unreadable` for an archive that is not a zip or would expand absurdly."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise Unreadable(f"broken DOCX (not a zip archive: {e})") from None
    expanded = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if expanded > MAX_EXPANDED_BYTES or (expanded > 10 * 1024 * 1024 and expanded > MAX_RATIO * max(packed, 1)):
        raise Unreadable(f"refused: looks like a zip bomb ({packed:,} bytes expand to {expanded:,})")


def extract(data: bytes) -> Extracted:
    check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
        core_title = (document.core_properties.title or "").strip()
    except Unreadable:
        raise
    except Exception as e:  # python-docx raises many kinds on a damaged package
        raise Unreadable(f"broken DOCX ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    out = TextBuilder()
    headings: list[tuple[int, str]] = []
    title_para, pending_list = "", []

    def add(piece: str, kind: str | None) -> None:
        out.add(piece, kind, tuple(h for _, h in headings))

    def flush_list() -> None:
        if pending_list:
            add("\n".join(f"- {item}" for item in pending_list), "list")
            pending_list.clear()

    for item in items:
        if isinstance(item, Table):
            flush_list()
            rows = [" | ".join(_clean(c.text) for c in row.cells) for row in item.rows]
            rows = [r for r in rows if r.strip(" |")]
            if rows:
                add("\n".join(rows), "table")
            continue
        if not isinstance(item, Paragraph):
            continue
        text, style = _clean(item.text), _style(item)
        if not text:
            continue
        if _LIST_STYLE.match(style):
            pending_list.append(text)
            continue
        flush_list()
        level = 0 if style.lower() == "title" else _heading_level(style)
        if level is not None:
            title_para = title_para or (text if level <= 1 else "")
            if level:
                headings = [h for h in headings if h[0] < level] + [(level, text)]
            add(text, None)
        else:
            add(text, "text")
    flush_list()
    if not out.blocks:
        raise Unreadable("no text in the DOCX")
    first_heading = headings[0][1] if headings else ""
    return Extracted(out.text(), tuple(out.blocks), core_title or title_para or first_heading)


def _style(paragraph: Paragraph) -> str:
    try:
        style = paragraph.style
        return (style.name or "") if style is not None else ""
    except Exception:  # a style reference to a missing definition
        return ""


def _heading_level(style: str) -> int | None:
    m = _HEADING.match(style)
    return int(m.group(1)) if m else None


def _clean(text: str) -> str:
    return " ".join(text.split())
