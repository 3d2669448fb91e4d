"""store: vector stores behind one interface (:class:`VectorStore`), created and opened here only.

Each kind is one module; :data:`STORES` maps its name to the class, imported on first use (so a store
with optional dependencies costs nothing until it is asked for). A new store is one module and one line
here -- or one call to :func:`register_store` from outside qa.

``auto`` picks exact search (``flat``) up to ``EXACT_LIMIT`` passages and an inverted file with 8-bit
scalar quantisation (``ivf``: a quarter of the memory, a small fraction of the work per query) beyond;
``$QA_STORE`` names the kind ``auto`` means instead (``faiss``: the default). ``bench/scale.py``
measures the faiss kinds.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from ...errors import QAError
from .base import VectorStore

__all__ = ["EXACT_LIMIT", "STORES", "VectorStore", "choose_kind", "create_store", "kinds", "open_store", "register_store"]

STORES: dict[str, str | type] = {
    "flat": "qa.indexing.stores.faiss:FlatStore",
    "hnsw": "qa.indexing.stores.faiss:HNSWStore",
    "ivf": "qa.indexing.stores.ivf:IVFStore",
    "milvus": "qa.indexing.stores.milvus:MilvusStore",
}
EXACT_LIMIT = 200_000  # below this, exact search answers in well under 20 ms on two cores


def register_store(kind: str, store: str | type) -> None:
    """Make ``kind`` a store qa can build and open: a class, or ``"module:Class"`` imported on first use."""
    if not kind.isidentifier() or kind == "auto":
        raise ValueError(f"a store kind must be a name other than auto, got {kind!r}")
    STORES[kind] = store


def kinds() -> tuple[str, ...]:
    return ("auto", *STORES)


def choose_kind(count: int, kind: str = "auto") -> str:
    """The store for an index of ``count`` passages: ``kind``, or for ``auto`` the one ``$QA_STORE``
    names, else exact search up to :data:`EXACT_LIMIT` passages and IVF beyond."""
    if kind not in kinds():
        raise ValueError(f"index kind must be one of {', '.join(kinds())}, got {kind!r}")
    if kind != "auto":
        return kind
    default = os.environ.get("QA_STORE", "faiss")
    if default != "faiss":
        if default not in STORES:
            raise QAError(f"QA_STORE must be faiss or one of {', '.join(STORES)}, got {default!r}")
        return default
    return "flat" if count <= EXACT_LIMIT else "ivf"


def store_class(kind: str) -> type[VectorStore]:
    if kind not in STORES:
        raise QAError(f"this qa has no vector store {kind!r} (it has {', '.join(STORES)}); rebuild with 'qa index --rebuild'")
    found = STORES[kind]
    if isinstance(found, str):
        module, _, name = found.partition(":")
        found = STORES[kind] = getattr(importlib.import_module(module), name)
    return found


def create_store(kind: str, dimension: int, ids: list[str], embedder) -> VectorStore:
    """An empty store of ``kind`` (or the one ``auto`` picks for this many rows) for the rows ``ids``."""
    if dimension <= 0:
        raise ValueError(f"dimension must be > 0, got {dimension}")
    return store_class(choose_kind(len(ids), kind)).create(dimension, ids, embedder)


def open_store(kind: str, folder: Path, ids: list[str]) -> VectorStore:
    """The store of ``kind`` saved in an index's data ``folder``."""
    return store_class(kind).open(folder, ids)
