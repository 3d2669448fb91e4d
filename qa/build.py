"""Build or update an index from a corpus folder: read → split → embed → store.

An existing index is synced, not rebuilt: files are compared by sha256 with the manifest, unchanged
passages keep their ids and vectors, and only new or changed passages are embedded. Nothing changed →
nothing is written. ``rebuild=True`` embeds everything anew; ``dry_run=True`` says what would happen.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import faiss

from . import __version__
from .answer import calibrate
from .collect import Collected, collect, fingerprint, format_counts, indexed_fingerprint, scan
from .config import write_index_dir
from .embed import Embedder, model_id
from .errors import QAError
from .read import Skip, max_file_bytes
from .search import Index
from .split import Passage
from .store import DamagedIndex, damaged, index_lock, passage_ids, read_manifest
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
    formats: dict[str, int] = field(default_factory=dict)  # files indexed per format
    duplicates: dict[str, str] = field(default_factory=dict)  # file → the file with the same content indexed
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file → parts that could not be used
    repairs: tuple[str, ...] = ()  # damage found in the index synced, and what was done about it

    def to_dict(self) -> dict:
        """The report for machines (``qa index --json``)."""
        return {
            "corpus": str(self.corpus),
            "index_dir": str(self.index_dir),
            "files": self.files,
            "formats": self.formats,
            "passages": self.passages,
            "embedded": self.embedded,
            "written": self.written,
            "full": self.full,
            "seconds": round(self.seconds, 3),
            "changes": dataclasses.asdict(self.changes),
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "duplicates": self.duplicates,
            "warnings": {k: list(v) for k, v in self.warnings.items()},
            "repairs": list(self.repairs),
        }

    def summary(self) -> str:
        files = f"{self.files} file{'s' * (self.files != 1)}"
        if not self.written and not self.changes and not self.full and not self.embedded:
            line = f"Index is up to date: {files}, {self.passages} passages ({self.index_dir}; {self.seconds:.1f} s)"
        elif not self.written:
            line = f"Dry run, nothing written. {files} → {self.passages} passages; would embed {self.embedded}"
        else:
            how = "" if self.full else f"; embedded {self.embedded} new or changed, kept {self.passages - self.embedded}"
            line = f"Indexed {files} → {self.passages} passages in {self.seconds:.1f} s ({self.index_dir}){how}"
        if self.repairs:
            line += "\n" + "\n".join(f"repaired: {r}" for r in self.repairs)
        if self.formats:
            line += "\n  formats: " + ", ".join(f"{fmt} {n}" for fmt, n in sorted(self.formats.items()))
        if self.changes:
            line += "\n" + "\n".join(self.changes.lines())
        if self.duplicates:
            line += f"\nduplicates ({len(self.duplicates)}, indexed once):\n" + "\n".join(
                f"  {dup}: same content as {primary}" for dup, primary in self.duplicates.items()
            )
        if self.warnings:
            line += "\nwarnings:\n" + "\n".join(f"  {src}: {w}" for src, ws in self.warnings.items() for w in ws)
        if self.skipped:
            line += f"\nskipped {len(self.skipped)}:\n" + "\n".join(f"  {s.source}: {s.reason}" for s in self.skipped)
        return line


def index_corpus(
    corpus_dir: str | Path,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
    previous: Index | None = None,
    kind: str = "auto",
) -> Index:
    """Read, split and embed every document under ``corpus_dir`` into an in-memory index (passages
    already in ``previous`` keep their vectors). Its manifest records the files, the skipped files and
    why, and the abstention calibration."""
    embedder = embedder or Embedder()
    corpus_dir = Path(corpus_dir)
    cap = max_file_bytes()
    read = collect(corpus_dir, embedder, None, previous, scan(corpus_dir, cap), cap)
    return _index(corpus_dir, read, embedder, progress, previous, kind)


def _index(corpus_dir: Path, read: Collected, embedder, progress, previous, kind) -> Index:
    index = Index.build(read.all_passages(), embedder, progress=progress, previous=previous, kind=kind)
    index.texts = read.texts
    index.manifest = {
        "qa_version": __version__,
        "faiss_version": faiss.__version__,
        "corpus": str(corpus_dir.resolve()),
        "files": read.files,
        "skipped": {s.source: {"reason": s.reason, "sha256": s.sha256} for s in read.skipped},
        "duplicates": read.duplicates,
        "warnings": {k: list(v) for k, v in read.warnings.items()},
        "abstain": calibrate(index),
    }
    return index


def _changes(old: dict, read: Collected, before: list[Passage], after: list[Passage]) -> Changes:
    """Which files were added, changed or removed since ``old`` (a manifest), with passage counts from
    the passages ``before`` and ``after``."""
    files, now = old.get("files", {}), read.files
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
    max_file_mb: float | None = None,
) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir``: sync an existing index (embed only what changed) or build
    a new one. The index in place is replaced only once the new one is complete. ``kind`` is the vector
    store (auto: exact search for smaller corpora, an inverted file beyond; see :mod:`qa.vectors`).
    Files larger than ``max_file_mb`` (default ``$QA_MAX_FILE_MB``, else 50) are skipped."""
    kind = _store_kind(kind)
    choose_kind(0, kind)  # a bad kind fails before any work
    cap = max_file_bytes(max_file_mb)
    began = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), write_index_dir(index_dir)
    if not corpus_dir.is_dir():
        raise QAError(f"corpus folder not found: {corpus_dir}")
    embedder = embedder or Embedder()
    with index_lock(index_dir):
        old, repairs = (None, []) if rebuild else _previous_manifest(index_dir, embedder)
        scanned = scan(corpus_dir, cap)
        # Nothing changed, and the data is intact (damage is repaired below, by reading and embedding again)
        if old is not None and fingerprint(scanned) == indexed_fingerprint(old) and not damaged(index_dir, old):
            skipped = tuple(Skip(k, v.get("reason", ""), v.get("sha256")) for k, v in old.get("skipped", {}).items())
            files = old.get("files", {})
            return BuildReport(
                corpus_dir, index_dir, len(files), old.get("passages", 0), skipped, time.perf_counter() - began,
                written=False, full=False, formats=format_counts(files),
                duplicates=old.get("duplicates", {}), warnings={k: tuple(v) for k, v in old.get("warnings", {}).items()},
            )  # fmt: skip
        previous = None
        if old is not None:
            try:
                previous = Index.load(index_dir, embedder=embedder)
            except DamagedIndex as e:  # vectors, passages or BM25: nothing of it can be trusted
                old, repairs = None, [f"{e.what}: built anew"]
        if previous is not None:
            try:
                previous.document_texts()
            except DamagedIndex as e:  # only the extracted texts: their documents are read again
                previous.texts, repairs = {}, [f"{e.what}: the PDF, DOCX and HTML files read again"]
        before = previous.passages if previous else []
        read = collect(corpus_dir, embedder, old, previous, scanned, cap)
        report = partial(
            BuildReport, corpus_dir, index_dir, len(read.files), skipped=tuple(read.skipped), full=old is None,
            formats=read.formats(), duplicates=read.duplicates, warnings=read.warnings, repairs=tuple(repairs),
        )  # fmt: skip
        if dry_run:
            passages = read.all_passages()
            known = set(previous.ids) if previous else set()
            fresh = sum(pid not in known for pid in passage_ids(passages))
            changes = _changes(old or {}, read, before, passages)
            return report(len(passages), seconds=time.perf_counter() - began, embedded=fresh, changes=changes, written=False)
        index = _index(corpus_dir, read, embedder, progress, previous, kind)
        index.save(index_dir, index.manifest)
        if hasattr(index.store, "prune"):  # a shared store: drop what no index uses now the new one is in place
            index.store.prune()
    changes = _changes(old, read, before, index.passages) if old else Changes()
    return report(len(index), seconds=time.perf_counter() - began, embedded=index.embedded, changes=changes)


def _store_kind(kind: str) -> str:
    """``$QA_STORE=milvus`` puts the vectors in Milvus unless an explicit kind says otherwise."""
    store = os.environ.get("QA_STORE", "faiss")
    if store not in ("faiss", "milvus"):
        raise QAError(f"QA_STORE must be faiss or milvus, got {store!r}")
    return "milvus" if kind == "auto" and store == "milvus" else kind


def _previous_manifest(index_dir: Path, embedder: Embedder) -> tuple[dict | None, list[str]]:
    """The manifest of the index to sync with, or None to build from scratch (no index, one this qa
    cannot read, or a damaged manifest), and what damage was found. A different model is an error: its
    vectors cannot be mixed with the new ones."""
    try:
        manifest = read_manifest(index_dir)
    except DamagedIndex as e:
        return None, [f"{e.what}: built anew"]
    except QAError:  # none, or one of another format version: build anew
        return None, []
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
    return manifest, []


def index_status(corpus_dir: str | Path, index_dir: str | Path, model: str | None = None) -> str:
    """``"fresh"``, ``"missing"``, or ``"stale: <why>"`` for the index of ``corpus_dir``."""
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except QAError:
        return "missing"
    if manifest.get("model") != model_id(model):
        return f"stale: built with {manifest.get('model')}, model is now {model_id(model)}"
    bad = damaged(index_dir, manifest)
    if bad:
        return f"stale: {', '.join(bad)} damaged"
    current, indexed = fingerprint(scan(corpus_dir, max_file_bytes())) if corpus_dir.is_dir() else {}, indexed_fingerprint(manifest)
    changed = sorted(k for k in indexed.keys() | current.keys() if indexed.get(k) != current.get(k))
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return f"stale: {', '.join(changed[:3])}{more} changed"
    return "fresh"
