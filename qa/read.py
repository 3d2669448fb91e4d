"""Read a corpus folder: find its text files in a stable order, decode them, and say why any were skipped.

A document's ``text`` is what every offset in qa refers to: the decoded file with a byte-order mark
removed and line endings normalised to ``\\n`` -- the same string ``open(path, encoding=enc).read()``
returns with Python's default universal newlines.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from .errors import QAError

__all__ = ["SUFFIXES", "Document", "Skip", "decode", "list_files", "read_corpus", "read_document"]

SUFFIXES = frozenset({".txt", ".md"})
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Control characters other than tab/newline/carriage return/form feed hardly occur in real text.
_CONTROL = frozenset(chr(c) for c in range(32)) - set("\t\n\r\f")
_MAX_CONTROL_SHARE = 0.01


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus root, with forward slashes
    text: str
    sha256: str  # of the file's bytes
    encoding: str


@dataclass(frozen=True)
class Skip:
    source: str
    reason: str
    sha256: str | None = None


class Unreadable(Exception):
    """Raised by :func:`decode` with the reason a file is not indexable text."""


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
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                found.append(Skip(_relative(path, root), "symlink points outside the corpus folder"))
            elif path.exists() and not path.is_file():
                found.append(Skip(_relative(path, root), "not a regular file"))
            else:
                found.append(path)
    return sorted(found, key=lambda item: item.source if isinstance(item, Skip) else _relative(item, root))


def decode(data: bytes) -> tuple[str, str]:
    """Bytes to ``(text, encoding)``; raises :class:`Unreadable` for empty or binary content."""
    if not data.strip():
        raise Unreadable("empty file")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        match = charset_normalizer.from_bytes(data).best()
        if match is None:
            raise Unreadable("not text (no character encoding fits; binary?)") from None
        text, encoding = str(match), match.encoding
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text or sum(ch in _CONTROL for ch in text) > _MAX_CONTROL_SHARE * len(text):
        raise Unreadable("not text (binary content)")
    if not text.strip():
        raise Unreadable("empty file")
    return text, encoding


def read_document(path: Path, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document | Skip:
    source = _relative(path, root)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Skip(source, f"too large ({size:,} bytes > limit {max_bytes:,})")
        data = path.read_bytes()
    except OSError as e:
        return Skip(source, f"cannot read ({e.strerror or e})")
    digest = hashlib.sha256(data).hexdigest()
    try:
        text, encoding = decode(data)
    except Unreadable as e:
        return Skip(source, str(e), digest)
    return Document(source, text, digest, encoding)


def read_corpus(root: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document | Skip]:
    """Documents of a corpus folder in stable order, with a Skip for each file that cannot be used."""
    root = Path(root)
    if not root.is_dir():
        raise QAError(f"corpus folder not found: {root}")
    for item in list_files(root):
        yield item if isinstance(item, Skip) else read_document(item, root, max_bytes=max_bytes)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
