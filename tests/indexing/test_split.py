from __future__ import annotations

import random
from pathlib import Path

import pytest

from qa.indexing.split import split_document
from qa.text import sentence_spans
from qa.readers import Document, read_corpus

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def _doc(text: str, source: str = "doc.txt") -> Document:
    return Document(source, text, "0" * 64, "utf-8")


def _texts(text: str, **kw) -> list[str]:
    return [p.text for p in split_document(_doc(text), **kw)]


def test_blank_line_paragraphs():
    text = "My Title\n\nFirst paragraph is long enough to stand on its own.\n\nSecond paragraph also stands alone here.\n"
    assert _texts(text) == [
        "My Title",
        "First paragraph is long enough to stand on its own.",
        "Second paragraph also stands alone here.",
    ]


def test_single_line_break_paragraphs():
    text = (
        "My Title\n"
        "The first paragraph is a long line of prose that ends with a full stop and goes on for a while "
        "so that it is clearly not hard-wrapped text.\n"
        "“The second paragraph is a quotation that also runs long enough to be a real paragraph,” he said.\n"
    )
    parts = split_document(_doc(text))
    assert [p.paragraph for p in parts] == [1, 2, 3]
    assert parts[1].text.startswith("The first") and parts[2].text.startswith("“The second")
    assert [p.line for p in parts] == [1, 2, 3]


def test_hard_wrapped_block_stays_one_paragraph():
    text = (
        "Title\n\n"
        "This paragraph was wrapped at seventy-two columns by an editor. It has\n"
        "several lines, some of which end a sentence. Like this one.\n"
        "But they all belong together, as the reader sees them on the page.\n\n"
        "- a list item that is long enough to count\n"
        "- another list item that is long enough to count\n"
    )
    parts = _texts(text)
    assert parts[1] == (
        "This paragraph was wrapped at seventy-two columns by an editor. It has\n"
        "several lines, some of which end a sentence. Like this one.\n"
        "But they all belong together, as the reader sees them on the page."
    )
    assert parts[2:] == ["- a list item that is long enough to count", "- another list item that is long enough to count"]


def test_title_is_first_nonempty_line_and_paragraph_one():
    parts = split_document(_doc("\n\n  # The Real Title  \n\nBody text that is long enough to be a paragraph.\n", "x.md"))
    assert parts[0].title == "The Real Title" == parts[1].title
    assert parts[0].paragraph == 1 and parts[0].line == 3 and parts[0].text == "# The Real Title"


def test_short_fragments_join_a_neighbour():
    text = (
        "Title\n\n"
        "A photo caption describing a crowd in the city square at noon, long enough.\n"
        "PHOTO: AGENCY\n\n"
        "Protest in Iran\n\n"
        "The body paragraph that follows the fragment and is long enough to stand.\n"
    )
    parts = _texts(text)
    assert parts[1] == "A photo caption describing a crowd in the city square at noon, long enough.\nPHOTO: AGENCY"
    assert parts[2] == "Protest in Iran\n\nThe body paragraph that follows the fragment and is long enough to stand."
    assert len(parts) == 3


def test_seed_article_paragraph_numbers_match_the_reader_view():
    doc = next(d for d in read_corpus(CORPUS) if d.source == "001_a1be916fc4c24177.txt")
    parts = split_document(doc)
    fourth = next(p for p in parts if p.paragraph == 4)
    assert fourth.line == 9 and fourth.text.startswith("“I grew up in a politically mixed family")
    assert parts[0].title == "Thousands Of Iranians Implore Israel For Asylum"


def test_long_paragraph_is_split_at_sentences_never_truncated():
    sentences = [f"Sentence number {i} talks about topic {i} in some detail." for i in range(30)]
    body = " ".join(sentences)
    text = f"Title\n\n{body}\n"
    parts = split_document(_doc(text), max_tokens=40)
    body_parts = parts[1:]
    assert len(body_parts) > 1
    assert all(len(p.text.split()) <= 40 for p in body_parts)
    assert all(p.paragraph == 2 for p in body_parts)
    assert all(p.text.endswith(".") and p.text.startswith("Sentence") for p in body_parts)
    # Nothing lost: the pieces cover the paragraph's words in order.
    assert " ".join(p.text for p in body_parts).split() == body.split()


def test_overlong_sentence_and_word_are_cut_not_dropped():
    text = "Title\n\n" + " ".join(["word"] * 100) + " " + "x" * 500 + "\n"
    parts = split_document(_doc(text), max_tokens=30, count_tokens=lambda s: max(len(s.split()), len(s) // 20))
    pieces = parts[1:]
    assert all(max(len(p.text.split()), len(p.text) // 20) <= 30 for p in pieces)
    assert "".join(p.text for p in pieces).replace(" ", "") == ("word" * 100) + "x" * 500


def test_sentence_spans():
    text = 'He said “Go.” Then she left. Mr. Smith stayed? Yes! 3 people came… Done'
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["He said “Go.”", "Then she left.", "Mr. Smith stayed?", "Yes!", "3 people came…", "Done"]
    other = "J. R. Tolkien wrote. Dr. Who came."
    assert [other[s:e] for s, e in sentence_spans(other)] == [
        "J. R. Tolkien wrote.",
        "Dr. Who came.",
    ]


@pytest.mark.parametrize("seed", range(25))
def test_offsets_round_trip_on_random_documents(seed):
    rng = random.Random(seed)
    words = ["alpha", "Beta.", "gamma,", "“Delta!”", "epsilon?", "zeta", "Éta…", "x" * 30, "1.", "-", "#"]
    lines = []
    for _ in range(rng.randint(1, 40)):
        kind = rng.random()
        if kind < 0.25:
            lines.append(" " * rng.randint(0, 3))
        else:
            lines.append(" " * rng.randint(0, 2) + " ".join(rng.choice(words) for _ in range(rng.randint(1, 60))))
    text = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
    doc = _doc(text)
    parts = split_document(doc, max_tokens=rng.randint(5, 50))
    covered = []
    for p in parts:
        assert text[p.start : p.end] == p.text and p.text.strip() == p.text and p.text
        assert p.line == text.count("\n", 0, p.start) + 1
        covered.append((p.start, p.end))
    assert covered == sorted(covered)
    assert all(a[1] <= b[0] for a, b in zip(covered, covered[1:]))  # no overlaps
    # Every non-space character of the document is in some passage.
    inside = set()
    for s, e in covered:
        inside.update(range(s, e))
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in inside)


def test_offsets_round_trip_on_the_corpus():
    for doc in read_corpus(CORPUS):
        for p in split_document(doc):
            assert doc.text[p.start : p.end] == p.text
            assert Path(CORPUS / p.source).read_text(encoding="utf-8")[p.start : p.end] == p.text


def test_rejects_bad_max_tokens():
    with pytest.raises(ValueError, match="max_tokens must be > 0, got 0"):
        split_document(_doc("x"), max_tokens=0)


def test_huge_paragraphs_are_cut_within_the_limits_in_linear_time():
    from qa.indexing.split import MAX_CHARS

    words = " ".join(f"w{n}" for n in range(100_000))  # one "sentence" of 100k words
    blob = "x" * 1_000_000  # one "word" of 1 MB (a real tokenizer counts it as one unknown token)
    for body in (words, blob):
        text = "Title\n\n" + body
        passages = split_document(Document("big.txt", text, "0" * 64, "utf-8"), max_tokens=40, count_tokens=lambda t: len(t.split()))
        assert "".join(p.text for p in passages[1:]).replace(" ", "") == body.replace(" ", "")
        assert all(len(p.text.split()) <= 40 and len(p.text) <= MAX_CHARS for p in passages)
