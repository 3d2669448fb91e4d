"""Read a corpus folder: find its documents in a stable order, read each in its format, and say why any
file was skipped.

Formats: .txt (and any text), .md, .html/.htm, .pdf, .docx, and images (.png .jpg .tif .webp, read by
OCR) -- one module each in this package. A file is read whole and hashed; a file that changes while it
is read is read again (the hash then matches the text indexed, so the next sync sees any later change).
PDF, DOCX, HTML and images are parsed in a worker process with a time and memory limit (:mod:`.isolate`;
OCR a page at a time, :mod:`.paged`), so no file can hang or kill the build.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path

from ..errors import QAError
from . import markdown
from .document import Document, Skip, Unreadable
from .isolate import Isolated, ParseFailed
from .paged import read_paged
from .text import decode

__all__ = [
    "FORMATS",
    "format_of",
    "list_files",
    "max_file_bytes",
    "parse",
    "read_bytes",
    "read_corpus",
    "read_document",
]

FORMATS = {
    ".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx",
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"), "image"),
}
ISOLATED = {"html": "qa.readers.html", "docx": "qa.readers.docx"}  # parsed in a worker
PAGED = ("pdf", "image")  # surveyed and OCR'd in a worker, page by page (:mod:`.paged`)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # $QA_MAX_FILE_MB
_READ_ATTEMPTS = 3
OnPage = Callable[[str], None] | None


def format_of(source: str) -> str:
    """The format a file is read as, by its extension: txt, md, html, pdf, docx or image."""
    return FORMATS.get(Path(source).suffix.lower(), "txt")


def max_file_bytes(max_mb: float | None = None) -> int:
    """The size cap: the argument (MB), else ``$QA_MAX_FILE_MB``, else 50 MB."""
    value = max_mb if max_mb is not None else os.environ.get("QA_MAX_FILE_MB")
    if value is None:
        return DEFAULT_MAX_BYTES
    try:
        mb = float(value)
    except ValueError:
        raise QAError(f"QA_MAX_FILE_MB must be a number of megabytes, got {value!r}") from None
    if mb <= 0:
        raise QAError(f"the file size limit must be > 0 MB, got {value}")
    return int(mb * 1024 * 1024)


def list_files(root: Path) -> list[Path | Skip]:
    """Every candidate file under ``root``, recursively, sorted by relative path, or a Skip for what
    must not be read: links that lead outside it, pipes and devices. Hidden files and folders
    (``.git``…) are not part of a corpus."""
    real_root = root.resolve()
    found: list[Path | Skip] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in FORMATS:
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                found.append(Skip(_relative(path, root), "symlink points outside the corpus folder"))
            elif path.exists() and not path.is_file():
                found.append(Skip(_relative(path, root), "not a regular file"))
            else:
                found.append(path)
    return sorted(found, key=lambda item: item.source if isinstance(item, Skip) else _relative(item, root))


def read_bytes(path: Path, root: Path, *, max_bytes: int | None = None) -> tuple[str, bytes, str] | Skip:
    """``(source, data, sha256)`` of a file read whole, or a Skip: too large, unreadable, or changing
    all the time it was read."""
    source, max_bytes = _relative(path, root), max_file_bytes() if max_bytes is None else max_bytes
    try:
        for _ in range(_READ_ATTEMPTS):
            before = path.stat()
            if before.st_size > max_bytes:
                return Skip(source, f"too large ({before.st_size:,} bytes > limit {max_bytes:,}; $QA_MAX_FILE_MB)")
            with open(path, "rb") as f:
                # the size it had, plus one byte to see it grow (asking for the cap made Python allocate
                # the whole cap for every file: 50 MB a read, a third of reading a folder of small files)
                data = f.read(before.st_size + 1)
            after = path.stat()
            if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and len(data) == after.st_size:
                return source, data, hashlib.sha256(data).hexdigest()
    except OSError as e:
        return Skip(source, f"cannot read ({e.strerror or e})")
    return Skip(source, "changed while being read; run 'qa index' again once it is written")


def parse(source: str, data: bytes, sha256: str, *, isolated: Isolated | None = None, on_page: OnPage = None) -> Document | Skip:
    """A file's bytes to a Document in its format, or a Skip saying why not. ``isolated`` runs the
    PDF, DOCX, HTML and image parsers (one is started for this call when not given); ``on_page`` is
    told of each page OCR'd ("OCR: page 3/40 of scan.pdf")."""
    fmt = format_of(source)
    try:
        if fmt in ISOLATED or fmt in PAGED:
            with nullcontext(isolated) if isolated else Isolated() as worker:
                if fmt in PAGED:
                    got = read_paged(fmt, data, worker, source, on_page)
                else:
                    got = worker.call(ISOLATED[fmt], "extract", data)
            return Document(source, got.text, sha256, "", fmt, got.title, got.blocks, got.warnings, got.boxes, got.ocr_pages)
        text, encoding = decode(data)
        if fmt == "md":
            got = markdown.extract(text)
            return Document(source, text, sha256, encoding, fmt, got.title, got.blocks)
        return Document(source, text, sha256, encoding)
    except (Unreadable, ParseFailed) as e:
        return Skip(source, str(e), sha256)
    except RecursionError:
        return Skip(source, "structure nested too deeply to parse", sha256)


def read_document(
    path: Path, root: Path, *, max_bytes: int | None = None, isolated: Isolated | None = None, on_page: OnPage = None
) -> Document | Skip:
    got = read_bytes(path, root, max_bytes=max_bytes)
    return got if isinstance(got, Skip) else parse(*got, isolated=isolated, on_page=on_page)


def read_corpus(root: str | os.PathLike, *, max_bytes: int | None = None) -> Iterator[Document | Skip]:
    """Documents of a corpus folder in stable order, with a Skip for each file that cannot be used."""
    root = Path(root)
    if not root.is_dir():
        raise QAError(f"corpus folder not found: {root}")
    with Isolated() as isolated:
        for item in list_files(root):
            yield item if isinstance(item, Skip) else read_document(item, root, max_bytes=max_bytes, isolated=isolated)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
