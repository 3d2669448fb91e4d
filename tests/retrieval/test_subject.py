"""The subject of a question and the test of whether the re-ranker can tell "about it" from "answers it"
on an index (fast: a fake gap), and the test at work with the real cross-encoder on corpus/."""

from __future__ import annotations

import pytest

from qa.passage import Passage
from qa.retrieval import subject as subject_module
from qa.retrieval.subject import MARGIN, check, subject


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("What is Sharona Avginsaz's phone number?", "Sharona Avginsaz"),
        ("Ardavan Hatami: what is his music about?", "Ardavan Hatami"),  # a follow-up's topic leads
        ("According to Avginsaz, what do the messages prove?", "Avginsaz"),  # a clause's first word alone: no name
        ("Which TV channel did Avginsaz speak to?", "TV Avginsaz"),
        ("In which country did the 31-year-old Iranian ask for asylum?", "31-year-old Iranian"),
        ("Where do the uncles who escaped live today?", None),
        ("", None),
    ],
)
def test_subject_is_the_names_a_question_mentions(question, names):
    assert subject(question) == names


def test_subject_is_bounded():
    assert len(subject("What " + "Name " * 500 + "?")) <= subject_module.MAX_CHARS


def _passages() -> list[Passage]:
    texts = [f"Person{n} Family{n} lives in Town{n}. Person{n} Family{n} likes to paint." for n in range(10)]
    return [Passage(t, f"d{n}.txt", "", 1, 1, 0, len(t)) for n, t in enumerate(texts)]


def test_check_turns_the_test_on_when_made_questions_fall_below_their_subject():
    def gap(question: str, asked: str, passage: Passage) -> float | None:
        return -5.0 if question.startswith(("What", "Which")) else 1.0  # made questions low, own sentences high

    found = check(_passages(), gap)
    assert found.on and found.tried >= 4 and found.caught == found.kept == found.tried and found.margin == MARGIN


def test_check_turns_it_off_when_the_reranker_cannot_tell():
    assert not check(_passages(), lambda q, a, p: 0.0).on  # made questions not below: nothing caught
    assert not check(_passages(), lambda q, a, p: -5.0).on  # own sentences below too: the test would abstain on them
    assert not check(_passages()[:1], lambda q, a, p: -5.0 if q.startswith("What") else 1.0).on  # too few names
    assert not check([], lambda q, a, p: 0.0).on


@pytest.mark.slow
def test_near_topic_questions_are_related_and_real_ones_answered(corpus_dir, real_embedder):
    from qa.build import index_corpus
    from qa.retrieval.pipeline import Retriever

    retriever = Retriever(index_corpus(corpus_dir, embedder=real_embedder))
    retriever.warm_up()  # tries the test on the corpus's own names: it works here
    tried = retriever._subject_check
    assert tried is not None and tried.on and tried.tried >= 12 and tried.caught >= 0.75 * tried.tried
    related = retriever.ask("Which university did Homan Khalili study at?")
    assert related.outcome == "related" and not related.answered and related.hits  # the passages still shown
    assert "Khalili" in related.hits[0].text
    gap = retriever.subject_gap(related.query, related.question, related.hits)
    assert gap is not None and gap < -MARGIN
    answered = retriever.ask("What does Homan Khalili say Israel is the only country in the Middle East to do?")
    assert answered.outcome == "answered" and retriever.subject_gap(answered.query, answered.question, answered.hits) >= -MARGIN
    # a follow-up naming no one is not tested (the cross-encoder reads "X: what is his…?" poorly)
    follow = retriever.ask("Where is he based?", history=["Who is Ardavan Hatami?"])
    assert follow.outcome == "answered" and retriever.subject_gap(follow.query, follow.question, follow.hits) is None
    # asked of a document that never names him: the cross-encoder's best is far below its floor
    elsewhere = retriever.ask("Who is Ardavan Hatami?", sources=["000_ec1e6d9161bd9899.txt"])
    assert elsewhere.hits and elsewhere.hits[0].score < retriever.reranker.floor and elsewhere.outcome == "not_found"
    assert retriever.ask("Who is Ardavan Hatami?").outcome == "answered"
    # without the re-ranker there is no subject test: the asked-form test alone (no date asked: answered)
    plain = Retriever(retriever.index, rerank="none")
    assert plain.subject_gap(related.query, related.question, related.hits) is None
    assert plain.ask("Which university did Homan Khalili study at?").outcome == "answered"
