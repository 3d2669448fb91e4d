"""Collect a corpus for a build: which files there are and their hashes, then their passages -- parsed
anew only for files whose content changed, reused from the previous index otherwise. Files with the same
content are indexed once (the first path; the others become its passages' ``copies``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import QAError
from ..passage import Passage
from ..readers import Document, Skip, format_of, is_extracted, list_files, read_document
from ..readers.isolate import Isolated
from ..timing import stage
from .embed import TextEncoder
from .folder import sha256_file
from .index import Index
from .manifest import NOTHING_INDEXED, Manifest
from .split import split_document

__all__ = ["Collected", "Scan", "ScannedFile", "collect", "format_counts", "scan"]


@dataclass(frozen=True)
class ScannedFile:
    path: Path
    sha256: str | None  # None: larger than the size cap or unreadable (reading says why)


@dataclass(frozen=True)
class Scan:
    """The corpus's candidate files with their hashes, and the files skipped outright."""

    found: dict[str, ScannedFile]
    skipped: tuple[Skip, ...] = ()

    def fingerprint(self) -> dict[str, str | None]:
        """Each file's sha256, as :meth:`qa.indexing.manifest.Manifest.fingerprint` gives it for an index."""
        return {source: f.sha256 for source, f in self.found.items()} | {s.source: None for s in self.skipped}


@dataclass
class Collected:
    """What reading a corpus gave: passages of each indexed file, and what was not indexed and why."""

    passages: dict[str, list[Passage]]  # source → its passages (primary files only)
    files: dict[str, str]  # source → sha256 of every indexed file, duplicates included
    skipped: list[Skip]
    duplicates: dict[str, str]  # duplicate → primary
    warnings: dict[str, tuple[str, ...]]
    texts: dict[str, str] = field(default_factory=dict)  # extracted text of PDF/DOCX/HTML files

    def all_passages(self) -> list[Passage]:
        return [p for source in sorted(self.passages) for p in self.passages[source]]

    def formats(self) -> dict[str, int]:
        return format_counts(self.files)


def format_counts(sources) -> dict[str, int]:
    """How many of ``sources`` are of each format."""
    return dict(Counter(map(format_of, sources)))


def scan(corpus_dir: Path, cap: int, *, hashes: bool = True) -> Scan:
    """Each candidate file's path and sha256 (None: larger than ``cap`` bytes or unreadable, left to
    reading to say why; or not hashed, ``hashes=False``: there is no index to compare with, and reading
    hashes what it reads), and the files skipped outright (links outside the corpus, pipes…)."""
    found, skipped = {}, []
    for item in list_files(corpus_dir):
        if isinstance(item, Skip):
            skipped.append(item)
            continue
        source = item.relative_to(corpus_dir).as_posix()
        try:
            digest = None if not hashes or item.stat().st_size > cap else sha256_file(item)
        except OSError:
            digest = None
        found[source] = ScannedFile(item, digest)
    return Scan(found, tuple(skipped))


def collect(
    corpus_dir: Path, embedder: TextEncoder, old: Manifest | None, previous: Index | None, scanned: Scan, cap: int,
    on_page: Callable[[str], None] | None = None, readers: Callable[[str], tuple[str, ...]] | None = None,
) -> Collected:
    """Read and split the corpus. A file whose content is what the old index has is not parsed again:
    its passages (or the reason it was skipped) are reused -- unless it is a PDF, DOCX or HTML file
    whose extracted text the old index lost (a damaged ``texts.jsonl``). Files with the same content
    are indexed once, under the first path; the others are listed on its passages as copies -- when the
    access rules let the same groups read them (``readers``): a copy must not cite a file its reader may not
    see. ``on_page`` is told of each page OCR'd."""
    if not corpus_dir.is_dir():
        raise QAError(f"corpus folder not found: {corpus_dir}")
    skipped = list(scanned.skipped)
    old = old or NOTHING_INDEXED
    kept: dict[str, list[Passage]] = defaultdict(list)
    for p in previous.passages if previous is not None else ():
        kept[p.source].append(p)
    old_texts = previous.document_texts() if previous is not None else {}  # empty when lost: read those again
    docs: dict[str, tuple[str, list[Passage]]] = {}  # source → (sha256, passages)
    warnings: dict[str, tuple[str, ...]] = {}
    texts: dict[str, str] = {}
    with Isolated() as isolated:
        for source, file in scanned.found.items():
            path, digest = file.path, file.sha256
            unchanged = digest is not None and old.files.get(source) == digest
            lost = kept.get(source) and is_extracted(format_of(source)) and source not in old_texts
            if unchanged and not lost and (kept.get(source) or old.duplicates.get(source)):
                docs[source] = (digest, kept.get(source, []))
                if source in old_texts:
                    texts[source] = old_texts[source]
                if source in old.warnings:
                    warnings[source] = old.warnings[source]
                continue
            if digest is not None and source in old.skipped and old.skipped[source].sha256 == digest:
                skipped.append(Skip(source, old.skipped[source].reason, digest))
                continue
            with stage("read"):
                item = read_document(path, corpus_dir, max_bytes=cap, isolated=isolated, on_page=on_page)
            if isinstance(item, Skip):
                skipped.append(item)
                continue
            docs[source] = (item.sha256, _split(item, embedder))
            if item.extracted:
                texts[source] = item.text
            if item.warnings:
                warnings[source] = item.warnings
        skipped.sort(key=lambda s: s.source)
        if not docs:
            why = f" ({len(skipped)} skipped: {skipped[0].source}: {skipped[0].reason}…)" if skipped else ""
            raise QAError(f"nothing to index in {corpus_dir}: no readable documents{why}")

        def reread(source: str) -> Document | Skip:  # with the same size cap and parse worker
            return read_document(scanned.found[source].path, corpus_dir, max_bytes=cap, isolated=isolated, on_page=on_page)

        return _dedupe(docs, skipped, warnings, texts, reread, embedder, readers or (lambda _: ()))


def _dedupe(docs, skipped, warnings, texts, reread, embedder, readers) -> Collected:
    by_content: dict[tuple, list[str]] = defaultdict(list)
    for source in sorted(docs):
        by_content[docs[source][0], readers(source)].append(source)
    passages, duplicates = {}, {}
    for sources in by_content.values():
        primary, copies = sources[0], tuple(sources[1:])
        duplicates.update({c: primary for c in copies})
        own = docs[primary][1]
        if not own:  # the primary was a duplicate before, so nothing was kept for it: read it now
            item = reread(primary)
            own = _split(item, embedder) if isinstance(item, Document) else []
            if isinstance(item, Document) and item.extracted:
                texts[primary] = item.text
        passages[primary] = [dataclasses.replace(p, copies=copies) for p in own]
    files = {source: sha for source, (sha, _) in docs.items()}
    texts = {source: text for source, text in texts.items() if source in passages}
    return Collected(passages, files, skipped, duplicates, warnings, texts)


def _split(doc: Document, embedder: TextEncoder) -> list[Passage]:
    with stage("model"):  # the first file's split loads the model (its tokenizer counts the tokens)
        limit = embedder.max_tokens
    with stage("split"):
        return split_document(doc, max_tokens=limit, count_tokens=embedder.count_tokens)
