"""Keep the served index in step with its corpus folder, in the background.

Uploads are saved into the corpus folder (``uploads/``) and a sync is started in a background thread,
so no one waits for it: the chat and the API go on answering from the current index, and pick up the
new one when its manifest is swapped in (see :func:`qa.retrieval.oneshot.cached_retriever`). A sync asked for while
one runs is done right after it, once.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import QAError
from ..build import build_index
from ..readers import FORMATS

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


def _claim(tmp: Path, folder: Path, name: str, compare: bool = True) -> tuple[str, bool]:
    """Give ``tmp`` the first free name of ``name``, ``name (2)``, ``name (3)``… in ``folder``, taken
    atomically (a hard link fails on an existing name, so two uploads at once cannot both take it).
    Returns (the name, True when a file of that name had the same content and nothing was added; never
    without ``compare``)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 10_000):
        candidate = name if n == 1 else f"{stem} ({n}){suffix}"
        try:
            os.link(tmp, folder / candidate)
            return candidate, False
        except FileExistsError:
            if compare and filecmp.cmp(tmp, folder / candidate, shallow=False):
                return candidate, True
    raise OSError(f"too many files named {name}")


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

    def save_uploads(self, paths: list[str | Path], max_bytes: int, folder: str = UPLOADS,
                     readable: Callable[[str], bool] | None = None) -> tuple[list[str], list[str]]:  # fmt: skip
        """Copy uploaded files into ``folder`` of the corpus (``uploads/``; where the access rules let the
        uploader write). Returns (saved sources, messages about the files not saved, or saved under another
        name). A file never replaces another: a second ``a.txt`` is saved as ``a (2).txt``, and one with
        the same content as the first is not saved again. Where the uploader may write but not read
        (``readable``: whether they may read a path), every file gets a name of its own (``a-1f2e3d4c.txt``)
        and nothing is compared: no message may tell what is there."""
        saved, notes = [], []
        target = self.corpus_dir / folder
        if not target.resolve().is_relative_to(self.corpus_dir.resolve()):
            raise ValueError(f"the upload folder must lie in the corpus, got {folder[:100]!r}")
        shown = f"{folder.strip('/')}/" if folder.strip("/") else ""
        for path in map(Path, paths):
            name = safe_name(path.name)
            if Path(name).suffix.lower() not in FORMATS:
                notes.append(f"{name}: not a supported file type ({', '.join(sorted(FORMATS))})")
                continue
            blind = readable is not None and not readable(f"{shown}{name}")
            if blind:
                name = f"{Path(name).stem}-{uuid.uuid4().hex[:8]}{Path(name).suffix}"
            tmp = target / f".{name}.{uuid.uuid4().hex[:8]}.part"
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    notes.append(f"{name}: too large ({size:,} bytes; the limit is {max_bytes:,})")
                    continue
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, tmp)  # a half-copied file is never indexed: it has a hidden name
                kept, same = _claim(tmp, target, name, compare=not blind)
            except OSError as e:
                notes.append(f"{name}: could not be saved ({e.strerror or e})")
                continue
            finally:
                tmp.unlink(missing_ok=True)
            if same:
                notes.append(f"{name}: already uploaded, with the same content, as {shown}{kept}")
                continue
            if kept != name:
                notes.append(f"{name}: {shown}{name} exists already, so this one is {shown}{kept}")
            saved.append(f"{shown}{kept}")
        return saved, notes

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
                # progress (OCR pages, embedding) goes to the server's log, as qa index prints it
                built = build_index(self.corpus_dir, self.index_dir, embedder=self.embedder, progress=True)
                message, error = _describe(built), None
            except (QAError, OSError, ValueError) as e:
                message, error = f"Indexing failed: {e}", str(e)
                print(f"qa: {message}", file=sys.stderr, flush=True)  # for whoever runs the server
            with self._lock:
                if not self._again:
                    self._status = Status(False, message, error)
                    return
                self._again = False
                self._status = Status(True, "Indexing the newest uploads…")
