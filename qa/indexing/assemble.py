"""Assemble an :class:`~qa.indexing.index.Index` from passages: reuse the vectors a previous index has
for unchanged passages, embed the others in chunks (memory stays bounded for large corpora), fill the
vector store, and build BM25."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..passage import Passage
from ..timing import stage
from .embed import TextEncoder
from .progress import progress_bar
from .bm25 import PassageWords
from .index import Index
from .manifest import Manifest
from .records import passage_ids
from .stores import create_store

__all__ = ["CHUNK", "assemble_index"]

CHUNK = 10_000  # passages embedded and added to the store at a time


def assemble_index(
    passages: list[Passage],
    embedder: TextEncoder,
    *,
    progress: bool = False,
    previous: Index | None = None,
    kind: str = "auto",
    texts: dict[str, str] | None = None,
    manifest: Manifest | None = None,
    title_weight: int | None = 1,
    words: PassageWords | Callable[[], PassageWords] | None = None,
) -> tuple[Index, int]:
    """The index of ``passages`` and how many of them were embedded. Passages whose id is in ``previous``
    (same file, same title and text) take their vector from it; those the store holds already (a shared
    store) need neither. ``kind`` picks the vector store (:mod:`qa.indexing.stores`). ``manifest``
    describes the corpus; the index's own fields (model, store, sizes) are filled in here. BM25 indexes each
    passage's title ``title_weight`` times (:meth:`Passage.keyword_text`); None leaves BM25 to be made
    once the title weight is known (:meth:`Index.with_tuning`), from the words tokenized here and kept on
    the index until :meth:`Index.built`. ``words``: those words, when made already (or what gives them)."""
    texts_to_embed = [p.search_text for p in passages]
    ids = passage_ids(passages)
    store = create_store(kind, embedder.dimension, ids, embedder)
    present = store.present(ids)  # content-addressed: these need neither embedding nor a copy
    known = {} if previous is None else {pid: i for i, pid in enumerate(previous.ids) if pid not in present}
    fresh = sum(pid not in known and pid not in present for pid in ids)
    with progress_bar(fresh, "Embedding", enabled=progress and fresh > 0) as bar:
        for lo in range(0, len(passages), CHUNK):
            chunk = range(lo, min(lo + CHUNK, len(passages)))
            vectors = np.empty((len(chunk), embedder.dimension), dtype=np.float32)
            old = [(n, known[ids[i]]) for n, i in enumerate(chunk) if ids[i] in known]
            if old:
                vectors[[n for n, _ in old]] = previous.vectors(np.array([j for _, j in old]))
            new = [n for n, i in enumerate(chunk) if ids[i] not in known and ids[i] not in present]
            if new:
                with stage("embed"):
                    vectors[new] = embedder.encode_document([texts_to_embed[chunk[n]] for n in new], bar=bar)
            store.add(vectors, passages[chunk.start : chunk.stop])
    with stage("bm25"):  # after the vectors: a caller may tokenize while they are made (``words`` a callable)
        words = words() if callable(words) else words or PassageWords(passages, previous.words if previous is not None else None)
        bm25 = words.bm25(title_weight) if title_weight is not None else None
    described = Manifest(
        model=embedder.model_id, precision=embedder.precision, store=store.kind, passages=len(passages), dimension=store.dimension
    )
    if manifest is not None:
        described = manifest.replace(**{f: getattr(described, f) for f in ("model", "precision", "store", "passages", "dimension")})
    return Index(passages, store, bm25, embedder, described, ids, texts=texts or {}, words=words), fresh
