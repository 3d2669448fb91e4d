"""Build or update an index from a corpus folder: read → split → embed → store.

An existing index is synced, not rebuilt: files are compared by sha256 with the manifest, unchanged
passages keep their ids and vectors, and only new or changed passages are embedded. Nothing changed →
nothing is written. ``rebuild=True`` embeds everything anew; ``dry_run=True`` says what would happen.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import faiss

from . import __version__
from .answer import calibrate
from .config import write_index_dir
from .embed import Embedder, model_id
from .errors import QAError
from .read import DEFAULT_MAX_BYTES, Document, Skip, list_files, read_corpus
from .search import Index, passage_ids
from .split import Passage, split_document
from .store import index_lock, read_manifest
from .vectors import choose_kind

__all__ = ["BuildReport", "Changes", "build_index", "index_corpus", "index_status"]


@dataclass(frozen=True)
class Changes:
    """Files added, changed and removed since the index was built, with their passage counts."""

    added: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return [
            f"  {kind:8} {source} ({count} passage{'s' * (count != 1)})"
            for kind, files in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            for source, count in files.items()
        ]


@dataclass(frozen=True)
class BuildReport:
    corpus: Path
    index_dir: Path
    files: int
    passages: int
    skipped: tuple[Skip, ...] = ()
    seconds: float = 0.0
    embedded: int = 0  # passages embedded by this run; the others kept their vectors
    changes: Changes = field(default_factory=Changes)
    written: bool = True
    full: bool = True  # a build from scratch, not a sync

    def summary(self) -> str:
        files = f"{self.files} file{'s' * (self.files != 1)}"
        if not self.written and not self.changes and not self.full and not self.embedded:
            line = f"Index is up to date: {files}, {self.passages} passages ({self.index_dir}; {self.seconds:.1f} s)"
        elif not self.written:
            line = f"Dry run, nothing written. {files} → {self.passages} passages; would embed {self.embedded}"
        else:
            how = "" if self.full else f"; embedded {self.embedded} new or changed, kept {self.passages - self.embedded}"
            line = f"Indexed {files} → {self.passages} passages in {self.seconds:.1f} s ({self.index_dir}){how}"
        if self.changes:
            line += "\n" + "\n".join(self.changes.lines())
        if self.skipped:
            line += f"\nskipped {len(self.skipped)}:\n" + "\n".join(f"  {s.source}: {s.reason}" for s in self.skipped)
        return line


def _read(corpus_dir: Path) -> tuple[list[Document], list[Skip]]:
    docs: list[Document] = []
    skipped: list[Skip] = []
    for item in read_corpus(corpus_dir):
        (skipped if isinstance(item, Skip) else docs).append(item)
    if not docs:
        why = f" ({len(skipped)} skipped: {skipped[0].source}: {skipped[0].reason}…)" if skipped else ""
        raise QAError(f"nothing to index in {corpus_dir}: no readable .txt or .md files{why}")
    return docs, skipped


def _split(docs: list[Document], embedder: Embedder) -> list[Passage]:
    return [
        p
        for doc in docs
        for p in split_document(doc, max_tokens=embedder.max_tokens, count_tokens=embedder.count_tokens)
    ]


def index_corpus(
    corpus_dir: str | Path,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
    previous: Index | None = None,
    kind: str = "auto",
) -> Index:
    """Read, split and embed every .txt/.md file under ``corpus_dir`` into an in-memory index (passages
    already in ``previous`` keep their vectors). Its manifest records the files, the skipped files and
    why, and the abstention calibration."""
    corpus_dir = Path(corpus_dir)
    return _index_docs(corpus_dir, *_read(corpus_dir), embedder or Embedder(), progress, previous, kind)


def _index_docs(corpus_dir, docs, skipped, embedder, progress, previous, kind) -> Index:
    index = Index.build(_split(docs, embedder), embedder, progress=progress, previous=previous, kind=kind)
    index.manifest = {
        "qa_version": __version__,
        "faiss_version": faiss.__version__,
        "corpus": str(corpus_dir.resolve()),
        "files": {d.source: d.sha256 for d in docs},
        "skipped": {s.source: {"reason": s.reason, "sha256": s.sha256} for s in skipped},
        "abstain": calibrate(index),
    }
    return index


def _changes(old: dict, docs: list[Document], before: list[Passage], after: list[Passage]) -> Changes:
    """Which files were added, changed or removed since ``old`` (a manifest), with passage counts from
    the passages ``before`` and ``after``."""
    files, now = old.get("files", {}), {d.source: d.sha256 for d in docs}
    was, will = Counter(p.source for p in before), Counter(p.source for p in after)
    return Changes(
        added={s: will[s] for s in now if s not in files},
        changed={s: will[s] for s in now if s in files and files[s] != now[s]},
        removed={s: was[s] for s in files if s not in now},
    )


def build_index(
    corpus_dir: str | Path,
    index_dir: str | Path | None = None,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
    rebuild: bool = False,
    dry_run: bool = False,
    kind: str = "auto",
) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir``: sync an existing index (embed only what changed) or build
    a new one. The index in place is replaced only once the new one is complete. ``kind`` is the vector
    store (auto: exact search for smaller corpora, an inverted file beyond; see :mod:`qa.vectors`)."""
    choose_kind(0, kind)  # a bad kind fails before any work
    began = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), write_index_dir(index_dir)
    embedder = embedder or Embedder()
    with index_lock(index_dir):
        old = None if rebuild else _previous_manifest(index_dir, embedder)
        docs, skipped = _read(corpus_dir)
        report = partial(BuildReport, corpus_dir, index_dir, len(docs), skipped=tuple(skipped), full=old is None)
        if old is not None and not _changes(old, docs, [], []):
            return report(old.get("passages", 0), seconds=time.perf_counter() - began, written=False)
        previous = Index.load(index_dir, embedder=embedder) if old is not None else None
        before = previous.passages if previous else []
        if dry_run:
            passages = _split(docs, embedder)
            known = set(previous.ids) if previous else set()
            fresh = sum(pid not in known for pid in passage_ids(passages))
            changes = _changes(old or {}, docs, before, passages)
            return report(len(passages), seconds=time.perf_counter() - began, embedded=fresh, changes=changes, written=False)
        index = _index_docs(corpus_dir, docs, skipped, embedder, progress, previous, kind)
        index.save(index_dir, index.manifest)
    changes = _changes(old, docs, before, index.passages) if old else Changes()
    return report(len(index), seconds=time.perf_counter() - began, embedded=index.embedded, changes=changes)


def _previous_manifest(index_dir: Path, embedder: Embedder) -> dict | None:
    """The manifest of the index to sync with, or None to build from scratch (no index, or one this qa
    cannot read). A different model is an error: its vectors cannot be mixed with the new ones."""
    try:
        manifest = read_manifest(index_dir)
    except QAError:  # none, or one of another format version: build anew
        return None
    precision = getattr(embedder, "precision", "fp32")
    if manifest.get("precision", "fp32") != precision:
        raise QAError(
            f"the index in {index_dir} was embedded at {manifest.get('precision', 'fp32')} precision, not "
            f"{precision}; rebuild it with 'qa index --rebuild --precision {precision}'"
        )
    if manifest.get("model") != embedder.model_id:
        raise QAError(
            f"the index in {index_dir} was built with model {manifest.get('model')!r}, not "
            f"{embedder.model_id!r}; rebuild it with 'qa index --rebuild' (or index with --model "
            f"{manifest.get('model')})"
        )
    return manifest


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
