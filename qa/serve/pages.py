"""The page view: a page of an indexed PDF or image file as a PNG, with the lines of a hit's highlight
boxed, for the chat's "in context" and the API's ``GET /api/page``.

Only pages of the served index's own documents: the file is named by its indexed path, found in the
corpus folder the index was built from, and must still be the file that was indexed (its sha256), or
the boxes would mark the wrong place. The page must be one the index has lines of. What is marked is
worked out here from the index's boxes, never taken from the request. Rendering runs in the capped parse
worker (:mod:`qa.readers.isolate`): the file is untrusted. Recent images are kept (a page is asked for
again as a conversation goes on).
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from urllib.parse import quote

from ..indexing.index import Index
from ..passage import Hit
from ..readers import Skip, format_of, read_bytes
from ..readers.isolate import Isolated, ParseFailed
from ..readers.page_image import MAX_SIDE

__all__ = ["NoPage", "PageChanged", "PageViews", "page_url"]

CACHED = 32  # page images kept


class NoPage(LookupError):
    """Not a page the index can show (404)."""


class PageChanged(Exception):
    """The file is no longer the one indexed (409)."""


def page_url(hit: Hit) -> str | None:
    """Where the page image of ``hit`` is (its highlight's first page, its lines marked), or None when
    its file has no page view (not a PDF or image, or no boxes)."""
    boxes = hit.highlight.boxes if hit.highlight and hit.highlight.boxes else hit.boxes
    if not boxes or format_of(hit.source) not in ("pdf", "image"):
        return None
    start, end = (hit.highlight.start, hit.highlight.end) if hit.highlight else (hit.start, hit.end)
    return f"/api/page?source={quote(hit.source, safe='')}&page={boxes[0][0]}&start={start}&end={end}"


class PageViews:
    def __init__(self) -> None:
        self._worker = Isolated()
        self._lock = threading.Lock()  # one render at a time, in the one worker
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()

    def png(self, index: Index, source: str, page: int, start: int | None = None, end: int | None = None) -> bytes:
        """Page ``page`` of the indexed file ``source`` as PNG bytes, the lines of ``start:end`` (offsets
        into the document's text, as a highlight's) boxed."""
        fmt = format_of(source)
        if fmt not in ("pdf", "image") or source not in index.sources:
            raise NoPage("not an indexed PDF or image file")
        lines = index.page_lines(source, page)
        if not lines:
            raise NoPage(f"no page {page} with text in this file")
        marked = tuple(tuple(box[1:5]) for box in lines if start is not None and end is not None and box[5] < end and box[6] > start)
        data, sha256 = self._file(index, source)
        key = (source, sha256, page, marked)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            try:
                encoded = self._worker.call("qa.readers.page_image", "render", data, fmt, page, [list(b) for b in marked], MAX_SIDE)
            except ParseFailed as e:
                raise NoPage(f"the page cannot be shown ({e})") from None
            png = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
            if not png.startswith(b"\x89PNG\r\n\x1a\n"):
                raise NoPage("the page cannot be shown")
            self._cache[key] = png
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
            return png

    def _file(self, index: Index, source: str) -> tuple[bytes, str]:
        corpus, indexed = index.file(source)
        corpus = corpus.resolve()
        path = (corpus / source).resolve()
        if not path.is_relative_to(corpus) or not path.is_file() or indexed is None:
            raise PageChanged("the file is no longer in the corpus folder")
        got = read_bytes(path, corpus)
        if isinstance(got, Skip) or got[2] != indexed:
            raise PageChanged("the file has changed since it was indexed; the page will be shown once it is indexed again")
        return got[1], got[2]

    def close(self) -> None:
        self._worker.close()
