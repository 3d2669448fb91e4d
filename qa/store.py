"""The index folder on disk: vectors, passages with provenance, and ``manifest.json``.

Layout::

    index/manifest.json          what the index is and which data folder is current
    index/data-<id>/...          the data files (see qa.search.Index.save)

Writing is atomic. A build writes a new data folder under a temporary name, fsyncs it, renames it into
place, then replaces ``manifest.json`` in one ``os.replace``. Until that last step readers see the old
manifest and the old data folder, which is still there; a killed build leaves only a temporary folder
behind, removed by the next build. Passages are JSON, never pickle: an index is data, not code.

Damage is found, not served: the manifest records the sha256 of every data file, and a file is checked
before it is read (``texts.jsonl`` when it is first needed); the manifest's own fields are checked by
type. Any mismatch is a :class:`DamagedIndex` error, one line naming the file, that says to rebuild.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
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
    "DamagedIndex",
    "damaged",
    "index_lock",
    "open_index",
    "passage_ids",
    "read_manifest",
    "read_passages",
    "read_texts",
    "sha256_file",
    "verify",
    "write_index",
    "write_passages",
    "write_texts",
]

FORMAT_VERSION = 4  # 4: checksums of the data files
MANIFEST = "manifest.json"
LAZY = frozenset({"texts.jsonl"})  # checked when first read, not when the index is loaded
_DATA_NAME = re.compile(r"data-[A-Za-z0-9-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DamagedIndex(QAError):
    """An index file does not hold what the build wrote (or a manifest field is malformed)."""

    def __init__(self, index_dir: Path, what: str) -> None:
        super().__init__(f"index in {index_dir} is damaged: {what}; rebuild it with 'qa index --rebuild'")
        self.what = what


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
        checksums = {}
        for path in sorted(tmp.rglob("*"), reverse=True):  # files before the folders holding them
            _fsync(path)
            if path.is_file():
                checksums[path.relative_to(tmp).as_posix()] = sha256_file(path)
        _fsync(tmp)
        os.rename(tmp, index_dir / data)
        _fsync(index_dir)
        manifest = {
            "format_version": FORMAT_VERSION,
            **manifest,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": data,
            "checksums": dict(sorted(checksums.items())),
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


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v  # NaN is not a threshold


def _str_map(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x) for k, x in v.items())


# What the rest of qa reads from a manifest, and the shape it must have (optional fields: may be absent).
_FIELDS: dict[str, tuple[Callable[[object], bool], bool]] = {
    "data": (lambda v: isinstance(v, str) and _DATA_NAME.fullmatch(v) is not None, True),
    "checksums": (_str_map(lambda v: isinstance(v, str) and _SHA256.fullmatch(v) is not None), True),
    "model": (lambda v: isinstance(v, str) and v != "", True),
    "precision": (lambda v: v in ("fp32", "int8"), True),
    "store": (lambda v: isinstance(v, str), True),
    "passages": (_is_count, True),
    "dimension": (lambda v: _is_count(v) and v > 0, True),
    "abstain": (lambda v: isinstance(v, dict) and _is_number(v.get("threshold")) and _is_number(v.get("probe_sd", 0)), True),
    "files": (_str_map(lambda v: isinstance(v, str)), True),
    "skipped": (_str_map(lambda v: isinstance(v, dict) and isinstance(v.get("reason", ""), str)), False),
    "duplicates": (_str_map(lambda v: isinstance(v, str)), False),
    "warnings": (_str_map(lambda v: isinstance(v, list) and all(isinstance(w, str) for w in v)), False),
    "corpus": (lambda v: isinstance(v, str), False),
    "created": (lambda v: isinstance(v, str), False),
}


def read_manifest(index_dir: Path) -> dict:
    """The manifest of the index in ``index_dir``, its fields checked (QAError when missing, of another
    format version, or damaged)."""
    path = index_dir / MANIFEST
    if not path.is_file():
        raise QAError(f"no index in {index_dir}: build one with 'qa index CORPUS_DIR --index-dir {index_dir}'")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise DamagedIndex(index_dir, f"{MANIFEST} cannot be read ({type(e).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise QAError(
            f"index in {index_dir} has format version {version!r}, this qa reads {FORMAT_VERSION}; "
            "rebuild it with 'qa index --rebuild'"
        )
    for name, (valid, required) in _FIELDS.items():
        if (name in manifest or required) and not valid(manifest.get(name)):
            raise DamagedIndex(index_dir, f"{MANIFEST} field {name!r} is {'malformed' if name in manifest else 'missing'}")
    return manifest


def verify(index_dir: Path, manifest: dict, name: str) -> Path:
    """The path of data file ``name`` of the index, once its content matches the manifest's checksum."""
    path = index_dir / manifest["data"] / name
    expected = manifest["checksums"].get(name)
    if expected is None:
        raise DamagedIndex(index_dir, f"{manifest['data']}/{name} has no checksum in {MANIFEST}")
    if sha256_file(path) != expected:
        raise DamagedIndex(index_dir, f"{manifest['data']}/{name} does not match its checksum")
    return path


def damaged(index_dir: Path, manifest: dict) -> list[str]:
    """The data files of the index that are missing or do not match their checksums."""
    bad = []
    for name in manifest["checksums"]:
        try:
            verify(index_dir, manifest, name)
        except (DamagedIndex, OSError):
            bad.append(name)
    return bad


def open_index(index_dir: Path, read_data: Callable[[dict, Path], T]) -> tuple[dict, T]:
    """The manifest and ``read_data(manifest, data_folder)`` of the current index, every data file
    verified first (but :data:`LAZY` ones). A build may swap in a new index between reading the manifest
    and the data: then read once more. Damage of any kind becomes a :class:`DamagedIndex`."""
    for attempt in range(2):
        manifest = read_manifest(index_dir)
        try:
            for name in manifest["checksums"]:
                if name not in LAZY:
                    verify(index_dir, manifest, name)
            return manifest, read_data(manifest, index_dir / manifest["data"])
        except FileNotFoundError as e:
            if attempt:
                missing = Path(e.filename).name if e.filename else "a data file"
                raise DamagedIndex(index_dir, f"{missing} is missing") from None
        except QAError:
            raise
        except Exception as e:  # faiss, numpy, json and bm25s each fail in their own way on bad files
            raise DamagedIndex(index_dir, f"its data cannot be read ({type(e).__name__})") from None
    raise AssertionError("unreachable")


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
