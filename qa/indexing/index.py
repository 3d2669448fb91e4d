"""An index in memory: passages, their vectors in a store, BM25 over them, the model that embedded them,
and its manifest. It holds data and answers lookups; building is :mod:`.assemble` and :mod:`.build`,
saving and loading is :mod:`.folder`, searching is :mod:`qa.retrieval`."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Collection

import numpy as np

from ..errors import QAError
from ..passage import Passage
from .bm25 import BM25
from .embed import Embedder
from .manifest import Manifest
from .records import passage_ids
from .stores import VectorStore

__all__ = ["Index"]


class Index:
    def __init__(
        self,
        passages: list[Passage],
        store: VectorStore,
        bm25: BM25,
        embedder: Embedder,
        manifest: Manifest,
        ids: list[str] | None = None,
        *,
        texts: dict[str, str] | Callable[[], dict[str, str]] | None = None,
    ):
        """``texts``: the text extracted from each PDF, DOCX and HTML file (what their passages' offsets
        refer to), or a function that reads them when first needed."""
        if not (len(passages) == len(store) == len(bm25)):
            raise QAError(
                f"index is inconsistent ({len(passages)} passages, {len(store)} vectors, {len(bm25)} in "
                "BM25); rebuild it with 'qa index'"
            )
        self.passages = passages
        self.store = store
        self.bm25 = bm25
        self.embedder = embedder
        self.manifest = manifest
        self.ids = ids if ids is not None else passage_ids(passages)
        self._texts, self._read_texts = (texts, None) if not callable(texts) else (None, texts)

    def __len__(self) -> int:
        return len(self.passages)

    def document_text(self, source: str) -> str | None:
        """The text extracted from a PDF, DOCX or HTML file (what its passages' offsets refer to), or
        None for a .txt/.md file, whose own text they refer to."""
        return self.document_texts().get(source)

    def document_texts(self) -> dict[str, str]:
        """Every extracted text, by source (read on first use)."""
        if self._texts is None:
            self._texts = self._read_texts() if self._read_texts else {}
        return self._texts

    def forget_texts(self) -> None:
        """Treat the extracted texts as lost (found damaged): a sync reads their documents again."""
        self._texts, self._read_texts = {}, None

    @functools.cached_property
    def sources(self) -> dict[str, int]:
        """The indexed files, sorted, each with its number of passages."""
        return dict(sorted(Counter(p.source for p in self.passages).items()))

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

    def position(self, source: str, start: int) -> int | None:
        """Where the passage of ``source`` starting at ``start`` is in :attr:`passages` (for context:
        a file's passages are stored together, in order)."""
        return self._by_start.get((source, start))

    @functools.cached_property
    def _by_start(self) -> dict[tuple[str, int], int]:
        return {(p.source, p.start): i for i, p in enumerate(self.passages)}
