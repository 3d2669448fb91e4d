"""Paged documents, PDF and image files: survey the file in the parse worker, OCR the pages that need
it there one page per call (so each page has the worker's time and memory limits, and a page that fails
costs only itself), then make paragraphs of all the lines (:mod:`.lines`).

What comes back from the worker is checked before use: it is made from hostile bytes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

from ..errors import QAError
from . import ocr
from .document import Extracted, Unreadable
from .isolate import Isolated, ParseFailed
from .lines import Line, PageLines, assemble

__all__ = ["DEFAULT_OCR_PAGES", "max_ocr_pages", "read_paged"]

DEFAULT_OCR_PAGES = 500  # pages OCR'd per file at most; $QA_OCR_MAX_PAGES
# A page is OCR'd in 1-3 s; one that is not done in PAGE_TIMEOUT (or the parse timeout, if lower) is drawn
# to be slow. A file stops being OCR'd after FAILURES_IN_A_ROW such pages, or once it has taken
# FILE_SECONDS + PAGE_SECONDS a page: a hostile file costs minutes, not the hours 500 slow pages would.
PAGE_TIMEOUT = 30.0
FAILURES_IN_A_ROW = 3
FILE_SECONDS, PAGE_SECONDS = 60.0, 6.0
_MAX_LINE = 10_000  # characters; a longer "line" from the worker is nonsense


def max_ocr_pages() -> int:
    value = os.environ.get("QA_OCR_MAX_PAGES", str(DEFAULT_OCR_PAGES))
    try:
        pages = int(value)
    except ValueError:
        raise QAError(f"QA_OCR_MAX_PAGES must be a whole number of pages, got {value!r}") from None
    if pages < 0:
        raise QAError(f"QA_OCR_MAX_PAGES must be >= 0, got {pages}")
    return pages


def read_paged(fmt: str, data: bytes, worker: Isolated, source: str, on_page: Callable[[str], None] | None = None) -> Extracted:
    """A PDF (``fmt`` "pdf") or image file (``fmt`` "image") as an :class:`Extracted` with the boxes of
    its lines; ``on_page`` is told "OCR: page 3/40 of scan.pdf" before each page is OCR'd."""
    if fmt == "pdf":
        got = _dict(worker.call("qa.readers.pdf", "survey", data))
        pages = {n: PageLines(n, tuple(map(_line, lines))) for n, lines in map(_page_text, got.get("text", []))}
        scan, title, function = [_page(n) for n in got.get("scan", [])], str(got.get("title", ""))[:1000], "pdf_page"
    else:
        got = _dict(worker.call("qa.readers.image", "survey", data))
        pages, scan, title, function = {}, list(range(1, _page(got.get("pages", 0)) + 1)), "", "image_page"
    warnings = [str(w)[:300] for w in got.get("warnings", [])][:100]
    limit = max_ocr_pages()
    if scan and not ocr.available():
        warnings.append(f"{_pages(len(scan))} not read: {ocr.MISSING}")
        scan = []
    if len(scan) > limit:
        warnings.append(f"{_pages(len(scan) - limit)} not read: more than {limit} to OCR ($QA_OCR_MAX_PAGES)")
        scan = scan[:limit]
    failed, in_a_row = [], 0
    deadline = time.monotonic() + FILE_SECONDS + PAGE_SECONDS * len(scan)
    for i, number in enumerate(scan, 1):
        if in_a_row >= FAILURES_IN_A_ROW or time.monotonic() > deadline:
            why = f"{in_a_row} pages in a row failed" if in_a_row >= FAILURES_IN_A_ROW else "it took too long"
            failed.append(f"{_pages(len(scan) - i + 1)} not read: OCR stopped, {why}")
            break
        if on_page is not None:
            on_page(f"OCR: page {i}/{len(scan)} of {source}")
        try:
            lines = worker.call("qa.readers.ocr", function, data, number, timeout=PAGE_TIMEOUT)
        except ParseFailed as e:
            failed.append(f"page {number}: {e}")
            in_a_row += 1
            continue
        in_a_row = 0
        if not isinstance(lines, list):
            raise ParseFailed("the parser answered nonsense")
        pages[number] = PageLines(number, tuple(map(_line, lines)), ocr=True)
    warnings += failed
    if not any(p.lines for p in pages.values()):
        raise Unreadable(_nothing(fmt, scan, warnings))
    return assemble([pages[n] for n in sorted(pages)], title, warnings)


def _nothing(fmt: str, scan: list[int], warnings: list[str]) -> str:
    if any(ocr.MISSING in w for w in warnings):
        return f"scanned, with no text layer: {ocr.MISSING}"
    if scan:
        return f"no text found by OCR ({_pages(len(scan))})" + (f": {warnings[-1]}" if warnings else "")
    if warnings:
        return f"no text could be read ({warnings[0]})"
    return "no text in the PDF (blank pages)" if fmt == "pdf" else "no pages in the image"


def _pages(n: int) -> str:
    return f"{n} page{'s' * (n != 1)}"


def _dict(value) -> dict:
    if not isinstance(value, dict):
        raise ParseFailed("the parser answered nonsense")
    return value


def _page(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000_000:
        raise ParseFailed("the parser answered nonsense")
    return value


def _page_text(item) -> tuple[int, list]:
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], list)):
        raise ParseFailed("the parser answered nonsense")
    return _page(item[0]), item[1]


def _line(item) -> Line:
    """``[text, x0, y0, x1, y1]`` or ``[..., group]`` from the worker, as a :class:`Line`."""
    if not (isinstance(item, list) and len(item) in (5, 6) and isinstance(item[0], str) and len(item[0]) <= _MAX_LINE):
        raise ParseFailed("the parser answered nonsense")
    numbers = item[1:]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in numbers):
        raise ParseFailed("the parser answered nonsense")
    x0, y0, x1, y1 = (min(max(float(v), 0.0), 1.0) for v in numbers[:4])
    return Line(" ".join(item[0].split()), (x0, y0, max(x0, x1), max(y0, y1)), int(numbers[4]) if len(numbers) == 5 else None)
