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
import os
import threading
from collections import OrderedDict
from pathlib import Path
from urllib.parse import quote

from ..indexing.index import Index
from ..passage import Hit
from ..readers import Skip, format_of, read_bytes
from ..readers.isolate import Isolated, ParseFailed
from ..readers.page_image import MAX_SIDE

__all__ = ["Busy", "NoPage", "PageChanged", "PageViews", "page_url"]

CACHED = 64  # pages kept (drawn, or found not drawable)
RENDER_TIMEOUT = 15.0  # seconds a page may take to draw ($QA_PAGE_TIMEOUT; a page takes well under one)
WAIT = 3.0  # seconds a request waits for the worker before it is told to retry


class Busy(Exception):
    """The worker is drawing another page (503, retry)."""


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
    """Renders pages one at a time in one capped worker. A render may take at most :data:`RENDER_TIMEOUT`
    seconds; a page that failed is remembered and refused at once (until its file changes); a request
    waits at most :data:`WAIT` seconds for the worker (then :class:`Busy`), so slow pages cannot pile
    requests up. A page already drawn is served from memory after a ``stat`` of its file: the file is
    read (and hashed, to check it is the one indexed) only to draw."""

    def __init__(self, render_timeout: float | None = None, wait: float = WAIT) -> None:
        render_timeout = float(os.environ.get("QA_PAGE_TIMEOUT", RENDER_TIMEOUT)) if render_timeout is None else render_timeout
        if not render_timeout > 0:
            raise ValueError(f"render_timeout must be > 0, got {render_timeout}")
        self._worker = Isolated(timeout=render_timeout)
        self._wait = wait
        self._lock = threading.Lock()  # one render at a time, in the one worker
        self._cache_lock = threading.Lock()  # the cache's own, held for a moment (never while drawing)
        self._cache: OrderedDict[tuple, tuple[tuple, bytes | str]] = OrderedDict()  # key → (file's stat, PNG or failure)

    def png(self, index: Index, source: str, page: int, start: int | None = None, end: int | None = None,
            readable: frozenset[str] | None = None) -> bytes:  # fmt: skip
        """Page ``page`` of the indexed file ``source`` as PNG bytes, the lines of ``start:end`` (offsets
        into the document's text, as a highlight's) boxed; only of the files ``readable`` (None: all) --
        another is not there, alike."""
        fmt = format_of(source)
        if fmt not in ("pdf", "image") or source not in index.sources or (readable is not None and source not in readable):
            raise NoPage("not an indexed PDF or image file")
        lines = index.page_lines(source, page)
        if not lines:
            raise NoPage(f"no page {page} with text in this file")
        marked = tuple(tuple(box[1:5]) for box in lines if start is not None and end is not None and box[5] < end and box[6] > start)
        path, indexed = self._path(index, source)
        key = (source, indexed, page, marked)
        if (known := self._known(key, path)) is not None:
            return known
        if not self._lock.acquire(timeout=self._wait):
            raise Busy("another page is being drawn; try again in a moment")
        try:
            if (known := self._known(key, path)) is not None:
                return known
            signature = _signature(path)
            got = read_bytes(path, path.parent)
            if isinstance(got, Skip) or got[2] != indexed:
                raise PageChanged("the file has changed since it was indexed; the page will be shown once it is indexed again")
            try:
                encoded = self._worker.call("qa.readers.page_image", "render", got[1], fmt, page, [list(b) for b in marked], MAX_SIDE)
                png = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
                result: bytes | str = png if png.startswith(b"\x89PNG\r\n\x1a\n") else "the page cannot be shown"
            except (ParseFailed, ValueError) as e:
                result = f"the page cannot be shown ({e})"
            with self._cache_lock:
                self._cache[key] = (signature, result)
                while len(self._cache) > CACHED:
                    self._cache.popitem(last=False)
        finally:
            self._lock.release()
        if isinstance(result, str):
            raise NoPage(result)
        return result

    def _known(self, key: tuple, path: Path) -> bytes | None:
        """The page drawn before, if its file is as it was then (raises :class:`NoPage` for a remembered failure)."""
        signature = _signature(path)
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is None or entry[0] != signature:
                return None
            self._cache.move_to_end(key)
        if isinstance(entry[1], str):
            raise NoPage(entry[1])
        return entry[1]

    @staticmethod
    def _path(index: Index, source: str) -> tuple[Path, str]:
        corpus, indexed = index.file(source)
        corpus = corpus.resolve()
        path = (corpus / source).resolve()
        if not path.is_relative_to(corpus) or not path.is_file() or indexed is None:
            raise PageChanged("the file is no longer in the corpus folder")
        return path, indexed

    def close(self) -> None:
        self._worker.close()


def _signature(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ino)
