from __future__ import annotations

import pytest

from qa.retrieval.followup import depends_on_history, resolve


@pytest.mark.parametrize(
    "question",
    ["Where is he based?", "How long was his father in prison?", "What did she say next?", "And in 2022?",
     "What about Bennett?", "Why?", "How many followers does it have?", "Were they Jewish?"],
)
def test_questions_that_lean_on_the_conversation(question):
    assert depends_on_history(question)


@pytest.mark.parametrize(
    "question",
    ["Who is Ardavan Hatami?", "How many followers does the Persian Instagram account have?",
     "Which artist that visited Israel lives in Germany?", "When did Iran sever ties with Israel?"],
)
def test_questions_that_stand_on_their_own(question):
    assert not depends_on_history(question)


def test_resolve_prefixes_the_topic_of_the_conversation():
    assert resolve("Where is he based?", ["Who is Ardavan Hatami?"]) == "Ardavan Hatami: Where is he based?"
    # A chain of follow-ups keeps the topic of the turn that stood on its own.
    history = ["Who is Ardavan Hatami?", "Where is he based?"]
    assert resolve("What is his music about?", history) == "Ardavan Hatami: What is his music about?"


def test_resolve_leaves_new_topics_and_first_questions_alone():
    assert resolve("  Who is Homan Khalili? ", []) == "Who is Homan Khalili?"
    assert resolve("Who is Homan Khalili?", ["Who is Ardavan Hatami?"]) == "Who is Homan Khalili?"
    assert resolve("Where is he based?", ["", "  "]) == "Where is he based?"
