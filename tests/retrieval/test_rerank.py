"""Choosing the re-ranker: the cross-encoder by default, none, or a module outside qa named in $QA_RERANK."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from support.fakes import FakeEmbedder

from qa.build import build_index
from qa.retrieval.cross_encoder import CrossEncoderRerank
from qa.retrieval.pipeline import Retriever
from qa.retrieval.rerank import NoRerank, reranker

REVERSE = "support.reverse_reranker:Reverse"
QUESTION = "sourdough bread croissants harbour rainfall"


@pytest.fixture
def index_dir(tiny_corpus, tmp_path) -> Path:
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    return tmp_path / "idx"


def test_the_cross_encoder_by_default_none_turns_it_off_and_bad_settings_are_named(monkeypatch):
    monkeypatch.delenv("QA_RERANK", raising=False)
    assert isinstance(reranker(), CrossEncoderRerank) and isinstance(reranker("none"), NoRerank)
    monkeypatch.setenv("QA_RERANK", "none")
    assert isinstance(reranker(), NoRerank)
    with pytest.raises(ValueError, match="re-ranker must be one of cross-encoder, none or module:attribute, got 'fancy'"):
        reranker("fancy")
    with pytest.raises(ValueError, match="cannot load re-ranker 'nowhere:Thing'"):
        reranker("nowhere:Thing")
    with pytest.raises(ValueError, match="needs a rerank"):
        reranker("os:sep")


def test_the_reranker_named_in_the_environment_reorders_what_every_caller_gets(index_dir, monkeypatch):
    monkeypatch.setenv("QA_RERANK", "none")
    plain = Retriever.load(index_dir, embedder=FakeEmbedder()).ask(QUESTION, 3)
    monkeypatch.setenv("QA_RERANK", REVERSE)
    reversed_ = Retriever.load(index_dir, embedder=FakeEmbedder()).ask(QUESTION, 3)
    assert [(h.source, h.start) for h in reversed_.hits] == [(h.source, h.start) for h in reversed(plain.hits)]
    assert all(h.highlight is not None for h in reversed_.hits)  # the stages after it still run
    assert reversed_.answered == plain.answered and reversed_.confidence == plain.confidence
    assert reversed_.reranked and not plain.reranked


@pytest.mark.slow
def test_the_reranker_applies_to_the_http_api(serving, corpus_index, repo_root):
    question = {"question": "Who is Ardavan Hatami?", "k": 4}

    def ask(url: str) -> list:
        request = urllib.request.Request(url + "/api/ask", data=json.dumps(question).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return [(h["source"], h["start"]) for h in json.load(response)["hits"]]

    with serving(corpus_index, "--no-uploads", env={"QA_RERANK": "none"}) as url:
        plain = ask(url)
    with serving(corpus_index, "--no-uploads", env={"QA_RERANK": REVERSE, "PYTHONPATH": os.pathsep.join([str(repo_root / "tests"), os.environ.get("PYTHONPATH", "")])}) as url:
        assert ask(url) == plain[::-1]
