"""Build an index from a corpus folder: read → split → embed → store, and tell whether one is stale."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import faiss

from . import __version__
from .answer import calibrate
from .config import write_index_dir
from .embed import Embedder, model_id
from .errors import QAError
from .read import DEFAULT_MAX_BYTES, Document, Skip, list_files, read_corpus
from .split import split_document
from .search import Index
from .store import index_lock, read_manifest

__all__ = ["BuildReport", "build_index", "index_corpus", "index_status"]


@dataclass(frozen=True)
class BuildReport:
    corpus: Path
    index_dir: Path
    files: int
    passages: int
    skipped: tuple[Skip, ...]
    seconds: float

    def summary(self) -> str:
        line = (
            f"Indexed {self.files} file{'s' * (self.files != 1)} → {self.passages} passages "
            f"in {self.seconds:.1f} s ({self.index_dir})"
        )
        if self.skipped:
            line += f"; skipped {len(self.skipped)}:\n" + "\n".join(
                f"  {s.source}: {s.reason}" for s in self.skipped
            )
        return line


def index_corpus(corpus_dir: str | Path, *, embedder: Embedder | None = None, progress: bool = False) -> Index:
    """Read, split and embed every .txt/.md file under ``corpus_dir`` into an in-memory index. Its
    manifest records the files, the skipped files and why, and the abstention calibration."""
    corpus_dir = Path(corpus_dir)
    embedder = embedder or Embedder()
    docs: list[Document] = []
    skipped: list[Skip] = []
    for item in read_corpus(corpus_dir):
        (skipped if isinstance(item, Skip) else docs).append(item)
    if not docs:
        why = f" ({len(skipped)} skipped: {skipped[0].source}: {skipped[0].reason}…)" if skipped else ""
        raise QAError(f"nothing to index in {corpus_dir}: no readable .txt or .md files{why}")
    passages = [
        p
        for doc in docs
        for p in split_document(doc, max_tokens=embedder.max_tokens, count_tokens=embedder.count_tokens)
    ]
    index = Index.build(passages, embedder, progress=progress)
    index.manifest = {
        "qa_version": __version__,
        "faiss_version": faiss.__version__,
        "corpus": str(corpus_dir.resolve()),
        "files": {d.source: d.sha256 for d in docs},
        "skipped": {s.source: {"reason": s.reason, "sha256": s.sha256} for s in skipped},
        "abstain": calibrate(index),
    }
    return index


def build_index(
    corpus_dir: str | Path,
    index_dir: str | Path | None = None,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir``, replacing what was there only once the new index is
    complete."""
    began = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), write_index_dir(index_dir)
    with index_lock(index_dir):
        index = index_corpus(corpus_dir, embedder=embedder, progress=progress)
        manifest = index.save(index_dir, index.manifest)
    skipped = tuple(Skip(k, v["reason"], v["sha256"]) for k, v in manifest["skipped"].items())
    return BuildReport(
        corpus_dir, index_dir, len(manifest["files"]), len(index), skipped, time.perf_counter() - began
    )


def index_status(corpus_dir: str | Path, index_dir: str | Path, model: str | None = None) -> str:
    """``"fresh"``, ``"missing"``, or ``"stale: <why>"`` for the index of ``corpus_dir``."""
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except QAError:
        return "missing"
    if manifest.get("model") != model_id(model):
        return f"stale: built with {manifest.get('model')}, model is now {model_id(model)}"
    indexed = dict(manifest.get("files", {}))
    indexed.update({k: v.get("sha256") for k, v in manifest.get("skipped", {}).items()})
    current = {}
    for item in list_files(corpus_dir) if corpus_dir.is_dir() else ():
        if isinstance(item, Skip):
            current[item.source] = None
        else:
            source = item.relative_to(corpus_dir).as_posix()
            try:  # files skipped as too large were not hashed either
                too_large = item.stat().st_size > DEFAULT_MAX_BYTES
                current[source] = None if too_large else hashlib.sha256(item.read_bytes()).hexdigest()
            except OSError:
                current[source] = None
    changed = sorted(k for k in indexed.keys() | current.keys() if indexed.get(k) != current.get(k))
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return f"stale: {', '.join(changed[:3])}{more} changed"
    return "fresh"
