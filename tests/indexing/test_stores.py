"""Vector stores behind one interface: the registry, the factory, and a store added from outside qa."""

from __future__ import annotations

import numpy as np
import pytest
from support.fakes import FakeEmbedder

from qa.errors import QAError
from qa.build import build_index
from qa.indexing.folder import load_index
from qa.indexing.stores import STORES, choose_kind, create_store, kinds, open_store, register_store
from qa.retrieval.pipeline import Retriever


@pytest.fixture
def numpy_store():
    register_store("numpy", "support.numpy_store:NumpyStore")  # the one line a new store needs
    yield
    STORES.pop("numpy")


def test_a_new_store_is_one_module_and_one_registry_line(numpy_store, tiny_corpus, tmp_path):
    assert "numpy" in kinds()
    report = build_index(tiny_corpus, tmp_path / "np", embedder=FakeEmbedder(), kind="numpy")
    build_index(tiny_corpus, tmp_path / "flat", embedder=FakeEmbedder(), kind="flat")
    assert report.written and (tmp_path / "np" / "manifest.json").is_file()
    on_numpy = Retriever.load(tmp_path / "np", embedder=FakeEmbedder())
    on_faiss = Retriever.load(tmp_path / "flat", embedder=FakeEmbedder())
    assert on_numpy.index._store.kind == on_numpy.index.manifest.store == "numpy"
    for question in ("sourdough bread near the harbour", "When did the rainfall records begin?"):
        a, b = on_numpy.ask(question, 4), on_faiss.ask(question, 4)
        assert [(h.source, h.start) for h in a.hits] == [(h.source, h.start) for h in b.hits]
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-5)
        assert (a.answered, a.confidence) == (b.answered, pytest.approx(b.confidence, abs=1e-4))
    # a sync keeps the store's vectors of unchanged passages, as with faiss
    (tiny_corpus / "gamma.txt").write_text("Gamma\n\nThe gamma telescope watches distant galaxies at night.\n")
    again = build_index(tiny_corpus, tmp_path / "np", embedder=FakeEmbedder(), kind="numpy")
    assert again.embedded == again.passages - report.passages == 2 and len(load_index(tmp_path / "np", embedder=FakeEmbedder())._store) == again.passages


def test_an_index_of_a_store_this_qa_lacks_is_a_clear_error(numpy_store, tiny_corpus, tmp_path):
    build_index(tiny_corpus, tmp_path / "np", embedder=FakeEmbedder(), kind="numpy")
    STORES.pop("numpy")
    with pytest.raises(QAError, match="this qa has no vector store 'numpy'"):
        load_index(tmp_path / "np", embedder=FakeEmbedder())
    register_store("numpy", "support.numpy_store:NumpyStore")


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_faiss_stores_round_trip_through_the_factory(kind, tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    store = create_store(kind, 16, [str(i) for i in range(500)], None)
    for lo in range(0, 500, 200):  # as a build adds them; ivf trains once it has them all
        store.add(data[lo : lo + 200], [])
    assert store.kind == kind and len(store) == 500 and store.present(["1"]) == set() and store.prune() == 0
    store.save(tmp_path)
    opened = open_store(kind, tmp_path, [str(i) for i in range(500)])
    scores, rows = opened.search(data[:3], 5)
    assert rows[:, 0].tolist() == [0, 1, 2] and scores[0, 0] == pytest.approx(1.0, abs=0.02)
    assert np.allclose(opened.vectors(np.array([7])), data[7], atol=0.02)


def test_qa_store_names_the_default_kind(monkeypatch):
    monkeypatch.setenv("QA_STORE", "hnsw")
    assert choose_kind(10) == "hnsw" and choose_kind(10, "flat") == "flat"
    monkeypatch.setenv("QA_STORE", "faiss")
    assert choose_kind(10) == "flat"
    monkeypatch.setenv("QA_STORE", "tree")
    with pytest.raises(QAError, match="QA_STORE must be faiss or one of flat, hnsw, ivf, milvus, got 'tree'"):
        choose_kind(10)
