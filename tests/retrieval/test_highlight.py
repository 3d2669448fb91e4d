from __future__ import annotations

from support.fakes import FakeEmbedder

from qa.passage import Passage
from qa.retrieval.highlight import highlights


def _highlights(question: str, passages: list[Passage]):
    embedder = FakeEmbedder()
    return highlights(question, embedder.encode([question])[0], passages, embedder.encode)


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
