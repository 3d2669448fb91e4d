from __future__ import annotations

import numpy as np
import pytest

from qa.text import content_words
from qa.retrieval.sentences import asked_form, holds_form, score_sentences, states_asked_form, without_cue


@pytest.mark.parametrize(
    ("question", "form"),
    [
        ("When did Sharona Avginsaz immigrate to Israel?", "date"),
        ("In what year was the gauge installed?", "date"),
        ("How many followers does the account have?", "number"),
        ("What percentage of voters turned out?", "number"),
        ("How old is Sharona Avginsaz?", "age"),
        ("What happens when the ministry can verify a request?", None),  # "when" inside: no date asked
        ("Who is Ardavan Hatami?", None),
    ],
)
def test_the_form_a_question_asks_for(question, form):
    assert asked_form(question) == form


def test_what_holds_a_form():
    assert holds_form("She came in 1988.", "date") and holds_form("It opened in March.", "date")
    assert holds_form("The clock is wound every Sunday at noon.", "date")  # a time answers "when" too
    assert not holds_form("The clock is wound every Sunday at noon.", "date", exact=True)  # what highlights favour
    assert holds_form("It opened in March.", "date", exact=True) and holds_form("in 1988", "date", exact=True)
    assert not holds_form("She came from far away.", "date")
    assert holds_form("Half a million followers.", "number") and holds_form("3,000 years", "number")
    assert holds_form("a 31-year-old Iranian", "age") and not holds_form("she came in 1988", "age")
    assert holds_form("anything", None)
    assert without_cue("How old is Sharona Avginsaz?").split() == ["is", "Sharona", "Avginsaz?"]


def test_words_and_the_asked_form_add_to_the_cosine():
    sentences = ["The festival draws big crowds.", "Sharona arrived in 1988."]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    question = np.array([0.8, 0.6], dtype=np.float32)  # closer to the first sentence
    plain = score_sentences("What about the festival?", question, sentences, vectors, {"festiv": 1.0})
    assert plain[0] > plain[1] and plain[0] == pytest.approx(0.8 + 0.8)  # cosine + WORD_WEIGHT × all its words
    asked = score_sentences("When did Sharona arrive?", question, sentences, vectors, {"sharona": 3.0, "arriv": 1.0})
    # "Sharona" is rarer than "arrive" (3/4 of the weight), and only the second sentence holds a date.
    assert asked[1] == pytest.approx(0.6 + 0.8 * 1.0 + 0.1) and asked[0] == pytest.approx(0.8)


def test_the_asked_form_must_stand_beside_the_subject():
    texts = ["Curiel told of a 31-year-old Iranian who fled.", "Sharona Avginsaz runs the Persian accounts."]
    idf = dict.fromkeys(content_words(["Sharona Avginsaz runs the accounts"])[0], 1.0)  # the questions' words
    assert not states_asked_form("How old is Sharona Avginsaz?", texts, idf)
    assert states_asked_form("How old is Sharona Avginsaz?", texts + ["Sharona Avginsaz, 52, was born in Iran."], idf)
    assert states_asked_form("Who runs the accounts?", texts, idf)  # no form asked: nothing to hold
