"""A vector store in Milvus (``QA_STORE=milvus``): a Milvus server or cluster (``http://host:19530``) or
Milvus Lite, the same engine embedded, in a local ``.db`` file. Needs ``pip install qa[milvus]``.

The collection is content-addressed: its primary key is the passage id, a hash of file, title and text
(see :func:`qa.indexing.records.passage_ids`), so an id names the same vector for as long as the model is the
same. A sync therefore upserts only ids the collection lacks, and deletes the ids no index uses any
more once the new manifest is in place -- readers of the old manifest never miss a vector they need.
Each row also holds the passage's file, paragraph and text, so the collection can be read without qa.

The rest of the index (passages, BM25, manifest) stays in the index folder: hybrid search uses qa's
own BM25, so results match the faiss store (see the README for the measurement).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from ...errors import QAError
from .base import exact_among

__all__ = ["DEFAULT_COLLECTION", "MilvusStore", "milvus_settings"]

DEFAULT_COLLECTION = "qa_passages"
_BATCH = 1000
_MAX_LIMIT = 16384  # the largest top-k Milvus answers
FILE = "milvus.json"
_TEXT_LIMIT = 8000  # characters of passage text stored beside the vector (Milvus VARCHAR needs a bound)


def milvus_settings(uri: str | None = None, collection: str | None = None) -> tuple[str, str]:
    """(uri, collection) from the arguments, else ``$QA_MILVUS_URI`` / ``$QA_MILVUS_COLLECTION``."""
    uri = uri or os.environ.get("QA_MILVUS_URI")
    if not uri:
        raise QAError("QA_STORE=milvus needs QA_MILVUS_URI: http://host:19530, or a local file such as ./qa.db (Milvus Lite)")
    if "://" not in uri:
        uri = str(Path(uri).resolve())  # Milvus Lite: the same file whatever the working directory
    return uri, collection or os.environ.get("QA_MILVUS_COLLECTION") or DEFAULT_COLLECTION


def _client(uri: str):
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise QAError("the Milvus store needs pymilvus: pip install 'qa[milvus]'") from None
    for name in list(logging.root.manager.loggerDict):  # its failures reach the user as QAError
        if name.startswith("pymilvus"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri)
    except Exception as e:  # connection refused, a locked Lite file…
        raise QAError(f"cannot reach Milvus at {uri}: {e}") from None


class MilvusStore:
    """Rows are numbered in the order of ``ids`` (the index's passages); Milvus keys them by id."""

    kind = "milvus"

    def __init__(self, uri: str, collection: str, dimension: int, ids: list[str]):
        if dimension <= 0:
            raise ValueError(f"dimension must be > 0, got {dimension}")
        self.uri, self.collection, self.dimension = uri, collection, dimension
        self.ids = list(ids)
        self.rows = {pid: row for row, pid in enumerate(self.ids)}
        self.client = _client(uri)
        self._added = 0
        self._present: set[str] = set()  # ids :meth:`present` found in the collection
        self._ensure_collection()
        self.client.load_collection(self.collection)

    @classmethod
    def create(cls, dimension: int, ids: list[str], embedder) -> MilvusStore:
        """The store of ``$QA_MILVUS_URI``; the default collection is named after the model and
        precision, so vectors of different models never mix."""
        name = f"qa_{embedder.model_id.rsplit('/', 1)[-1]}_{embedder.precision}"
        uri, collection = milvus_settings(collection=os.environ.get("QA_MILVUS_COLLECTION") or "".join(
            c if c.isalnum() else "_" for c in name)[:200])  # fmt: skip
        return cls(uri, collection, dimension, ids)

    # --- building ------------------------------------------------------------------------------------

    def _ensure_collection(self) -> None:
        from pymilvus import DataType

        if self.client.has_collection(self.collection):
            fields = self.client.describe_collection(self.collection)["fields"]
            dim = next((f["params"].get("dim") for f in fields if f["name"] == "vector"), None)
            if dim is not None and int(dim) != self.dimension:
                raise QAError(
                    f"Milvus collection {self.collection!r} holds {dim}-d vectors, the model makes "
                    f"{self.dimension}-d ones; use another QA_MILVUS_COLLECTION or drop it"
                )
            return
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field("source", DataType.VARCHAR, max_length=4096)
        schema.add_field("paragraph", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=_TEXT_LIMIT * 4)
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="IP")  # exact; use AUTOINDEX on a cluster
        self.client.create_collection(self.collection, schema=schema, index_params=index)

    def present(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` the collection already holds (remembered: :meth:`add` skips them)."""
        found: set[str] = set()
        for lo in range(0, len(ids), _BATCH):
            batch = ids[lo : lo + _BATCH]
            rows = self.client.get(self.collection, ids=batch, output_fields=["id"])
            found.update(r["id"] for r in rows)
        self._present |= found
        return found

    def add(self, vectors: np.ndarray, passages=None) -> None:
        """Store the next ``len(vectors)`` rows. Rows whose id :meth:`present` found are skipped, so
        their vectors need not be filled in; the others are upserted."""
        ids = self.ids[self._added : self._added + len(vectors)]
        rows = []
        for n, pid in enumerate(ids):
            if pid in self._present:
                continue
            p = passages[n] if passages is not None else None
            rows.append({
                "id": pid, "vector": vectors[n].astype(np.float32).tolist(),
                "source": p.source[:4096] if p else "", "paragraph": p.paragraph if p else 0,
                "text": p.text[:_TEXT_LIMIT] if p else "",
            })  # fmt: skip
        for lo in range(0, len(rows), _BATCH):
            self.client.upsert(self.collection, rows[lo : lo + _BATCH])
        self._added += len(vectors)

    def flush(self) -> None:
        """Seal what was written: searching unsealed (growing) segments is an order of magnitude slower."""
        self.client.flush(self.collection)

    def prune(self) -> int:
        """Delete the rows no passage of this index uses (call once its manifest is in place)."""
        stale, keep = [], set(self.ids)
        iterator = self.client.query_iterator(self.collection, batch_size=_BATCH, filter="", output_fields=["id"])
        while batch := iterator.next():
            stale += [r["id"] for r in batch if r["id"] not in keep]
        iterator.close()
        for lo in range(0, len(stale), _BATCH):
            self.client.delete(self.collection, ids=stale[lo : lo + _BATCH])
        if stale:
            self.flush()
        return len(stale)

    # --- reading -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(queries).astype(np.float32)
        k = min(k, len(self.ids))
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        if k <= 0:
            return scores, rows
        # The collection may hold rows of other indexes (or of this one's previous version, until a build
        # prunes them): ask for more until k of this index's rows are found or the collection has no more.
        for q, query in enumerate(queries.tolist()):
            limit = k
            while True:
                hits = self.client.search(self.collection, data=[query], limit=limit, output_fields=[])[0]
                ranked = [(h["distance"], self.rows[h["id"]]) for h in hits if h["id"] in self.rows][:k]
                if len(ranked) == k or len(hits) < limit or limit >= _MAX_LIMIT:
                    break
                limit = min(4 * limit, _MAX_LIMIT)
            for n, (score, row) in enumerate(ranked):
                scores[q, n], rows[q, n] = score, row
        return scores, rows

    def search_among(self, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact: the vectors of ``rows``, fetched by id, each compared with ``query``."""
        return exact_among(self, query, k, rows)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        wanted = [self.ids[int(i)] for i in np.asarray(ids).ravel()]
        got: dict[str, list[float]] = {}
        for lo in range(0, len(wanted), _BATCH):
            for r in self.client.get(self.collection, ids=list(dict.fromkeys(wanted[lo : lo + _BATCH])), output_fields=["vector"]):
                got[r["id"]] = r["vector"]
        missing = [pid for pid in wanted if pid not in got]
        if missing:
            raise QAError(f"Milvus collection {self.collection!r} lacks {len(missing)} vectors of this index; rebuild with 'qa index --rebuild'")
        return np.array([got[pid] for pid in wanted], dtype=np.float32).reshape(len(wanted), self.dimension)

    def save(self, folder: Path) -> None:
        self.flush()
        (folder / FILE).write_text(json.dumps({"uri": self.uri, "collection": self.collection, "dimension": self.dimension}) + "\n")

    @classmethod
    def open(cls, folder: Path, ids: list[str]) -> MilvusStore:
        info = json.loads((folder / FILE).read_text())
        return cls(info["uri"], info["collection"], int(info["dimension"]), ids)
