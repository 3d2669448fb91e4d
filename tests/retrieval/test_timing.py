from __future__ import annotations

import time

from support.fakes import FakeEmbedder

from qa.build import build_index
from qa.retrieval.pipeline import Retriever
from qa.timing import STAGES, recorded, stage


def test_stages_are_timed_only_when_recorded():
    with stage("embed"):  # nobody records: nothing to do, nothing kept
        pass
    with recorded() as spent:
        with stage("embed"):
            time.sleep(0.01)
        with stage("embed"):
            pass
    assert spent.keys() == {"embed"} and spent["embed"] >= 0.01
    with stage("bm25"):
        pass
    assert spent.keys() == {"embed"}  # the block has ended


def test_an_answer_records_each_stage(tiny_corpus, tmp_path):
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    retriever = Retriever.load(tmp_path / "idx", embedder=FakeEmbedder(), rerank="none")
    with recorded() as spent:
        retriever.ask("Who sells croissants?", 2)
    assert {"embed", "bm25", "vectors", "fuse", "feedback", "settle", "rerank", "highlight", "abstain"} == spent.keys() == set(STAGES)
    with recorded() as spent:  # the cross-encoder reads more passages than settle would reorder: no settle
        Retriever.load(tmp_path / "idx", embedder=FakeEmbedder()).ask("Who sells croissants?", 2)
    assert spent.keys() == set(STAGES) - {"settle"}
