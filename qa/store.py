"""The index folder on disk: vectors, passages with provenance, and ``manifest.json``.

Layout::

    index/manifest.json          what the index is and which data folder is current
    index/data-<id>/vectors.faiss
    index/data-<id>/passages.jsonl

Writing is atomic. A build writes a new data folder under a temporary name, fsyncs it, renames it into
place, then replaces ``manifest.json`` in one ``os.replace``. Until that last step readers see the old
manifest and the old data folder, which is still there; a killed build leaves only a temporary folder
behind, removed by the next build. Passages are JSON, never pickle: an index is data, not code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import faiss

from .errors import QAError
from .split import Passage
from .vectors import FaissStore

__all__ = ["FORMAT_VERSION", "MANIFEST", "index_lock", "read_index", "read_manifest", "write_index"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_VECTORS = "vectors.faiss"
_PASSAGES = "passages.jsonl"


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


def write_index(index_dir: Path, passages: list[Passage], store: FaissStore, manifest: dict) -> dict:
    """Atomically replace the index in ``index_dir`` (call it holding :func:`index_lock`).
    Returns the manifest as written."""
    if len(passages) != len(store):
        raise ValueError(f"{len(passages)} passages but {len(store)} vectors")
    data = f"data-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    tmp = index_dir / f".tmp-{data}"
    tmp.mkdir(parents=True)
    try:
        store.save(tmp / _VECTORS)
        with open(tmp / _PASSAGES, "w", encoding="utf-8") as out:
            for p in passages:
                out.write(json.dumps(dataclasses.asdict(p), ensure_ascii=False) + "\n")
        for name in (_VECTORS, _PASSAGES):
            _fsync(tmp / name)
        _fsync(tmp)
        os.rename(tmp, index_dir / data)
        _fsync(index_dir)
        manifest = {
            "format_version": FORMAT_VERSION,
            **manifest,
            "dimension": store.dimension,
            "passages": len(passages),
            "faiss_version": faiss.__version__,
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


def read_index(index_dir: Path) -> tuple[dict, list[Passage], FaissStore]:
    """The manifest, passages and vectors of the current index; a clear QAError if anything is off."""
    for attempt in range(2):
        manifest = read_manifest(index_dir)
        data = index_dir / str(manifest.get("data", ""))
        try:
            store = FaissStore.load(data / _VECTORS)
            with open(data / _PASSAGES, encoding="utf-8") as lines:
                passages = [Passage(**json.loads(line)) for line in lines]
            break
        except FileNotFoundError:
            if attempt:  # a build may have swapped the index between our two reads: try once more
                raise QAError(f"index in {index_dir} is incomplete; rebuild it with 'qa index'") from None
        except (RuntimeError, ValueError, TypeError) as e:
            raise QAError(f"index in {index_dir} is damaged ({e}); rebuild it with 'qa index'") from None
    if not (len(passages) == len(store) == manifest.get("passages")):
        raise QAError(
            f"index in {index_dir} is inconsistent ({len(passages)} passages, {len(store)} vectors, "
            f"manifest says {manifest.get('passages')}); rebuild it with 'qa index'"
        )
    if store.dimension != manifest.get("dimension"):
        raise QAError(
            f"index in {index_dir} holds {store.dimension}-d vectors but its manifest says "
            f"{manifest.get('dimension')}; rebuild it with 'qa index'"
        )
    return manifest, passages, store


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
