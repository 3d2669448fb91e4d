from __future__ import annotations

import pytest

import qa
from qa.answer import PROBES, Answer, answer, calibrate
from qa.build import build_index
from qa.search import Index

from fakes import FakeEmbedder


@pytest.fixture
def fake_index(tiny_corpus, tmp_path) -> Index:
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    return Index.load(tmp_path / "idx", embedder=FakeEmbedder())


def test_calibration_comes_from_the_corpus_scores_of_off_topic_probes(fake_index):
    calibration = calibrate(fake_index)
    assert calibration["probes"] == len(PROBES) >= 30
    assert calibration["probe_median"] < calibration["threshold"] and calibration["probe_sd"] > 0
    assert fake_index.manifest["abstain"] == calibration  # what `qa index` stored is what it computes


def test_answer_abstains_off_topic_and_answers_on_topic(fake_index):
    on = answer(fake_index, "Which bakery sells sourdough bread and croissants near the harbour?")
    assert on.answered and on.confidence > 0 and on.hits[0].source == "sub/beta.md"
    off = answer(fake_index, "Quantum chromodynamics lattice gluon?")
    assert not off.answered and off.confidence <= 0 and off.hits  # the closest passages still come back
    assert isinstance(on, Answer) and set(on.to_dict()) == {"question", "query", "answered", "confidence", "hits"}


def test_the_question_is_embedded_once_per_answer(fake_index):
    embedder = fake_index.embedder
    answer(fake_index, "Which bakery sells sourdough bread?")
    assert embedder.encoded.count("Which bakery sells sourdough bread?") == 1  # search, highlight, abstention


def test_answer_resolves_follow_ups(fake_index):
    result = answer(fake_index, "When did its records begin?", history=["Tell me about the alpha station."])
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
    index = Index.load(corpus_index, embedder=real_embedder)
    world_cup = answer(index, "Who won the 2018 FIFA World Cup?")
    assert not world_cup.answered
    hatami = answer(index, "Where is Ardavan Hatami based?")
    assert hatami.answered and "Germany" in hatami.hits[0].highlight.text
    followup = answer(index, "Where is he based?", history=["Who is Ardavan Hatami?"])
    assert followup.answered and followup.query == "Ardavan Hatami: Where is he based?"
    assert "Germany" in followup.hits[0].text
