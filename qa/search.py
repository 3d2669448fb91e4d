"""Search an index: a question in, the best passages out, each with its citation and highlight.

``Index.load(dir)`` loads the model and the index once for many questions; ``retrieve(...)`` is the
one-call form, which keeps loaded indexes and reloads one when a newer build replaces it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Literal

import numpy as np

from . import fuse
from .bm25 import BM25, tokenize
from .config import find_index_dir
from .embed import Embedder, VectorCache, model_id, progress_bar
from .errors import QAError, check_args, check_history
from .hit import Highlight, Hit
from .split import Passage
from .store import (
    DamagedIndex,
    open_index,
    passage_ids,
    read_passages,
    read_texts,
    verify,
    write_index,
    write_passages,
    write_texts,
)
from .vectors import FaissStore, VectorStore, choose_kind

__all__ = ["MODES", "Highlight", "Hit", "Index"]

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")
CANDIDATES = 1000  # per run, before fusion
CHUNK = 10_000  # passages embedded and added to the store at a time
TRAIN_SAMPLE = 100_000  # vectors an ivf store is trained on
# A follow-up is searched with the conversation's topic and also alone, mixed at this weight (on the
# corpus QA file this took follow-ups answered at rank 1 from 7 to 9 of 10).
ALONE_WEIGHT = 0.5
FOLLOWUP_DEPTH = 50
VECTOR_CACHE = 10_000  # recent question and sentence vectors kept per index (~15 MB at 384-d)


class Index:
    """Passages with a vector store and a BM25 index over them, and the model that embeds questions."""

    def __init__(
        self,
        passages: list[Passage],
        store: VectorStore,
        bm25: BM25,
        embedder: Embedder,
        manifest: dict | None = None,
        ids: list[str] | None = None,
    ):
        if not (len(passages) == len(store) == len(bm25)):
            raise QAError(
                f"index is inconsistent ({len(passages)} passages, {len(store)} vectors, {len(bm25)} in "
                "BM25); rebuild it with 'qa index'"
            )
        self.passages = passages
        self.store = store
        self.bm25 = bm25
        self.embedder = embedder
        self.manifest = manifest or {}
        self.ids = ids if ids is not None else passage_ids(passages)
        self.embedded = 0  # how many passages Index.build embedded (the rest it reused)
        # Text extracted from PDF/DOCX/HTML files, which their passages' offsets refer to; read on first use.
        self.texts: dict[str, str] | None = {}
        self._folder: Path | None = None  # the index folder it was loaded from
        # Questions and highlight sentences, embedded once while they keep coming back.
        self.recent = VectorCache(VECTOR_CACHE)

    @classmethod
    def build(
        cls,
        passages: list[Passage],
        embedder: Embedder,
        *,
        progress: bool = False,
        previous: Index | None = None,
        kind: str = "auto",
    ) -> Index:
        """Embed and index ``passages`` in chunks (memory stays bounded for large corpora). Passages whose
        id is in ``previous`` (same file, same title and text) take their vector from it instead of being
        embedded again. ``kind`` picks the vector store (see :mod:`qa.vectors`)."""
        texts = [p.search_text for p in passages]
        ids = passage_ids(passages)
        known = {} if previous is None else {pid: i for i, pid in enumerate(previous.ids)}
        kind = choose_kind(len(passages), kind)
        if kind == "milvus":
            from .milvus_store import store_for

            store = store_for(embedder, ids)
            present = store.present(ids)  # content-addressed: these need neither embedding nor a copy
            known = {pid: i for pid, i in known.items() if pid not in present}
        else:
            store = None if kind == "ivf" else FaissStore.create(embedder.dimension, len(passages), kind)
            present = set()
        pending: list[np.ndarray] = []  # an ivf store is trained on the first TRAIN_SAMPLE vectors
        fresh = sum(pid not in known and pid not in present for pid in ids)
        with progress_bar(fresh, "Embedding", enabled=progress and fresh > 0) as bar:
            for lo in range(0, len(passages), CHUNK):
                chunk = range(lo, min(lo + CHUNK, len(passages)))
                vectors = np.empty((len(chunk), embedder.dimension), dtype=np.float32)
                old = [(n, known[ids[i]]) for n, i in enumerate(chunk) if ids[i] in known]
                if old:
                    vectors[[n for n, _ in old]] = previous.store.vectors(np.array([j for _, j in old]))
                new = [n for n, i in enumerate(chunk) if ids[i] not in known and ids[i] not in present]
                if new:
                    vectors[new] = embedder.encode([texts[chunk[n]] for n in new], bar=bar)
                if store is None:
                    pending.append(vectors)
                    if sum(map(len, pending)) < TRAIN_SAMPLE and chunk.stop < len(passages):
                        continue
                    vectors = np.concatenate(pending)
                    store = FaissStore.create(embedder.dimension, len(passages), kind, training=vectors)
                if kind == "milvus":
                    store.add(vectors, passages[chunk.start : chunk.stop])
                else:
                    store.add(vectors)
        store = store or FaissStore.create(embedder.dimension, 0, "flat")
        index = cls(passages, store, BM25.build(texts), embedder, ids=ids)
        index.embedded = fresh
        return index

    def save(self, index_dir: Path, manifest: dict) -> dict:
        """Write atomically to ``index_dir`` (holding :func:`qa.store.index_lock`)."""

        def write_data(folder: Path) -> None:
            self.store.save(folder / ("milvus.json" if getattr(self.store, "kind", "") == "milvus" else "vectors.faiss"))
            write_passages(folder / "passages.jsonl", self.passages, self.ids)
            write_texts(folder / "texts.jsonl", self.texts or {})
            self.bm25.save(folder / "bm25")

        self.manifest = write_index(
            index_dir,
            {
                **manifest,
                "model": self.embedder.model_id,
                "precision": getattr(self.embedder, "precision", "fp32"),
                "dimension": self.store.dimension,
                "passages": len(self),
                "store": getattr(self.store, "kind", "custom"),
            },
            write_data,
        )
        return self.manifest

    @classmethod
    def load(
        cls,
        index_dir: str | os.PathLike | None = None,
        *,
        model: str | None = None,
        embedder: Embedder | None = None,
    ) -> Index:
        """Load the index in ``index_dir`` (see :mod:`qa.config` for the default). Questions are embedded
        with the model the index was built with; asking for another one (``model``, ``$QA_MODEL`` or an
        ``embedder`` of another model) is an error that says to re-index."""
        index_dir = find_index_dir(index_dir)

        def read_data(manifest: dict, folder: Path):
            passages, ids = read_passages(folder / "passages.jsonl")
            if manifest.get("store") == "milvus":
                from .milvus_store import MilvusStore

                store = MilvusStore.load(folder / "milvus.json", ids)
            else:
                store = FaissStore.load(folder / "vectors.faiss")
            bm25 = BM25.load(folder / "bm25", len(store))
            return passages, ids, store, bm25

        manifest, (passages, ids, store, bm25) = open_index(index_dir, read_data)
        if not (len(passages) == len(store) == manifest.get("passages")) or store.dimension != manifest.get(
            "dimension"
        ):
            raise QAError(
                f"index in {index_dir} is inconsistent ({len(passages)} passages, {len(store)} "
                f"{store.dimension}-d vectors; manifest says {manifest.get('passages')} "
                f"{manifest.get('dimension')}-d); rebuild it with 'qa index'"
            )
        built_with = manifest.get("model")
        wanted = None
        if embedder is not None:
            wanted = embedder.model_id
        elif model or os.environ.get("QA_MODEL"):
            wanted = model_id(model)
        if wanted and wanted != built_with:
            raise QAError(
                f"index in {index_dir} was built with model {built_with!r}, not {wanted!r}; "
                f"re-index with 'qa index --model {wanted}' or use the model it was built with"
            )
        embedder = embedder or Embedder(built_with, precision=manifest.get("precision", "fp32"))
        index = cls(passages, store, bm25, embedder, manifest, ids)
        index.texts, index._folder = None, index_dir
        return index

    def document_text(self, source: str) -> str | None:
        """The text extracted from a PDF, DOCX or HTML file (what its passages' offsets refer to), or
        None for a .txt/.md file, whose own text they refer to."""
        return self.document_texts().get(source)

    def document_texts(self) -> dict[str, str]:
        """Every extracted text, by source (read and verified on first use; DamagedIndex if damaged)."""
        if self.texts is None:
            try:
                self.texts = read_texts(verify(self._folder, self.manifest, "texts.jsonl")) if self._folder else {}
            except FileNotFoundError:  # the index was replaced since it was loaded: reload it
                self.texts = {}
            except DamagedIndex:
                raise
            except Exception as e:  # a file that matches its checksum but not its format: written by another qa
                raise DamagedIndex(self._folder, f"texts.jsonl cannot be read ({type(e).__name__})") from None
        return self.texts

    def __len__(self) -> int:
        return len(self.passages)

    # --- ranking -----------------------------------------------------------------------------------

    def embed_query(self, query: str) -> np.ndarray:
        if self.embedder.dimension != self.store.dimension:
            raise QAError(
                f"model {self.embedder.model_id!r} makes {self.embedder.dimension}-d vectors but the "
                f"index holds {self.store.dimension}-d ones; re-index with 'qa index'"
            )
        return self.embed_texts([query])[0]

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts that are not passages of the index (questions, sentences), kept a while."""
        return self.recent.encode(texts, self.embedder)

    def search(
        self, query: str, k: int, mode: Mode = "hybrid", sources: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """(passage position, score) of the ``k`` best passages for ``query``, best first; only passages
        of the files in ``sources`` when given."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        allowed = self.positions_of(sources) if sources is not None else None
        if not len(self) or (allowed is not None and not allowed.size):
            return []
        if mode == "bm25":
            scores = self.bm25.scores(query)
            return [(int(i), float(scores[i])) for i in self._top(scores, k, allowed)]
        qvec = self.embed_query(query)
        if mode == "dense":
            if allowed is not None:
                scores = self.store.vectors(allowed) @ qvec
                return [(int(allowed[i]), float(scores[i])) for i in fuse.top_ids(scores, k)]
            scores, ids = self.store.search(qvec, k)
            return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]
        return self._hybrid(query, qvec, k, allowed)

    def positions_of(self, sources: Collection[str]) -> np.ndarray:
        """Positions of the passages of these files, ascending (a duplicate's path counts as its original's)."""
        found = [self._by_source[s] for s in set(sources) if s in self._by_source]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    @functools.cached_property
    def _by_source(self) -> dict[str, np.ndarray]:
        """Each file's passage positions, under its own path and under the paths of its copies (built once
        per index, so restricting a search does not scan every passage per question)."""
        table: dict[str, list[int]] = {}
        for i, p in enumerate(self.passages):
            for path in (p.source, *p.copies):
                table.setdefault(path, []).append(i)
        return {path: np.array(positions, dtype=np.int64) for path, positions in table.items()}

    @functools.cached_property
    def sources(self) -> dict[str, int]:
        """The indexed files, sorted, each with its number of passages (computed once per index)."""
        return dict(sorted(Counter(p.source for p in self.passages).items()))

    def position(self, source: str, start: int) -> int | None:
        """Where the passage of ``source`` starting at ``start`` is in :attr:`passages` (for context:
        a file's passages are stored together, in order)."""
        return self._by_start.get((source, start))

    @functools.cached_property
    def _by_start(self) -> dict[tuple[str, int], int]:
        return {(p.source, p.start): i for i, p in enumerate(self.passages)}

    def search_dense_best(self, qvec: np.ndarray, sources: Collection[str]) -> float | None:
        """The best cosine similarity among the passages of ``sources`` (None: no such passages)."""
        allowed = self.positions_of(sources)
        return float((self.store.vectors(allowed) @ qvec).max()) if allowed.size else None

    def _dense_candidates(self, qvec: np.ndarray, depth: int, allowed: np.ndarray | None = None) -> np.ndarray:
        if allowed is not None:  # exact search over the chosen files' passages
            return allowed[fuse.top_ids(self.store.vectors(allowed) @ qvec, depth)]
        return self.store.search(qvec, depth)[1][0]

    @staticmethod
    def _top(scores: np.ndarray, depth: int, allowed: np.ndarray | None) -> np.ndarray:
        return fuse.top_ids(scores, depth) if allowed is None else allowed[fuse.top_ids(scores[allowed], depth)]

    def _hybrid(self, query: str, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """See :mod:`qa.fuse` for the method and why."""
        size = len(self) if allowed is None else len(allowed)
        depth = min(size, max(CANDIDATES, k))
        keyword = self.bm25.scores(query)
        cand = np.union1d(self._dense_candidates(qvec, depth, allowed), self._top(keyword, depth, allowed))
        first = fuse.mix(self.store.vectors(cand) @ qvec, keyword[cand])
        n_feedback = fuse.feedback_docs(size)
        if n_feedback == 0:
            return [(int(cand[i]), float(first[i])) for i in fuse.top_ids(first, k)]
        feedback = cand[fuse.top_ids(first, n_feedback)]

        qvec2 = fuse.rocchio(qvec, self.store.vectors(feedback))
        terms = fuse.rm3_terms(tokenize([query])[0], tokenize([self.passages[i].search_text for i in feedback]))
        keyword2 = self.bm25.weighted_scores(terms)
        more = np.union1d(self._dense_candidates(qvec2, depth, allowed), self._top(keyword2, depth, allowed))
        cand = np.union1d(cand, more)
        final = fuse.mix(self.store.vectors(cand) @ qvec2, keyword2[cand])
        return [(int(cand[i]), float(final[i])) for i in fuse.top_ids(final, k)]

    # --- hits ----------------------------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        k: int = 5,
        *,
        history: list[str] | None = None,
        mode: Mode = "hybrid",
        sources: Collection[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` passages that best answer ``question``, best first, each with its highlight.
        ``history`` (earlier user turns) is used when the question depends on it ("where is he based?");
        ``sources`` restricts the search to those files."""
        from .followup import resolve

        question = check_args(question, k)
        return self.hits(resolve(question, check_history(history)), k, mode=mode, alone=question, sources=sources)

    def hits(
        self,
        query: str,
        k: int,
        *,
        mode: Mode = "hybrid",
        alone: str | None = None,
        sources: Collection[str] | None = None,
    ) -> list[Hit]:
        """Hits for ``query``. For a follow-up, ``query`` carries the conversation's topic and ``alone``
        is the question as asked: both are searched and their scores mixed, so that the topic words
        cannot drown out what the question itself asks for."""
        from .highlight import highlights

        if alone is None or alone == query:
            ranked = self.search(query, k, mode, sources)
        else:
            depth = max(k, FOLLOWUP_DEPTH)
            scores = dict(self.search(query, depth, mode, sources))
            for i, s in self.search(alone, depth, mode, sources):
                scores[i] = scores.get(i, 0.0) + ALONE_WEIGHT * s
            ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
        passages = [self.passages[i] for i, _ in ranked]
        marks = highlights(query, self.embed_query(query), passages, self.embed_texts) if passages else []
        return [
            Hit(**_fields(p), score=score, highlight=mark)
            for p, (_, score), mark in zip(passages, ranked, marks)
        ]


def _fields(passage: Passage) -> dict:
    return {f.name: getattr(passage, f.name) for f in dataclasses.fields(passage)}
