from __future__ import annotations

import pytest
from support.fakes import FakeEmbedder

import qa
from qa.build import build_index
from qa.indexing.calibrate import PROBES, calibrate
from qa.indexing.folder import load_index
from qa.retrieval.answer import Answer
from qa.retrieval.pipeline import Retriever


@pytest.fixture
def fake_index(tiny_corpus, tmp_path):
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    return load_index(tmp_path / "idx", embedder=FakeEmbedder())


def test_calibration_comes_from_the_corpus_scores_of_off_topic_probes(fake_index):
    calibration = calibrate(fake_index)
    assert calibration.probes == len(PROBES) >= 30
    assert calibration.probe_median < calibration.threshold and calibration.probe_sd > 0
    assert fake_index.manifest.abstain == calibration  # what `qa index` stored is what it computes


def test_answer_abstains_off_topic_and_answers_on_topic(fake_index):
    on = Retriever(fake_index).ask("Which bakery sells sourdough bread and croissants near the harbour?")
    assert on.answered and on.confidence > 0 and on.hits[0].source == "sub/beta.md"
    off = Retriever(fake_index).ask("Quantum chromodynamics lattice gluon?")
    assert not off.answered and off.confidence <= 0 and off.hits  # the closest passages still come back
    assert isinstance(on, Answer) and set(on.to_dict()) == {"question", "query", "answered", "outcome", "confidence", "reranked", "hits"}


def test_the_question_is_embedded_once_per_answer(fake_index):
    embedder = fake_index.embedder
    Retriever(fake_index).ask("Which bakery sells sourdough bread?")
    assert embedder.encoded.count("Which bakery sells sourdough bread?") == 1  # search, highlight, abstention


def test_answer_resolves_follow_ups(fake_index):
    result = Retriever(fake_index).ask("When did its records begin?", history=["Tell me about the alpha station."])
    assert result.query == "alpha station: When did its records begin?"
    assert result.hits[0].source == "alpha.txt" and "1952" in result.hits[0].text


def test_ask_validates_before_loading(tmp_path):
    with pytest.raises(ValueError, match="question must not be empty"):
        qa.ask(" ", index_dir=tmp_path / "none")
    with pytest.raises(ValueError, match="k must be between 1 and 50, got 0"):
        qa.ask("why?", k=0, index_dir=tmp_path / "none")
    with pytest.raises(ValueError, match="history has 21 turns, the limit is 20"):
        qa.ask("why?", history=["Who?"] * 21, index_dir=tmp_path / "none")
    with pytest.raises(ValueError, match="each turn of history is too long"):
        qa.retrieve("why?", history=["x" * 2001], index_dir=tmp_path / "none")


@pytest.mark.slow
def test_real_model_abstains_on_the_world_cup_and_answers_the_corpus(corpus_index, real_embedder):
    index = load_index(corpus_index, embedder=real_embedder)
    world_cup = Retriever(index).ask("Who won the 2018 FIFA World Cup?")
    assert not world_cup.answered
    hatami = Retriever(index).ask("Where is Ardavan Hatami based?")
    assert hatami.answered and "Germany" in hatami.hits[0].highlight.text
    followup = Retriever(index).ask("Where is he based?", history=["Who is Ardavan Hatami?"])
    assert followup.answered and followup.query == "Ardavan Hatami: Where is he based?"
    assert "Germany" in followup.hits[0].text


@pytest.mark.slow
def test_real_model_says_related_when_the_documents_name_the_subject_but_not_what_is_asked(corpus_index, real_embedder):
    index = load_index(corpus_index, embedder=real_embedder)
    retriever = Retriever(index)
    age = retriever.ask("How old is Sharona Avginsaz?")  # named in the corpus; her age is not
    assert (age.outcome, age.answered) == ("related", False)
    # The passages about her still come back. First or second: at int8 "a 31-year-old Iranian" (an age,
    # someone else's) ties with the best of them (0.975 / 0.974), at fp32 it is third.
    assert any("Avginsaz" in h.text for h in age.hits[:2])
    # A number elsewhere ("a 31-year-old Iranian") is not her age; a date about her is no birth date.
    assert retriever.ask("When was Sharona Avginsaz born?").outcome == "related"
    stated = retriever.ask("When did Sharona Avginsaz immigrate to Israel?")
    assert (stated.outcome, stated.answered) == ("answered", True) and "1988" in stated.hits[0].highlight.text
    off = retriever.ask("Who won the 2018 FIFA World Cup?")
    assert (off.outcome, off.answered) == ("not_found", False)
    assert age.to_dict()["outcome"] == "related"
