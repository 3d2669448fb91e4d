"""Search among allowed rows (the passages a user may read): the exact answer over those rows, whether the
store compares each of them or confines faiss's own search to them."""

from __future__ import annotations

import numpy as np
import pytest
from support.fakes import FakeEmbedder

from qa.build import build_index
from qa.indexing.folder import load_index
from qa.indexing.stores import STORES, create_store, register_store
from qa.indexing.stores.faiss import EXACT_AMONG_ROWS

DIM, ROWS = 32, 4000
ALLOWED = {  # a file's passages are contiguous rows: allowed rows come in runs
    "none": np.zeros(0, dtype=np.int64),
    "one row": np.array([1234]),
    "three documents": np.r_[100:180, 900:1000, 3000:3050],  # few: compared one by one
    "a quarter": np.concatenate([np.arange(lo, lo + 100) for lo in range(0, ROWS, 400)]),  # many: faiss, confined
    "half": np.concatenate([np.arange(lo, lo + 100) for lo in range(100, ROWS, 200)]),
}


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def vectors() -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors, as embeddings are (an inverted file needs clusters to find), and queries."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, DIM))
    data = unit(centres[rng.integers(0, 40, ROWS)] + rng.normal(0, 0.3, (ROWS, DIM)))
    return data, unit(centres[rng.integers(0, 40, 20)] + rng.normal(0, 0.3, (20, DIM)))


@pytest.fixture(scope="module", params=["flat", "ivf", "hnsw"])
def store(request, vectors):
    made = create_store(request.param, DIM, [str(i) for i in range(ROWS)], None)
    for lo in range(0, ROWS, 1000):  # as a build adds them; ivf trains once it has them all
        made.add(vectors[0][lo : lo + 1000], [])
    return made


def exact(data: np.ndarray, query: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = data[rows] @ query
    best = np.argsort(-scores, kind="stable")[:k]
    return rows[best], scores[best]


def test_the_larger_allowed_sets_take_faiss_s_search():
    assert len(ALLOWED["three documents"]) <= EXACT_AMONG_ROWS < len(ALLOWED["a quarter"])


@pytest.mark.parametrize("name", ALLOWED)
def test_search_among_allowed_rows_finds_the_exact_answer(store, vectors, name):
    data, queries = vectors
    allowed, found, wanted = ALLOWED[name], 0, 0
    for query in queries:
        rows, scores = store.search_among(query, 10, allowed)
        want_rows, want_scores = exact(data, query, 10, allowed)
        assert len(rows) == len(scores) == min(10, len(allowed)) and set(rows) <= set(allowed.tolist())
        assert np.all(np.diff(scores) <= 1e-6)  # best first
        if store.kind == "flat":  # exact: the same rows and scores (up to rounding) as comparing each
            assert rows.tolist() == want_rows.tolist() and scores == pytest.approx(want_scores, abs=1e-6)
        found, wanted = found + len(set(rows.tolist()) & set(want_rows.tolist())), wanted + len(want_rows)
    assert found >= (wanted if store.kind == "flat" or len(allowed) <= 1 else 0.95 * wanted)  # recall@10


def test_k_beyond_the_allowed_rows_answers_them_all(store):
    allowed = ALLOWED["half"]
    rows, _ = store.search_among(np.ones(DIM, dtype=np.float32) / np.sqrt(DIM), len(allowed) + 5, allowed)
    assert sorted(rows.tolist()) == allowed.tolist() if store.kind == "flat" else set(rows) <= set(allowed.tolist())


@pytest.fixture
def numpy_store():
    register_store("numpy", "support.numpy_store:NumpyStore")  # a store from outside qa, without search_among
    yield
    STORES.pop("numpy")


@pytest.mark.parametrize("kind", ["numpy", "milvus"])  # no search_among; search_among by the exact fallback
def test_stores_searching_allowed_rows_exactly_agree_with_flat(kind, numpy_store, tiny_corpus, tmp_path, monkeypatch):
    if kind == "milvus":
        pytest.importorskip("milvus_lite")
        monkeypatch.setenv("QA_MILVUS_URI", str(tmp_path / "qa.db"))  # Milvus Lite, embedded
    for made in (kind, "flat"):
        build_index(tiny_corpus, tmp_path / made, embedder=FakeEmbedder(), kind=made)
    on_kind, on_flat = (load_index(tmp_path / made, embedder=FakeEmbedder()) for made in (kind, "flat"))
    vector = on_flat.encode_query(["rainfall records of the station"])[0]
    allowed = on_flat.allowed(["alpha.txt"])
    (a, a_scores), (b, b_scores) = on_kind.dense(vector, 2, allowed), on_flat.dense(vector, 2, allowed)
    assert len(a) == 2 and a.tolist() == b.tolist() and set(a.tolist()) <= set(allowed.tolist())
    assert a_scores == pytest.approx(b_scores, abs=1e-6)
