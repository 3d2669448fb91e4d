from __future__ import annotations

from support.fakes import FakeEmbedder

from qa.text import content_words
from qa.passage import Passage
from qa.retrieval.highlight import highlights


def _highlights(question: str, passages: list[Passage], idf: dict[str, float] | None = None):
    embedder = FakeEmbedder()
    weights = idf if idf is not None else {w: 1.0 for w in content_words([question])[0]}
    return highlights(question, embedder.encode([question])[0], passages, embedder.encode, weights)


def _passage(text: str, start: int = 50) -> Passage:
    return Passage(text, "a.txt", "Title", 3, 4, start, start + len(text))


def test_the_sentence_that_answers_is_chosen_with_file_offsets():
    text = "The station was built long ago by the town council. Its gauge measures rainfall every hour of the day. It is painted green."
    (mark,) = _highlights("How often is rainfall measured?", [_passage(text)])
    assert mark.text == "Its gauge measures rainfall every hour of the day."
    assert text[mark.start - 50 : mark.end - 50] == mark.text


def test_a_very_short_best_sentence_takes_its_neighbour():
    text = "The committee met on Tuesday to discuss the budget. Rainfall rose. The rest of the meeting was about roads."
    (mark,) = _highlights("rainfall", [_passage(text, 0)])
    assert mark.text.startswith("Rainfall rose.") and len(mark.text) > len("Rainfall rose.")
    assert text[mark.start : mark.end] == mark.text


def test_one_highlight_per_passage_in_order():
    passages = [_passage("Bread is baked daily."), _passage("Cheese is aged for months. Milk comes from goats.")]
    marks = _highlights("goats milk", passages)
    # A short best sentence comes with its neighbour: "Milk comes from goats." is under 40 characters.
    assert [m.text for m in marks] == ["Bread is baked daily.", "Cheese is aged for months. Milk comes from goats."]


def test_rare_words_of_the_question_count_for_more_than_common_ones():
    text = "Every year the festival draws visitors to the town. Sharona moved to the town in 1988 with her family."
    question = "Which year did Sharona move to the town?"
    common = {"year": 1.0, "sharona": 1.0, "move": 1.0, "town": 1.0}
    rare = common | {"sharona": 5.0, "town": 0.1}  # the name is rare in the corpus, the town everywhere
    (weighted,) = _highlights(question, [_passage(text, 0)], rare)
    assert weighted.text == "Sharona moved to the town in 1988 with her family."
    assert _highlights(question, [_passage(text, 0)], {"year": 5.0, "sharona": 0.1, "move": 0.1, "town": 0.1})[0].text.startswith("Every year")
