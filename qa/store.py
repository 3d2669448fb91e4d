"""The index folder on disk: vectors, passages with provenance, and ``manifest.json``.

Layout::

    index/manifest.json          what the index is and which data folder is current
    index/data-<id>/...          the data files (see qa.search.Index.save)

Writing is atomic. A build writes a new data folder under a temporary name, fsyncs it, renames it into
place, then replaces ``manifest.json`` in one ``os.replace``. Until that last step readers see the old
manifest and the old data folder, which is still there; a killed build leaves only a temporary folder
behind, removed by the next build. Passages are JSON, never pickle: an index is data, not code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from .errors import QAError
from .split import Passage

T = TypeVar("T")

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "index_lock",
    "open_index",
    "passage_ids",
    "read_manifest",
    "read_passages",
    "read_texts",
    "write_index",
    "write_passages",
    "write_texts",
]

FORMAT_VERSION = 3
MANIFEST = "manifest.json"


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Only one build at a time may write an index folder."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise QAError(f"another 'qa index' is writing {index_dir}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_index(index_dir: Path, manifest: dict, write_data: Callable[[Path], None]) -> dict:
    """Atomically replace the index in ``index_dir`` (call it holding :func:`index_lock`).
    ``write_data(folder)`` writes the data files into an empty folder. Returns the manifest written."""
    data = f"data-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    tmp = index_dir / f".tmp-{data}"
    tmp.mkdir(parents=True)
    try:
        write_data(tmp)
        for path in sorted(tmp.rglob("*"), reverse=True):  # files before the folders holding them
            _fsync(path)
        _fsync(tmp)
        os.rename(tmp, index_dir / data)
        _fsync(index_dir)
        manifest = {
            "format_version": FORMAT_VERSION,
            **manifest,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": data,
        }
        staged = index_dir / f".{MANIFEST}.tmp"
        staged.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _fsync(staged)
        os.replace(staged, index_dir / MANIFEST)  # the commit point
        _fsync(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale(index_dir, keep=data)
    return manifest


def passage_ids(passages: list[Passage]) -> list[str]:
    """Stable ids: a hash of the file and of what is embedded (title and text), so a passage keeps its id
    (and its vector) while its file changes around it; "#2", "#3"… tell repeats in one file apart."""
    seen: dict[str, int] = {}
    ids = []
    for p in passages:
        digest = hashlib.sha256(f"{p.source}\n{p.search_text}".encode()).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(digest if seen[digest] == 1 else f"{digest}#{seen[digest]}")
    return ids


def write_passages(path: Path, passages: list[Passage], ids: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for passage_id, p in zip(ids, passages, strict=True):
            out.write(json.dumps({"id": passage_id, **dataclasses.asdict(p)}, ensure_ascii=False) + "\n")


def read_passages(path: Path) -> tuple[list[Passage], list[str]]:
    passages, ids = [], []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            ids.append(record.pop("id"))
            for name in ("section", "copies"):  # JSON has lists; a Passage has tuples
                if name in record:
                    record[name] = tuple(record[name])
            passages.append(Passage(**record))
    return passages, ids


def write_texts(path: Path, texts: dict[str, str]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for source, text in sorted(texts.items()):
            out.write(json.dumps({"source": source, "text": text}, ensure_ascii=False) + "\n")


def read_texts(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as lines:
        return {r["source"]: r["text"] for r in map(json.loads, lines)}


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise QAError(f"no index in {index_dir}: build one with 'qa index CORPUS_DIR --index-dir {index_dir}'")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QAError(f"cannot read {path} ({e}); rebuild the index with 'qa index'") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise QAError(
            f"index in {index_dir} has format version {version!r}, this qa reads {FORMAT_VERSION}; "
            "rebuild it with 'qa index'"
        )
    return manifest


def open_index(index_dir: Path, read_data: Callable[[dict, Path], T]) -> tuple[dict, T]:
    """The manifest and ``read_data(manifest, data_folder)`` of the current index. A build may swap in
    a new index between reading the manifest and the data: then read once more. Damage of any kind
    becomes a QAError that says to rebuild."""
    for attempt in range(2):
        manifest = read_manifest(index_dir)
        try:
            return manifest, read_data(manifest, index_dir / str(manifest.get("data", "")))
        except FileNotFoundError:
            if attempt:
                raise QAError(f"index in {index_dir} is incomplete; rebuild it with 'qa index'") from None
        except QAError:
            raise
        except Exception as e:  # faiss, numpy, json and bm25s each fail in their own way on bad files
            raise QAError(f"index in {index_dir} is damaged ({e}); rebuild it with 'qa index'") from None
    raise AssertionError("unreachable")


def _remove_stale(index_dir: Path, keep: str) -> None:
    """Data folders no manifest points to any more, and leftovers of killed builds."""
    for child in index_dir.iterdir():
        if child.is_dir() and child.name != keep and child.name.startswith(("data-", ".tmp-data-")):
            shutil.rmtree(child, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
