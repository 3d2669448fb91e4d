"""The index folder on disk: save an :class:`~qa.indexing.index.Index` there, load it back.

Layout::

    index/manifest.json          what the index is and which data folder is current (qa.indexing.manifest)
    index/data-<id>/...          passages.jsonl, texts.jsonl, bm25/, and the vector store's own files

Writing is atomic. A build writes a new data folder under a temporary name, fsyncs it, renames it into
place, then replaces ``manifest.json`` in one ``os.replace``. Until that last step readers see the old
manifest and the old data folder, which is still there; a killed build leaves only a temporary folder
behind, removed by the next build.

Damage is found, not served: the manifest records the sha256 of every data file, and a file is checked
before it is read (``texts.jsonl`` when it is first needed). Any mismatch is a :class:`DamagedIndex`
error, one line naming the file, that says to rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..config import find_index_dir
from ..errors import QAError
from .bm25 import BM25
from .embed import Embedder, model_id
from .index import Index
from .manifest import MANIFEST, DamagedIndex, Manifest, read_manifest
from .records import read_passages, read_texts
from .stores import open_store

__all__ = ["damaged", "index_lock", "load_index", "save_index", "sha256_file", "verify"]

LAZY = frozenset({"texts.jsonl"})  # checked when first read, not when the index is loaded


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


def save_index(index: Index, index_dir: Path) -> Manifest:
    """Atomically replace the index in ``index_dir`` with ``index`` (call it holding :func:`index_lock`).
    Returns the manifest written."""
    data = f"data-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    tmp = index_dir / f".tmp-{data}"
    tmp.mkdir(parents=True)
    try:
        index.write(tmp)
        checksums = {}
        for path in sorted(tmp.rglob("*"), reverse=True):  # files before the folders holding them
            _fsync(path)
            if path.is_file():
                checksums[path.relative_to(tmp).as_posix()] = sha256_file(path)
        _fsync(tmp)
        os.rename(tmp, index_dir / data)
        _fsync(index_dir)
        manifest = index.manifest.replace(
            data=data,
            checksums=dict(sorted(checksums.items())),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        save_manifest(manifest, index_dir)  # the commit point
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_stale(index_dir, keep=data)
    return manifest


def save_manifest(manifest: Manifest, index_dir: Path) -> None:
    """Atomically replace ``manifest.json`` (alone, when only the access rules changed: the data stays)."""
    staged = index_dir / f".{MANIFEST}.tmp"
    staged.write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _fsync(staged)
    os.replace(staged, index_dir / MANIFEST)
    _fsync(index_dir)


def load_index(
    index_dir: str | os.PathLike | None = None, *, model: str | None = None, embedder: Embedder | None = None
) -> Index:
    """The index in ``index_dir`` (see :mod:`qa.config` for the default), every data file verified first
    (``texts.jsonl`` when first needed). Questions must be embedded with the model the index was built
    with: asking for another one (``model``, ``$QA_MODEL`` or an ``embedder`` of another model) is an
    error that says to re-index. A build may swap in a new index between reading the manifest and the
    data: then it is read once more."""
    index_dir = find_index_dir(index_dir)
    wanted = embedder.model_id if embedder is not None else model_id(model) if model or os.environ.get("QA_MODEL") else None
    for attempt in range(2):
        manifest = read_manifest(index_dir)
        manifest.check(index_dir, wanted)
        try:
            for name in manifest.checksums:
                if name not in LAZY:
                    verify(index_dir, manifest, name)
            folder = index_dir / manifest.data
            passages, ids = read_passages(folder / "passages.jsonl")
            store = open_store(manifest.store, folder, ids)
            bm25 = BM25.load(folder / "bm25", len(store))
            break
        except FileNotFoundError as e:
            if attempt:
                missing = Path(e.filename).name if e.filename else "a data file"
                raise DamagedIndex(index_dir, f"{missing} is missing") from None
        except QAError:
            raise
        except Exception as e:  # faiss, numpy, json and bm25s each fail in their own way on bad files
            raise DamagedIndex(index_dir, f"its data cannot be read ({type(e).__name__})") from None
    if not (len(passages) == len(store) == manifest.passages) or store.dimension != manifest.dimension:
        raise QAError(
            f"index in {index_dir} is inconsistent ({len(passages)} passages, {len(store)} {store.dimension}-d "
            f"vectors; manifest says {manifest.passages} {manifest.dimension}-d); rebuild it with 'qa index'"
        )
    embedder = embedder or Embedder(manifest.model, precision=manifest.precision)
    return Index(passages, store, bm25, embedder, manifest, ids, texts=lambda: _read_texts(index_dir, manifest))


def _read_texts(index_dir: Path, manifest: Manifest) -> dict[str, str]:
    try:
        return read_texts(verify(index_dir, manifest, "texts.jsonl"))
    except FileNotFoundError:  # the index was replaced since it was loaded: reload it
        return {}
    except DamagedIndex:
        raise
    except Exception as e:  # a file that matches its checksum but not its format: written by another qa
        raise DamagedIndex(index_dir, f"texts.jsonl cannot be read ({type(e).__name__})") from None


def verify(index_dir: Path, manifest: Manifest, name: str) -> Path:
    """The path of data file ``name`` of the index, once its content matches the manifest's checksum."""
    path = index_dir / manifest.data / name
    expected = manifest.checksums.get(name)
    if expected is None:
        raise DamagedIndex(index_dir, f"{manifest.data}/{name} has no checksum in {MANIFEST}")
    if sha256_file(path) != expected:
        raise DamagedIndex(index_dir, f"{manifest.data}/{name} does not match its checksum")
    return path


def damaged(index_dir: Path, manifest: Manifest) -> list[str]:
    """The data files of the index that are missing or do not match their checksums."""
    bad = []
    for name in manifest.checksums:
        try:
            verify(index_dir, manifest, name)
        except (DamagedIndex, OSError):
            bad.append(name)
    return bad


def _remove_stale(index_dir: Path, keep: str) -> None:
    """Data folders no manifest points to any more, and leftovers of killed builds."""
    for child in index_dir.iterdir():
        if child.is_dir() and child.name != keep and child.name.startswith(("data-", ".tmp-data-")):
            shutil.rmtree(child, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
