"""Keep the served index in step with its corpus folder, in the background.

Uploads are saved into the corpus folder (``uploads/``) and a sync is started in a background thread,
so no one waits for it: the chat and the API go on answering from the current index, and pick up the
new one when its manifest is swapped in (see :func:`qa.loaded.cached_index`). A sync asked for while
one runs is done right after it, once.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .build import build_index
from .errors import QAError
from .read import FORMATS

__all__ = ["DEFAULT_MAX_UPLOAD_MB", "Indexer", "Status", "safe_name"]

DEFAULT_MAX_UPLOAD_MB = 20  # $QA_MAX_UPLOAD_MB
UPLOADS = "uploads"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class Status:
    busy: bool  # a build is running
    message: str  # for people: what the index is doing, or what the last build did
    error: str | None = None


def safe_name(name: str) -> str:
    """A file name that stays in the uploads folder: no folders, no hidden files, tame characters."""
    stem = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    return stem or "upload"


def _describe(report) -> str:
    """The build for visitors of the page: counts, no server paths."""
    skipped = f", {len(report.skipped)} skipped ({'; '.join(f'{s.source}: {s.reason}' for s in report.skipped[:3])})" if report.skipped else ""
    if not report.written:
        return f"Index up to date: {report.files} documents, {report.passages} passages{skipped}."
    return f"Indexed {report.files} documents, {report.passages} passages ({report.embedded} newly embedded){skipped}."


class Indexer:
    def __init__(self, corpus_dir: str | Path, index_dir: str | Path, *, embedder=None) -> None:
        self.corpus_dir, self.index_dir = Path(corpus_dir), Path(index_dir)
        self.embedder = embedder
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._status = Status(False, "")

    @property
    def status(self) -> Status:
        return self._status

    def save_uploads(self, paths: list[str | Path], max_bytes: int) -> tuple[list[str], list[str]]:
        """Copy uploaded files into the corpus's uploads folder. Returns (saved sources, refusals)."""
        saved, refused = [], []
        target = self.corpus_dir / UPLOADS
        for path in map(Path, paths):
            name = safe_name(path.name)
            if Path(name).suffix.lower() not in FORMATS:
                refused.append(f"{name}: not a supported file type ({', '.join(sorted(FORMATS))})")
                continue
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    refused.append(f"{name}: too large ({size:,} bytes; the limit is {max_bytes:,})")
                    continue
                target.mkdir(parents=True, exist_ok=True)
                tmp = target / f".{name}.part"
                shutil.copyfile(path, tmp)
                tmp.replace(target / name)  # a half-copied file is never indexed
            except OSError as e:
                refused.append(f"{name}: could not be saved ({e.strerror or e})")
                continue
            saved.append(f"{UPLOADS}/{name}")
        return saved, refused

    def sync(self, why: str = "") -> None:
        """Bring the index up to date in the background (now, or right after the running build)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._status = Status(True, f"Indexing {why or self.corpus_dir}… answers use the current index until it is done.")
            self._thread = threading.Thread(target=self._run, name="qa-indexer", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> Status:
        """Block until the background build (if any) is done: for tests and scripts."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            thread = self._thread
            if thread is None or not thread.is_alive():
                return self._status
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if deadline is not None and time.monotonic() >= deadline:
                return self._status

    def _run(self) -> None:
        while True:
            try:
                message, error = _describe(build_index(self.corpus_dir, self.index_dir, embedder=self.embedder)), None
            except (QAError, OSError, ValueError) as e:
                message, error = f"Indexing failed: {e}", str(e)
            with self._lock:
                if not self._again:
                    self._status = Status(False, message, error)
                    return
                self._again = False
                self._status = Status(True, "Indexing the newest uploads…")
