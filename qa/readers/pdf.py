"""PDF (pypdfium2): each page's text layer as positioned lines, and which pages have none worth reading
(scans) and so need OCR; pages rendered as images for OCR and for the page view.

These run in the parse worker (:mod:`.isolate`): pdfium is a large C library fed untrusted bytes.
:mod:`.paged` asks for the survey, OCRs the pages it names one at a time, and makes paragraphs of it all
(:mod:`.lines`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .document import Unreadable

__all__ = ["MAX_PIXELS", "OCR_DPI", "open_pdf", "render", "survey"]

OCR_DPI = 300  # pages are rendered for OCR at this resolution, the one OCR engines are trained at
MAX_PIXELS = 25_000_000  # a rendered page has at most this many pixels (a huge page is scaled down)
_MIN_CHARS = 10  # a page with fewer visible characters than this has no text layer worth keeping
_MIN_GOOD = 0.7  # ...nor one where fewer than this share of them are letters, digits or punctuation
_TOOL_TITLE = re.compile(r"^(microsoft \w+ - |untitled\b)|\.(docx?|pdf|odt|rtf|tex|txt)$", re.I)
_HYPHEN_BREAK = "\ufffe\x02"
_GOOD = frozenset("LNPS")  # Unicode categories of real text (not private use, controls, U+FFFD...)


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise Unreadable("encrypted PDF (needs a password)") from None
        raise Unreadable(f"broken PDF ({' '.join(str(e).split())[:120]})") from None


def survey(data: bytes) -> dict:
    """``{"pages": n, "text": [[page, [[text, x0, y0, x1, y1], ...]], ...], "scan": [page, ...],
    "title": ..., "warnings": [...]}``: each page's text-layer lines, or its number in ``scan`` when it
    has no usable text but something drawn on it (a scan to OCR). Blank pages are in neither."""
    doc = open_pdf(data)
    text, scan, warnings = [], [], []
    for number in range(1, len(doc) + 1):
        try:
            page = doc[number - 1]
            lines = _lines(page)
        except pdfium.PdfiumError as e:
            warnings.append(f"page {number}: unreadable ({' '.join(str(e).split())[:80]})")
            continue
        if lines is not None:
            text.append([number, lines])
        elif pdfium_c.FPDFPage_CountObjects(page.raw) > 0:
            scan.append(number)
    return {"pages": len(doc), "text": text, "scan": scan, "title": _title(doc), "warnings": warnings}


def render(doc: pdfium.PdfDocument, number: int, dpi: float = OCR_DPI, max_pixels: int = MAX_PIXELS):
    """Page ``number`` (1-based) as a greyscale PIL image at ``dpi``, or smaller to stay under ``max_pixels``."""
    if not 1 <= number <= len(doc):
        raise Unreadable(f"no page {number} (the PDF has {len(doc)})")
    page = doc[number - 1]
    width, height = page.get_size()
    scale = dpi / 72
    if width * height * scale * scale > max_pixels:
        scale = (max_pixels / max(width * height, 1e-6)) ** 0.5
    return page.render(scale=scale, grayscale=True).to_pil().convert("L")


def _lines(page) -> list[list] | None:
    """The page's text-layer lines as ``[text, x0, y0, x1, y1]`` (page fractions from the top left, as
    the page is shown, its rotation applied), or None when it has no text worth keeping."""
    textpage = page.get_textpage()
    raw = textpage.get_text_range()
    if _garbage([c for c in raw if not c.isspace()]):
        return None
    left, bottom, right, top = page.get_bbox()
    width, height = max(right - left, 1e-6), max(top - bottom, 1e-6)
    rotation = page.get_rotation() % 360
    lines, chars = [], []  # chars: the current line's (character, index)
    for i, c in enumerate(raw + "\n"):
        if c in _HYPHEN_BREAK:  # pdfium's mark of a word hyphenated at the end of a line
            chars.append(("-", i))
        elif c not in "\r\n":
            chars.append((c, i))
            continue
        line = " ".join("".join(c for c, _ in chars).split())
        boxes = [textpage.get_charbox(j) for c, j in chars if not c.isspace()]
        boxes = [b for b in boxes if b[2] > b[0] or b[3] > b[1]]
        chars = []
        if not line or not boxes:
            continue
        x0, y1 = (min(b[0] for b in boxes) - left) / width, (top - min(b[1] for b in boxes)) / height
        x1, y0 = (max(b[2] for b in boxes) - left) / width, (top - max(b[3] for b in boxes)) / height
        lines.append([line, *_rotated((x0, y0, x1, y1), rotation)])
    return lines or None


def _garbage(visible: list[str]) -> bool:
    """Whether a page's text layer is too little or not text: under :data:`_MIN_CHARS` characters, too
    few letters, digits and punctuation (controls, private use, U+FFFD), or one character over and over
    (a font without a usable map gives "ÿÿÿÿ ÿÿÿÿÿ")."""
    if len(visible) < _MIN_CHARS:
        return True
    if sum(unicodedata.category(c)[0] in _GOOD or c in _HYPHEN_BREAK for c in visible) < _MIN_GOOD * len(visible):
        return True
    return len(visible) >= 40 and (len(set(visible)) < 8 or Counter(visible).most_common(1)[0][1] > 0.4 * len(visible))


def _rotated(box: tuple[float, float, float, float], rotation: int) -> list[float]:
    """A box of the unrotated page as it lies on the page shown turned ``rotation`` degrees clockwise."""
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y1)]
    if rotation == 90:
        corners = [(1 - y, x) for x, y in corners]
    elif rotation == 180:
        corners = [(1 - x, 1 - y) for x, y in corners]
    elif rotation == 270:
        corners = [(y, 1 - x) for x, y in corners]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return [round(min(max(v, 0.0), 1.0), 4) for v in (min(xs), min(ys), max(xs), max(ys))]


def _title(doc: pdfium.PdfDocument) -> str:
    try:
        title = " ".join(str(doc.get_metadata_dict().get("Title") or "").split())
    except Exception:  # metadata of a broken file
        title = ""
    return "" if _TOOL_TITLE.search(title) else title
