from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.fakes import FakeEmbedder

import qa
from qa.build import build_index
from qa.indexing.folder import load_index
from qa.passage import Hit
from qa.retrieval.pipeline import Retriever


@pytest.fixture
def fake_index(tiny_corpus, tmp_path) -> Retriever:
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    return Retriever.load(tmp_path / "idx", embedder=FakeEmbedder())


def test_hits_are_frozen_dataclasses_best_first(fake_index):
    hits = fake_index.retrieve("sourdough bread croissants harbour", k=3)
    assert [type(h) for h in hits] == [Hit] * 3
    assert hits[0].source == "sub/beta.md" and hits[0].paragraph == 1 and hits[0].line == 2
    assert hits[0].section == ("Beta Bakery",) and hits[0].citation().startswith("Beta Bakery — sub/beta.md ¶1, line 2")
    assert hits[0].title == "Beta Bakery"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hits[0].score = 1.0
    assert set(hits[0].to_dict()) == {
        "text", "source", "title", "paragraph", "line", "start", "end", "score", "highlight", "section", "page", "copies", "boxes", "ocr",
        "citation",
    }
    for hit in hits:  # the highlight is an exact substring of the passage, with offsets into the file
        assert hit.highlight.text in hit.text and hit.start <= hit.highlight.start < hit.highlight.end <= hit.end


def test_k_larger_than_the_index_returns_everything(fake_index):
    assert len(fake_index.retrieve("anything at all", k=50)) == len(fake_index.index) == 4


@pytest.mark.parametrize(
    "question, k, message",
    [
        ("", 5, "question must not be empty or blank"),
        ("   \n", 5, "question must not be empty or blank"),
        ("\u200b\u200d\ufeff\x00\x1b\u2028 ", 5, "question must not be empty or blank"),  # nothing visible
        (None, 5, "question must be a string, got NoneType"),
        ("x" * 2001, 5, "question is too long: 2,001 characters, the limit is 2,000"),
        ("rain \ud800?", 5, "question is not valid Unicode text"),
        ("rain?", 0, "k must be between 1 and 50, got 0"),
        ("rain?", -3, "k must be between 1 and 50, got -3"),
        ("rain?", 51, "k must be between 1 and 50, got 51"),
        ("rain?", 2.5, "k must be an integer, got float"),
        ("rain?", 1e300, "k must be between 1 and 50, got a number far out of it"),
        ("rain?", True, "k must be an integer, got bool"),
        ("rain?", "5", "k must be an integer, got str"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_value(fake_index, tmp_path, question, k, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        fake_index.retrieve(question, k)
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):  # checked before any loading
        qa.retrieve(question, k, index_dir=tmp_path / "does-not-exist")


def test_module_retrieve_reloads_a_rebuilt_index(tiny_corpus, tmp_path, monkeypatch):
    import qa.indexing.folder

    index_dir = tmp_path / "idx"
    build_index(tiny_corpus, index_dir, embedder=FakeEmbedder())
    monkeypatch.setattr(qa.indexing.folder, "Embedder", lambda model, **kw: FakeEmbedder(model_id=model))
    assert qa.retrieve("telescope galaxies", k=1, index_dir=index_dir)[0].source != "gamma.txt"
    (tiny_corpus / "gamma.txt").write_text("Gamma\n\nThe gamma telescope watches distant galaxies at night.\n")
    build_index(tiny_corpus, index_dir, embedder=FakeEmbedder())
    assert qa.retrieve("telescope galaxies", k=1, index_dir=index_dir)[0].source == "gamma.txt"


# --- the real model on the default corpus -------------------------------------------------------

QUESTIONS = [
    ("How long was the Iranian's father in prison?", "001_a1be916fc4c24177.txt", 4, 9),
    ("When did Sharona Avginsaz immigrate to Israel?", "000_ec1e6d9161bd9899.txt", 11, 22),
    ("How many followers does the Persian Instagram account have?", "000_ec1e6d9161bd9899.txt", 15, 30),
    ("Where is Ardavan Hatami based?", "002_14c79f4b99af8c32.txt", 7, 7),
    ("What did Bennett do during Nowruz in 2022?", "002_14c79f4b99af8c32.txt", 13, 13),
    ("When did Iran sever ties with Israel?", "002_14c79f4b99af8c32.txt", 10, 10),
    ("Why did the well-known athlete flee Iran?", "001_a1be916fc4c24177.txt", 11, 23),
    ("How many people does the ministry's content reach every week?", "001_a1be916fc4c24177.txt", 13, 27),
    ("What do Iranians use to contact the Foreign Ministry?", "000_ec1e6d9161bd9899.txt", 6, 12),
    ("Who is Homan Khalili?", "002_14c79f4b99af8c32.txt", 4, 4),
    ("Did the delegation visit the Western Wall?", "002_14c79f4b99af8c32.txt", 3, 3),
]


@pytest.fixture(scope="module")
def real_index(corpus_index, real_embedder) -> Retriever:
    return Retriever.load(corpus_index, embedder=real_embedder)


@pytest.mark.slow
@pytest.mark.parametrize("question, source, paragraph, line", QUESTIONS)
def test_real_model_puts_the_answering_paragraph_first(corpus_dir, real_index, question, source, paragraph, line):
    top = real_index.retrieve(question, k=5)[0]
    assert (top.source, top.paragraph, top.line) == (source, paragraph, line)
    text = (corpus_dir / source).read_text(encoding="utf-8")
    assert text[top.start : top.end] == top.text
    assert top.title == text.splitlines()[0].strip()
    assert 0 < top.score <= 1.0001


@pytest.mark.slow
def test_retrieve_works_from_any_directory(corpus_index, tmp_path):
    """`import qa; qa.retrieve(...)` in a fresh interpreter, elsewhere, with $QA_INDEX_DIR set."""
    code = "import qa; h = qa.retrieve('Where is Ardavan Hatami based?')[0]; print(h.source, h.paragraph)"
    env = {**os.environ, "QA_INDEX_DIR": str(corpus_index)}
    env.pop("QA_MODEL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["002_14c79f4b99af8c32.txt", "7"]


def test_default_index_location(repo_root, tmp_path, monkeypatch):
    from qa.config import PROJECT_ROOT, find_index_dir

    monkeypatch.chdir(tmp_path)
    assert PROJECT_ROOT == repo_root  # installed in editable mode from this checkout
    assert find_index_dir() == repo_root / "index"  # nothing here: the checkout's index
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "manifest.json").write_text("{}")
    assert find_index_dir() == Path("index")  # an index in the working directory wins
    monkeypatch.setenv("QA_INDEX_DIR", "/somewhere/else")
    assert find_index_dir() == Path("/somewhere/else")
    assert find_index_dir("explicit") == Path("explicit")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_can_be_restricted_to_chosen_files(fake_index, mode):
    everywhere = fake_index.retrieve("sourdough bread croissants harbour", k=4, mode=mode)
    assert everywhere[0].source == "sub/beta.md"
    only_alpha = fake_index.retrieve("sourdough bread croissants harbour", k=4, mode=mode, sources=["alpha.txt"])
    assert only_alpha and {h.source for h in only_alpha} == {"alpha.txt"}
    with pytest.raises(ValueError, match="^sources: 1 of the files named is not in the index$"):
        fake_index.retrieve("bread", k=3, mode=mode, sources=["alpha.txt", "no-such-file.txt"])


def test_restricting_to_a_duplicates_path_searches_its_original(tiny_corpus, tmp_path):
    (tiny_corpus / "copy-of-alpha.txt").write_bytes((tiny_corpus / "alpha.txt").read_bytes())
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    index = load_index(tmp_path / "idx", embedder=FakeEmbedder())
    original = index.allowed(["alpha.txt"])
    assert original.size and {index.passages[i].source for i in original} == {"alpha.txt"}
    assert list(index.allowed(["copy-of-alpha.txt"])) == list(original)
    assert list(index.allowed(["alpha.txt", "copy-of-alpha.txt", "nowhere.txt"])) == list(original)
    assert list(index.allowed(["nowhere.txt"])) == []
    both = index.allowed(["alpha.txt", "sub/beta.md"])
    assert list(both) == sorted(both) and len(both) == original.size + index.sources["sub/beta.md"]
    hits = Retriever(index).retrieve("station", k=5, sources=["copy-of-alpha.txt"])
    assert hits and {h.source for h in hits} == {"alpha.txt"}


def test_a_repeated_question_embeds_nothing_new_and_answers_the_same(tiny_corpus, tmp_path):
    build_index(tiny_corpus, tmp_path / "idx", embedder=FakeEmbedder())
    fake = FakeEmbedder()
    index = Retriever.load(tmp_path / "idx", embedder=fake)
    first = index.retrieve("sourdough bread croissants harbour", k=3)
    assert "sourdough bread croissants harbour" in fake.encoded  # the question, and the hits' sentences
    assert any(h.highlight.text in fake.encoded for h in first)
    fake.encoded.clear()
    assert index.retrieve("sourdough bread croissants harbour", k=3) == first
    assert fake.encoded == []


def test_the_invisible_characters_are_the_control_format_and_separator_characters_of_the_bmp():
    import re
    import unicodedata

    from qa.retrieval.request import INVISIBLE, SHOWS_NOTHING

    invisible, nothing = re.compile(f"[{INVISIBLE}]"), re.compile(f"[{SHOWS_NOTHING}]")
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates: refused as invalid text, not as blank
        char = chr(code)
        expected = unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp") or bool(nothing.match(char))
        assert bool(invisible.match(char)) == expected, hex(code)
    # drawn as nothing, of other categories: variation selectors (U+FE0F is what an attacker sent), the
    # combining grapheme joiner, Mongolian selectors, Hangul fillers, blank braille
    assert all(invisible.match(c) for c in "\ufe0f\ufe0e\u180b\u034f\u115f\u3164\uffa0\u2800\u17b4")


def test_a_question_of_invisible_characters_beyond_the_bmp_is_blank_too():
    import re
    import unicodedata

    from qa.retrieval.request import INVISIBLE_BEYOND, BlankQuestion, check_visible

    beyond = re.compile(f"[{INVISIBLE_BEYOND}]")
    for code in range(0x10000, 0x110000):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            assert beyond.match(char), hex(code)  # every one of them is named
        elif beyond.match(char):  # what else is named: variation selectors, or not assigned in this Unicode
            assert unicodedata.category(char) in ("Mn", "Cn"), hex(code)
    for blank in ["\U000e0041\U000e0042", " \U0001d173\u200b\U000e0100 ", "\U000110bd"]:
        with pytest.raises(BlankQuestion):
            check_visible(blank)
    assert check_visible("\U0001f600 ok?") == "\U0001f600 ok?"  # an emoji shows
