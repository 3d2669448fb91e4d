"""One question, one pass: what ranking found (the question's vector, its words' rarity, the passages
allowed, the best similarity) travels on to re-ranking, highlights and abstention, so nothing is embedded,
tokenised or searched twice -- counted on the real model, the real faiss store and the real cross-encoder."""

from __future__ import annotations

from collections import Counter

import pytest

import qa.text
from qa.indexing.folder import load_index
from qa.retrieval.pipeline import Retriever

pytestmark = pytest.mark.slow


def _counted(monkeypatch, index, calls: Counter, asked: list[str]) -> None:
    """Count, on the index's own parts, every search and every question embedded."""
    store, bm25, embedder = index._store, index._bm25, index._embedder  # white-box: the parts themselves

    def counting(owner, name, key):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            calls[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counting(store, "search", "store.search")
    counting(bm25, "scores", "bm25.scores")
    counting(bm25, "weighted_scores", "bm25.weighted_scores")
    counting(bm25, "idf", "bm25.idf")
    original = embedder.encode_query

    def encode_query(texts):
        asked.extend(texts)
        return original(texts)

    monkeypatch.setattr(embedder, "encode_query", encode_query)


@pytest.mark.parametrize("sources", [None, ["000_ec1e6d9161bd9899.txt"]])
def test_a_question_is_embedded_tokenised_and_searched_once(corpus_index, real_embedder, monkeypatch, sources):
    index = load_index(corpus_index, embedder=real_embedder)
    retriever = Retriever(index)  # the default: the cross-encoder
    retriever.warm_up()  # the subject test asks questions of its own: not this question's work
    calls, asked = Counter(), []
    _counted(monkeypatch, index, calls, asked)
    stemmed = Counter()
    original = qa.text._stemmed

    def stemming(text, stopwords):
        stemmed[text, stopwords] += 1
        return original(text, stopwords)

    monkeypatch.setattr(qa.text, "_stemmed", stemming)
    monkeypatch.setattr(qa.text, "_cached", qa.text.functools.lru_cache(maxsize=qa.text.TOKEN_CACHE)(stemming))
    question = "Where does Ardavan Hatami live and work?"
    answer = retriever.ask(question, 3, sources=sources)
    assert answer.hits and answer.reranked
    assert asked == [question]  # embedded once, by the model
    assert calls["bm25.scores"] == 1 and calls["bm25.idf"] == 1  # BM25 scored once, the words' rarity looked up once
    assert calls["bm25.weighted_scores"] - calls["bm25.scores"] <= 1  # besides scores' own: the feedback round's query
    # one vector search for the question (none when restricted to files: an exact scan over their rows),
    # plus the feedback round's expanded query; abstention searches nothing again
    assert calls["store.search"] == (2 if sources is None else 0)
    assert stemmed[question, "en"] == 1 and stemmed[question, "plus"] == 1  # tokenised once per stopword list


def test_a_follow_up_ranks_its_two_queries_once_each(corpus_index, real_embedder, monkeypatch):
    index = load_index(corpus_index, embedder=real_embedder)
    retriever = Retriever(index, rerank="none")
    calls, asked = Counter(), []
    _counted(monkeypatch, index, calls, asked)
    answer = retriever.ask("Where is he based?", 3, history=["Who is Ardavan Hatami?"])
    assert answer.query != answer.question and answer.hits
    assert sorted(asked) == sorted([answer.query, answer.question])  # with the topic and alone, once each
    assert calls["bm25.scores"] == 2 and calls["bm25.idf"] == 2
