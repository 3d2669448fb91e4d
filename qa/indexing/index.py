"""An index in memory behind a narrow read-only interface: the searches ranking runs (``dense``,
``keyword``, ``best_similarity``, ``idf``), questions as vectors (``encode_query``), and the views the
chat, the API and MCP show (``documents``, ``about``, ``neighbours``, ``text``, ``page_lines``). Its parts -- vector store,
BM25, model -- are private; ``with_tuning`` and friends return a new index instead of changing this one."""

from __future__ import annotations

import copy
import functools
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import numpy as np

from ..errors import QAError
from ..passage import Passage
from ..readers import format_of
from .bm25 import BM25, PassageWords
from .embed import TextEncoder
from .access import Rules, readable
from .manifest import Calibration, IndexInfo, Manifest, Tuning
from .records import passage_ids, write_passages, write_texts
from .stores import VectorStore
from .stores.base import top_ids

__all__ = ["Index", "IndexInfo", "top_ids"]


class Index:
    def __init__(
        self,
        passages: list[Passage],
        store: VectorStore,
        bm25: BM25 | None,
        embedder: TextEncoder,
        manifest: Manifest,
        ids: list[str] | None = None,
        *,
        texts: dict[str, str] | Callable[[], dict[str, str]] | None = None,
        words: PassageWords | None = None,
    ):
        """``texts``: the text extracted from each PDF, DOCX and HTML file (what their passages' offsets
        refer to), or a function that reads them when first needed. While it is built, an index may have
        no BM25 yet (``bm25`` None: :meth:`with_tuning` makes it) and hold its passages' ``words``."""
        if not (len(passages) == len(store) == len(bm25 if bm25 is not None else passages)):
            raise QAError(
                f"index is inconsistent ({len(passages)} passages, {len(store)} vectors, "
                f"{len(bm25) if bm25 is not None else 'none yet'} in BM25); rebuild it with 'qa index'"
            )
        self._passages = tuple(passages)
        self._store = store
        self._bm25 = bm25
        self._embedder = embedder
        self._manifest = manifest
        self._ids = tuple(ids if ids is not None else passage_ids(passages))
        self._texts, self._read_texts = (texts, None) if not callable(texts) else (None, texts)
        self._texts_lock = threading.Lock()
        self._checked = False  # the model's dimension against the store's, once
        self._words = words

    def __len__(self) -> int:
        return len(self._passages)

    # --- what it holds --------------------------------------------------------------------------------

    @property
    def passages(self) -> tuple[Passage, ...]:
        """Every passage, by position (a file's passages together, in order)."""
        return self._passages

    @property
    def ids(self) -> tuple[str, ...]:
        return self._ids

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def calibration(self) -> Calibration | None:
        """The abstention threshold measured when it was built (None: built in memory, not calibrated)."""
        return self._manifest.abstain

    @property
    def tuning(self) -> Tuning | None:
        """How the hybrid mixes its runs on this corpus, measured when it was built (None: not tuned)."""
        return self._manifest.tuning

    @property
    def embedder(self) -> TextEncoder:  # the model that embedded the passages (for a build that syncs with it)
        return self._embedder

    def passage(self, position: int) -> Passage:
        return self._passages[position]

    # --- searching -----------------------------------------------------------------------------------

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Questions as vectors this index can be searched with (the model's dimension checked once)."""
        if not self._checked:
            self.warm_up()
        return self._embedder.encode_query(texts)

    def encode_document(self, texts: list[str]) -> np.ndarray:
        """Texts that are not passages of the index but are compared like them (sentences)."""
        return self._embedder.encode_document(texts)

    def warm_up(self) -> None:
        """Load the model and check it makes vectors of the store's dimension."""
        if self._embedder.dimension != self._store.dimension:
            raise QAError(
                f"model {self._embedder.model_id!r} makes {self._embedder.dimension}-d vectors but the "
                f"index holds {self._store.dimension}-d ones; re-index with 'qa index'"
            )
        self._checked = True

    def allowed(self, sources: Collection[str] | None) -> np.ndarray | None:
        """Positions of the passages of the files ``sources``, ascending (a duplicate's path counts as
        its original's); None when ``sources`` is None (every passage)."""
        if sources is None:
            return None
        found = [self._by_source[s] for s in set(sources) if s in self._by_source]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, cosine similarities) of the ``k`` passages nearest ``vector``, best first: the
        store's search, restricted to the positions ``allowed`` when given (its ``search_among``)."""
        if allowed is not None:  # a store from outside qa may lack search_among: the protocol's (exact) then
            return getattr(type(self._store), "search_among", VectorStore.search_among)(self._store, vector, k, allowed)
        scores, rows = self._store.search(vector, k)
        found = rows[0] >= 0
        return rows[0][found], scores[0][found]

    def similarity(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``vector`` to the passages at ``rows``."""
        return self._store.vectors(rows) @ vector

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self._store.vectors(rows)

    def best_similarity(self, vector: np.ndarray, allowed: np.ndarray | None = None) -> float:
        """The best cosine similarity of any passage (of the positions ``allowed``, when given) to ``vector``."""
        if allowed is not None:
            scores = self.dense(vector, 1, allowed)[1]
            return float(scores.max()) if scores.size else 0.0
        scores, rows = self._store.search(vector, 1)
        return float(scores[0][0]) if rows.size and rows[0][0] >= 0 else 0.0

    def keyword(self, text: str | dict[str, float]) -> np.ndarray:
        """BM25's score of every passage for ``text``, or for already tokenised, weighted terms."""
        return self._bm25.scores(text) if isinstance(text, str) else self._bm25.weighted_scores(text)

    def idf(self, words: Iterable[str]) -> dict[str, float]:
        """How rare each (tokenised) word is among the passages."""
        return self._bm25.idf(list(words))

    # --- views ---------------------------------------------------------------------------------------

    @functools.cached_property
    def sources(self) -> dict[str, int]:
        """The indexed files, sorted, each with its number of passages."""
        return dict(sorted(Counter(p.source for p in self._passages).items()))

    @property
    def rules(self) -> Rules | None:  # the access rules it was indexed with (None: everyone reads everything)
        return self._manifest.rules

    def readable(self, groups: Collection[str] | None) -> frozenset[str] | None:
        """The files (indexed, copies and skipped) a member of ``groups`` may read; None: all (no rules, or the owner)."""
        return readable(self._manifest.readers, self._manifest.rules, groups)

    def about(self, readable: Collection[str] | None = None) -> IndexInfo:
        """What it is; its counts and files only of the files ``readable`` (None: all)."""
        m, mine = self._manifest, (lambda s: readable is None or s in readable)
        sources = {s: n for s, n in self.sources.items() if mine(s)}
        return IndexInfo(len(sources), sum(sources.values()), m.model, m.precision, m.created, Path(m.corpus).name, tuple(filter(mine, m.files)))

    def documents(self, readable: Collection[str] | None = None) -> dict:
        """``documents``: each indexed file with its format, passage count and copies (other paths with
        the same content); ``skipped``: the files that could not be indexed, with the reason; of the
        files ``readable`` only (None: all)."""
        mine = lambda s: readable is None or s in readable  # noqa: E731
        copies = {p.source: list(p.copies) for p in self._passages}
        listed = [{"source": s, "format": format_of(s), "passages": n, "copies": [c for c in copies[s] if mine(c)]}
                  for s, n in self.sources.items() if mine(s)]  # fmt: skip
        return {"documents": listed, "skipped": {k: v.reason for k, v in self._manifest.skipped.items() if mine(k)}}

    def title(self, source: str) -> str:
        at = self.allowed([source])
        return self._passages[int(at[0])].title if at.size else ""

    def text(self, source: str) -> str:
        """The text an indexed document's offsets refer to: the text extracted from a PDF, DOCX or HTML
        file, else its passages at their offsets (what lies between them -- blank lines -- as newlines)."""
        extracted = self.document_texts().get(source)
        if extracted is not None:
            return extracted
        out, at = [], 0
        for p in sorted((self._passages[int(i)] for i in self.allowed([source])), key=lambda p: p.start):
            if p.start >= at:
                out.append("\n" * (p.start - at) + p.text)
                at = p.end
        return "".join(out)

    def file(self, source: str) -> tuple[Path, str | None]:
        """The corpus folder an indexed file lies in, and the sha256 it was indexed with (None: not indexed)."""
        return Path(self._manifest.corpus or "."), self._manifest.files.get(source)

    def page_lines(self, source: str, page: int) -> tuple[tuple, ...]:
        """Where each line of an indexed PDF or image file lies on ``page`` (:attr:`Passage.boxes`)."""
        return tuple(dict.fromkeys(b for i in self._by_source.get(source, ()) for b in self._passages[int(i)].boxes if b[0] == page))

    def neighbours(self, source: str, start: int) -> tuple[Passage | None, Passage | None]:
        """The passages of the same file before and after the one of ``source`` starting at ``start``."""
        at = self._by_start.get((source, start))
        if at is None:
            return None, None
        before = self._passages[at - 1] if at > 0 and self._passages[at - 1].source == source else None
        after = self._passages[at + 1] if at + 1 < len(self) and self._passages[at + 1].source == source else None
        return before, after

    def document_texts(self) -> dict[str, str]:
        """Every extracted text, by source (read on first use)."""
        with self._texts_lock:
            if self._texts is None:
                self._texts = self._read_texts() if self._read_texts else {}
            return self._texts

    # --- new indexes from this one -------------------------------------------------------------------

    def _with(self, **parts) -> Index:
        made = copy.copy(self)
        for name, value in parts.items():
            setattr(made, "_" + name, value)
        made._texts_lock = threading.Lock()
        return made

    def among(self, rows: np.ndarray) -> Index:
        """This index with BM25's word statistics of the passages at ``rows`` alone (what a reader may see)."""
        return self._with(bm25=self._bm25.among(rows))

    def with_calibration(self, calibration: Calibration) -> Index:
        return self._with(manifest=self._manifest.replace(abstain=calibration))

    def with_tuning(self, tuning: Tuning, built: int = 1) -> Index:
        """This index with ``tuning`` in its manifest, and BM25 made when the tuning weighs titles
        otherwise than the BM25 it has (``built``: that title weight) or it has none yet."""
        same = self._bm25 is not None and tuning.title_weight == built
        bm25 = self._bm25 if same else (self._words or PassageWords(self._passages)).bm25(tuning.title_weight)
        return self._with(manifest=self._manifest.replace(tuning=tuning), bm25=bm25)

    def with_title_weight(self, title_weight: int) -> Index:
        """This index with BM25 reading each passage's title ``title_weight`` times (for measuring)."""
        return self._with(bm25=(self._words or PassageWords(self._passages)).bm25(title_weight))

    @property
    def words(self) -> PassageWords | None:  # its passages' BM25 words while it is built; None once built
        return self._words

    def built(self) -> Index:
        """This index as it is kept once built: without the words its build tokenized."""
        return self._with(words=None)

    def sharing_model(self, other: Index) -> Index:
        """This index with ``other``'s model (already in memory) when both were built with the same one."""
        same = other._embedder.model_id == self._embedder.model_id
        return self._with(embedder=other._embedder) if same else self

    def without_texts(self) -> Index:
        """This index with its extracted texts treated as lost (found damaged): a sync reads their documents again."""
        return self._with(texts={}, read_texts=None)

    def write(self, folder: Path) -> None:
        """Write the data files (vectors, passages, texts, BM25) into the new data ``folder``."""
        self._store.save(folder)
        write_passages(folder / "passages.jsonl", list(self._passages), list(self._ids))
        write_texts(folder / "texts.jsonl", self.document_texts())
        self._bm25.save(folder / "bm25")

    def prune(self) -> int:
        """Once this index is in place: a shared store drops what no index uses any more."""
        return self._store.prune()

    @functools.cached_property
    def _by_source(self) -> dict[str, np.ndarray]:
        """Each file's passage positions, under its own path and under the paths of its copies (built once
        per index, so restricting a search does not scan every passage per question)."""
        table: dict[str, list[int]] = {}
        for i, p in enumerate(self._passages):
            for path in (p.source, *p.copies):
                table.setdefault(path, []).append(i)
        return {path: np.array(positions, dtype=np.int64) for path, positions in table.items()}

    @functools.cached_property
    def _by_start(self) -> dict[tuple[str, int], int]:
        return {(p.source, p.start): i for i, p in enumerate(self._passages)}

