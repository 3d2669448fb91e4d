"""The mechanics of a build: read → split → embed → store and BM25 → calibrate → tune → write, each stage
timed (:mod:`qa.timing`). ``qa.build_index`` (:mod:`qa.build`) is the one way to build; it runs these
with the tuning stage of :mod:`qa.retrieval.tune`, which this layer cannot import.

An existing index is synced, not rebuilt: files are compared by sha256 with the manifest, unchanged
passages keep their ids and vectors, and only new or changed passages are embedded. Nothing changed →
nothing is written. ``rebuild=True`` embeds everything anew; ``dry_run=True`` says what would happen.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Protocol, runtime_checkable

import faiss

from ..config import write_index_dir
from ..errors import QAError
from ..timing import BUILD_STAGES, recorded, stage
from ..passage import Passage
from ..readers import Skip, max_file_bytes
from ..version import __version__
from .access import Rules, file_readers, load_rules, summary
from .assemble import assemble_index
from .bm25 import PassageWords
from .calibrate import calibrate
from .collect import Collected, collect, format_counts, scan
from .embed import Embedder, TextEncoder, model_id
from .folder import damaged, index_lock, load_index, save_index, save_manifest
from .index import Index
from .progress import page_progress
from .manifest import NOTHING_INDEXED, DamagedIndex, Manifest, SkippedFile, Tuning, read_manifest
from .records import passage_ids
from .report import BuildReport, Changes
from .stores import choose_kind

__all__ = ["BuildReport", "Changes", "Preparing", "Tuner", "index_status", "memory_index", "passages_index", "sync_index"]

Tuner = Callable[[Index], Tuning]  # measures how hybrid ranking should mix on an index (qa.retrieval.tune)
RETUNE_SHARE = 0.2  # a sync that embeds more than this share of the passages anew measures the tuning again
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while tuning's preparation runs beside the embedding


@runtime_checkable
class Preparing(Protocol):
    """A :data:`Tuner` whose measuring that needs no vector can start before the vectors exist:
    ``prepare(passages, words)`` does that part and gives the Tuner that finishes it. A build runs it on a
    thread of its own while the passages are embedded (``qa.retrieval.tune.TUNE``)."""

    def __call__(self, index: Index) -> Tuning: ...

    def prepare(self, passages: list[Passage], words: PassageWords) -> Tuner: ...


def memory_index(
    corpus_dir: str | Path,
    *,
    tune: Tuner | None,
    embedder: TextEncoder | None = None,
    progress: bool = False,
    previous: Index | None = None,
    kind: str = "auto",
) -> Index:
    """Read, split and embed every document under ``corpus_dir`` into an in-memory index (passages
    already in ``previous`` keep their vectors). Its manifest records the files, the skipped files and
    why, the abstention calibration and, given a ``tune``, the hybrid's tuning."""
    embedder = embedder or Embedder()
    corpus_dir = Path(corpus_dir)
    cap, rules = max_file_bytes(), load_rules(corpus_dir)
    read = collect(corpus_dir, embedder, None, previous, scan(corpus_dir, cap, hashes=False), cap, page_progress() if progress else None,
                   readers=partial(rules.readers, corpus=corpus_dir) if rules else None)  # fmt: skip
    return _index(corpus_dir, read, embedder, progress, previous, kind, tune, rules=rules)[0]


def _index(corpus_dir: Path, read: Collected, embedder, progress, previous, kind, tune, kept=None, rules: Rules | None = None) -> tuple[Index, int]:
    """The index of what was read, calibrated for abstention and tuned (``kept``: the tuning of the
    index synced, when the sync changed too little to measure again), and how many passages were embedded."""
    described = Manifest(
        model=embedder.model_id, precision=embedder.precision, store=kind, passages=0, dimension=1,
        qa_version=__version__, faiss_version=faiss.__version__, corpus=str(corpus_dir.resolve()),
        files=read.files, skipped={s.source: SkippedFile(s.reason, s.sha256) for s in read.skipped},
        duplicates=read.duplicates, warnings=read.warnings, rules=rules,
        readers=file_readers(rules, [*read.files, *(s.source for s in read.skipped)], corpus_dir),
    )  # fmt: skip
    # a sync (which has a tuning) prepares none: whether it measures again is known once it has embedded
    (index, embedded), tuner = _assembled(
        read.all_passages(), embedder, tune if kept is None else None, progress=progress, previous=previous,
        kind=kind, texts=read.texts, manifest=described,
    )  # fmt: skip
    return _finish(index, embedded, tuner if kept is None else tune, kept), embedded


def passages_index(passages: list[Passage], *, tune: Tuner | None, embedder: TextEncoder | None = None, progress: bool = False) -> Index:
    """An in-memory index of ``passages`` (not read from files: a benchmark's), calibrated and tuned as a build does."""
    (index, embedded), tune = _assembled(passages, embedder or Embedder(), tune, progress=progress)
    return _finish(index, embedded, tune)


def _assembled(passages: list[Passage], embedder, tune: Tuner | None, **options) -> tuple[tuple[Index, int], Tuner | None]:
    """:func:`assemble_index` of ``passages`` (without BM25, whose title weight tuning chooses), and the
    Tuner to run on it: when ``tune`` is :class:`Preparing`, the passages' BM25 words and then its
    preparation are made on a thread of their own while the passages are embedded (the GIL is handed over
    more often meanwhile, or the embedding's threads would wait for it), and what it gives is the Tuner."""
    if not isinstance(tune, Preparing):
        return assemble_index(passages, embedder, title_weight=None, **options), tune
    previous = options.get("previous")
    made: list = []  # the passages' BM25 words, then the Tuner (or what went wrong)

    def prepare() -> None:
        try:
            made.append(PassageWords(passages, previous.words if previous is not None else None))
            made.append(tune.prepare(passages, made[0]))
        except BaseException as e:  # raised again where the build waits for it
            made.append(e)

    def waited(n: int):
        worker.join()
        if isinstance(made[-1], BaseException):
            raise made[-1]
        return made[n]

    # a daemon: a build stopped by Ctrl-C does not wait for it
    worker = threading.Thread(target=prepare, name="qa-tune-prepare", daemon=True)
    with _switching_often():
        worker.start()
        assembled = assemble_index(passages, embedder, title_weight=None, words=lambda: waited(0), **options)
    return assembled, waited(1)


@contextmanager
def _switching_often() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _finish(index: Index, embedded: int, tune: Tuner | None, kept: Tuning | None = None) -> Index:
    """The build stages after the index is assembled (without BM25, whose title weight tuning chooses):
    calibration for abstention, the hybrid's tuning, then BM25 from the words assembling tokenized."""
    with stage("calibrate"):
        index = index.with_calibration(calibrate(index))
    fits = kept is not None and kept.queries and embedded <= RETUNE_SHARE * len(index) and len(index) <= (1 + RETUNE_SHARE) * kept.passages
    tuning = kept  # kept when too little changed to measure again (or nothing to measure with)
    if tune is not None and not fits:
        with stage("tune"):
            tuning = tune(index)
    with stage("bm25"):  # made once, reading titles as the tuning chose (else once)
        index = index.with_tuning(tuning) if tuning is not None else index.with_title_weight(1)
    return index.built()


def _changes(old: Manifest, read: Collected, before: list[Passage], after: list[Passage]) -> Changes:
    """Which files were added, changed or removed since ``old``, with passage counts from the passages
    ``before`` and ``after``."""
    files, now = old.files, read.files
    was, will = Counter(p.source for p in before), Counter(p.source for p in after)
    return Changes(
        added={s: will[s] for s in now if s not in files},
        changed={s: will[s] for s in now if s in files and files[s] != now[s]},
        removed={s: was[s] for s in files if s not in now},
    )


def sync_index(
    corpus_dir: str | Path,
    index_dir: str | Path | None = None,
    *,
    tune: Tuner | None,
    embedder: TextEncoder | None = None,
    progress: bool = False,
    rebuild: bool = False,
    dry_run: bool = False,
    kind: str = "auto",
    max_file_mb: float | None = None,
) -> BuildReport:
    """Index ``corpus_dir`` into ``index_dir``: sync an existing index (embed only what changed) or build
    a new one. The index in place is replaced only once the new one is complete. ``kind`` is the vector
    store (auto: exact search for smaller corpora, an inverted file beyond; see :mod:`qa.indexing.stores`).
    Files larger than ``max_file_mb`` (default ``$QA_MAX_FILE_MB``, else 50) are skipped. ``tune``
    measures how hybrid ranking mixes its runs on this corpus (``qa.retrieval.tune.tune``; a sync keeps the
    last tuning unless it changed more than a fifth of the passages); None keeps the defaults. The
    report says how long each stage took (:data:`qa.timing.BUILD_STAGES`)."""
    with recorded() as spent:
        report = _sync(corpus_dir, index_dir, tune, embedder, progress, rebuild, dry_run, kind, max_file_mb)
    return dataclasses.replace(report, stages={name: round(spent[name], 3) for name in BUILD_STAGES if name in spent})


def _sync(corpus_dir, index_dir, tune, embedder, progress, rebuild, dry_run, kind, max_file_mb) -> BuildReport:
    choose_kind(0, kind)  # a bad kind fails before any work
    cap = max_file_bytes(max_file_mb)
    began = time.perf_counter()
    corpus_dir, index_dir = Path(corpus_dir), write_index_dir(index_dir)
    if not corpus_dir.is_dir():
        raise QAError(f"corpus folder not found: {corpus_dir}")
    embedder = embedder or Embedder()
    with index_lock(index_dir):
        old, repairs = (None, []) if rebuild else _previous_manifest(index_dir, embedder)
        # a malformed rules file stops the build, and so does one gone: never index with the wrong access
        rules = load_rules(corpus_dir, old.rules if old else None)
        if rules is None and old is not None and old.rules is not None:
            raise QAError(f"the index has access rules from {old.rules.file}, which is gone: restore it or point QA_ACCESS_FILE at it "
                          "('qa index --rebuild' indexes without rules: everyone reads everything)")  # fmt: skip
        scanned = scan(corpus_dir, cap, hashes=old is not None)
        # Nothing changed, and the data is intact (damage is repaired below, by reading and embedding again);
        # new access rules are written into the manifest alone, unless they part files indexed once as copies
        if old is not None and scanned.fingerprint() == old.fingerprint() and not damaged(index_dir, old):
            readers = file_readers(rules, old.fingerprint(), corpus_dir)
            changed = (rules, readers) != (old.rules, old.readers)
            if not changed or all(readers[c] == readers[p] for c, p in old.duplicates.items()):
                if changed and not dry_run:
                    save_manifest(old.replace(rules=rules, readers=readers), index_dir)
                return BuildReport(
                    corpus_dir, index_dir, len(old.files), old.passages,
                    tuple(Skip(k, v.reason, v.sha256) for k, v in old.skipped.items()), time.perf_counter() - began,
                    written=changed and not dry_run, full=False, formats=format_counts(old.files), duplicates=old.duplicates,
                    warnings=old.warnings, tuning=old.tuning, access=summary(rules, readers, old.readers), rules_only=changed,
                )  # fmt: skip
        previous = None
        if old is not None:
            try:
                previous = load_index(index_dir, embedder=embedder)
            except DamagedIndex as e:  # vectors, passages or BM25: nothing of it can be trusted
                old, repairs = None, [f"{e.what}: built anew"]
        if previous is not None:
            try:
                previous.document_texts()
            except DamagedIndex as e:  # only the extracted texts: their documents are read again
                previous = previous.without_texts()
                repairs = [f"{e.what}: the PDF, DOCX and HTML files read again"]
        before = previous.passages if previous else []
        read = collect(corpus_dir, embedder, old, previous, scanned, cap, page_progress() if progress else None,
                       readers=partial(rules.readers, corpus=corpus_dir) if rules else None)  # fmt: skip
        report = partial(
            BuildReport, corpus_dir, index_dir, len(read.files), skipped=tuple(read.skipped), full=old is None,
            formats=read.formats(), duplicates=read.duplicates, warnings=read.warnings, repairs=tuple(repairs),
            embedding=f"{embedder.model_id.rsplit('/', 1)[-1]} at {embedder.precision}",
        )  # fmt: skip
        if dry_run:
            passages = read.all_passages()
            known = set(previous.ids) if previous else set()
            fresh = sum(pid not in known for pid in passage_ids(passages))
            changes = _changes(old or NOTHING_INDEXED, read, before, passages)
            access = summary(rules, file_readers(rules, [*read.files, *(s.source for s in read.skipped)], corpus_dir))
            return report(len(passages), seconds=time.perf_counter() - began, embedded=fresh, changes=changes, written=False, access=access)
        index, embedded = _index(corpus_dir, read, embedder, progress, previous, kind, tune, old.tuning if old else None, rules)
        with stage("write"):
            save_index(index, index_dir)
        index.prune()  # a shared store drops what no index uses, now the new one is in place
    changes = _changes(old, read, before, index.passages) if old else Changes()
    seconds = time.perf_counter() - began
    access = summary(rules, index.manifest.readers)  # the readers the build recorded
    return report(len(index), seconds=seconds, embedded=embedded, changes=changes, tuning=index.manifest.tuning, access=access)


def _previous_manifest(index_dir: Path, embedder: TextEncoder) -> tuple[Manifest | None, list[str]]:
    """The manifest of the index to sync with, or None to build from scratch (no index, one this qa
    cannot read, or a damaged manifest), and what damage was found. A different model or precision is an
    error (its vectors cannot be mixed with the new ones) when asked for; otherwise the index's is kept."""
    try:
        manifest = read_manifest(index_dir)
    except DamagedIndex as e:
        return None, [f"{e.what}: built anew"]
    except QAError:  # none, or one of another format version: build anew
        return None, []
    embedder.adopt(manifest.precision)  # unless another was asked for, a sync keeps the index's precision
    manifest.check(index_dir, embedder.model_id, embedder.precision)
    return manifest, []


def index_status(corpus_dir: str | Path, index_dir: str | Path, model: str | None = None) -> str:
    """``"fresh"``, ``"missing"``, or ``"stale: <why>"`` for the index of ``corpus_dir``."""
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except QAError:
        return "missing"
    if manifest.mismatch(model_id(model)):
        return f"stale: built with {manifest.model}, model is now {model_id(model)}"
    bad = damaged(index_dir, manifest)
    if bad:
        return f"stale: {', '.join(bad)} damaged"
    current = scan(corpus_dir, max_file_bytes()).fingerprint() if corpus_dir.is_dir() else {}
    indexed = manifest.fingerprint()
    changed = sorted(k for k in indexed.keys() | current.keys() if indexed.get(k) != current.get(k))
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return f"stale: {', '.join(changed[:3])}{more} changed"
    rules = load_rules(corpus_dir, manifest.rules) if corpus_dir.is_dir() else manifest.rules
    return "fresh" if (rules, file_readers(rules, indexed, corpus_dir)) == (manifest.rules, manifest.readers) else "stale: the access rules changed"
