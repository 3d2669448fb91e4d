"""The Milvus store against the real engine (Milvus Lite, embedded, in a temporary .db file)."""

from __future__ import annotations

import json

import pytest
from support.fakes import FakeEmbedder

from qa.errors import QAError
from qa.build import build_index
from qa.indexing.folder import load_index
from qa.retrieval.pipeline import Retriever

pytest.importorskip("milvus_lite")


@pytest.fixture
def milvus(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_STORE", "milvus")
    monkeypatch.setenv("QA_MILVUS_URI", str(tmp_path / "qa.db"))
    return tmp_path / "qa.db"


def _collection_ids(index) -> set[str]:
    store = index._store  # white-box: what the collection holds
    rows = store.client.query(store.collection, filter='id != ""', output_fields=["id"], limit=16384)
    return {r["id"] for r in rows}


def test_sync_upserts_new_and_deletes_gone_passages(milvus, tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"doc{n}.txt").write_text(f"Document {n}\n\nThe paragraph of document {n} is about topic {n} at length.\n")
    first = build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder())
    index = load_index(tmp_path / "idx", embedder=FakeEmbedder())
    assert index.manifest.store == "milvus" and first.embedded == 6
    assert _collection_ids(index) == set(index.ids)
    (corpus / "doc1.txt").unlink()
    (corpus / "doc2.txt").write_text("Document 2\n\nA rewritten paragraph of document 2, now about harbours.\n")
    embedder = FakeEmbedder()
    second = build_index(corpus, tmp_path / "idx", embedder=embedder)
    assert second.embedded == 1 and second.changes.removed == {"doc1.txt": 2}
    index = load_index(tmp_path / "idx", embedder=FakeEmbedder())
    assert _collection_ids(index) == set(index.ids)  # the gone passages were deleted from Milvus
    hit = Retriever(index).retrieve("rewritten harbours", k=1)[0]
    assert hit.source == "doc2.txt" and "harbours" in hit.text


def test_a_collection_of_other_vectors_is_a_clear_error(milvus, tmp_path, monkeypatch):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("A\n\nA paragraph about the keeper and the lamp.\n")
    monkeypatch.setenv("QA_MILVUS_COLLECTION", "shared")
    build_index(corpus, tmp_path / "one", embedder=FakeEmbedder(dimension=256))
    with pytest.raises(QAError, match="holds 256-d vectors"):
        build_index(corpus, tmp_path / "two", embedder=FakeEmbedder(dimension=128))


@pytest.mark.slow
def test_same_top_passages_as_faiss_for_the_qa_file(corpus_dir, repo_root, milvus, tmp_path, real_embedder, corpus_index, monkeypatch):
    build_index(corpus_dir, tmp_path / "milvus-idx", embedder=real_embedder)
    in_milvus = load_index(tmp_path / "milvus-idx", embedder=real_embedder)
    in_faiss = load_index(corpus_index, embedder=real_embedder)
    assert in_milvus.manifest.store == "milvus" and in_faiss.manifest.store == "flat"
    cases = [json.loads(line) for line in (repo_root / "tests" / "corpus_qa.jsonl").read_text().splitlines() if line.strip()]
    for case in cases:
        question, history = (case["turns"][-1], case["turns"][:-1]) if "turns" in case else (case["q"], [])
        a = Retriever(in_milvus).ask(question, history=history)
        b = Retriever(in_faiss).ask(question, history=history)
        assert [(h.source, h.paragraph) for h in a.hits] == [(h.source, h.paragraph) for h in b.hits], question
        assert a.answered == b.answered, question
