from __future__ import annotations

import numpy as np
from support.fakes import FakeEmbedder

from qa.passage import Passage
from qa.retrieval.ranking import Ranking
from qa.retrieval.settle import SETTLE_DEPTH, settle


def _passages(texts: list[str]) -> list[Passage]:
    return [Passage(t, f"{n}.txt", "", 1, 1, 0, len(t)) for n, t in enumerate(texts)]


def test_the_passage_whose_sentence_names_what_is_asked_goes_first():
    passages = _passages([
        "The delegation met officials. The trip lasted a week and ended in Jerusalem.",
        "The delegation visited the Western Wall and Yad Vashem during the trip.",
        "Unrelated text about the weather in spring.",
    ])  # fmt: skip
    embedder = FakeEmbedder()
    question = "Which memorial sites did the delegation visit?"
    ranking = Ranking(np.arange(3), np.array([1.0, 0.97, 0.2], dtype=np.float32))  # fusion: a near-tie
    idf = {"memori": 3.0, "site": 2.0, "deleg": 0.5, "visit": 1.5}
    settled = settle(question, embedder.encode([question])[0], ranking, passages, embedder.encode, idf)
    assert [r for r, _ in settled.top(3)] == [1, 0, 2]
    # fusion's scale is kept: the settled scores span the range the fused ones had
    assert (settled.scores.max(), settled.scores.min()) == (np.float32(1.0), np.float32(0.2))


def test_only_the_top_passages_are_settled():
    texts = [f"Passage {n} about rivers." for n in range(SETTLE_DEPTH)] + ["The rare answer word zebra is here."]
    ranking = Ranking(np.arange(len(texts)), np.linspace(1.0, 0.5, len(texts)).astype(np.float32))
    embedder = FakeEmbedder()
    settled = settle("zebra?", embedder.encode(["zebra?"])[0], ranking, _passages(texts), embedder.encode, {"zebra": 5.0})
    assert settled.scores[-1] == ranking.scores[-1]  # beyond the settled depth: untouched
    assert settled.scores[:SETTLE_DEPTH].min() >= ranking.scores[SETTLE_DEPTH - 1]  # and still below them
    assert settled.top(SETTLE_DEPTH + 1)[-1][0] == SETTLE_DEPTH


def test_a_keyword_query_keeps_fusions_order():
    passages = _passages([
        "The delegation met officials. The trip lasted a week and ended in Jerusalem.",
        "The delegation visited the Western Wall and Yad Vashem during the trip.",
    ])  # fmt: skip
    embedder = FakeEmbedder()
    ranking = Ranking(np.arange(2), np.array([1.0, 0.97], dtype=np.float32))
    idf = {"memori": 3.0, "site": 2.0, "deleg": 0.5, "visit": 1.5}
    for keywords in ("delegation memorial sites visited", "memorial sites delegation"):
        assert settle(keywords, embedder.encode([keywords])[0], ranking, passages, embedder.encode, idf) is ranking
    asked = "delegation memorial sites visited?"  # a question mark makes it a question
    assert [r for r, _ in settle(asked, embedder.encode([asked])[0], ranking, passages, embedder.encode, idf).top(2)] == [1, 0]


def test_what_counts_as_a_question():
    from qa.retrieval.settle import is_question

    assert is_question("Which memorial sites did the delegation visit?") and is_question("how old is she")
    assert is_question("Ardavan Hatami: Where is he based?") and is_question("in what year did it open")
    assert not is_question("rsa definition key") and not is_question("causes of left ventricular hypertrophy")
