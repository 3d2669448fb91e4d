from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.cli import app

runner = CliRunner()
QA = str(Path(sys.executable).with_name("qa"))  # the console script installed beside this Python


def _run(*args: str, **kw):
    return runner.invoke(app, list(args), **kw)


def _one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.output
    assert "Traceback" not in result.output


def test_help_lists_every_command():
    result = subprocess.run([QA, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("index", "ask", "serve"):
        assert command in result.stdout


def test_index_missing_corpus_folder(tmp_path):
    _one_line_error(_run("index", str(tmp_path / "nope"), "--index-dir", str(tmp_path / "i")), 1, "corpus folder not found")


def test_index_empty_corpus(tmp_path):
    (tmp_path / "c").mkdir()
    _one_line_error(_run("index", str(tmp_path / "c"), "--index-dir", str(tmp_path / "i")), 1, "nothing to index")


def test_ask_without_an_index(tmp_path):
    _one_line_error(_run("ask", "anything?", "--index-dir", str(tmp_path / "none")), 1, "no index in")


def test_ask_with_blank_question_or_bad_k(tmp_path):
    _one_line_error(_run("ask", "  ", "--index-dir", str(tmp_path)), 2, "question must not be empty")
    _one_line_error(_run("ask", "why?", "-k", "0", "--index-dir", str(tmp_path)), 2, "k must be between 1 and 50, got 0")
    too_long = _run("ask", "w" * 12_000_000, "--index-dir", str(tmp_path))
    _one_line_error(too_long, 2, "question is too long: 12,000,000 characters, the limit is 2,000")
    assert len(too_long.output) < 200  # the question is not echoed back


def test_index_with_unknown_model(tiny_corpus, tmp_path):
    result = _run("index", str(tiny_corpus), "--index-dir", str(tmp_path / "i"), "--model", str(tmp_path / "nomodel"))
    _one_line_error(result, 1, "cannot load embedding model")
    assert not (tmp_path / "i" / "manifest.json").exists()


def test_serve_without_an_index(tmp_path):
    _one_line_error(_run("serve", "--index-dir", str(tmp_path / "none")), 1, "no index in")


@pytest.mark.slow
def test_index_then_ask(tiny_corpus, tmp_path):
    (tiny_corpus / "junk.txt").write_bytes(bytes(range(256)) * 4)
    index_dir = tmp_path / "idx"
    result = _run("index", str(tiny_corpus), "--index-dir", str(index_dir))
    assert result.exit_code == 0, result.output
    assert "Indexed 2 files → 4 passages" in result.output and "formats: md 1, txt 1" in result.output
    assert "skipped 1" in result.output and "junk.txt: not text" in result.output

    result = _run("ask", "Who sells croissants?", "-k", "2", "--index-dir", str(index_dir))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Answer: The beta bakery sells sourdough bread and croissants near the harbour.\n"
        "        [1] Beta Bakery — sub/beta.md ¶1, line 2"
    )
    assert "\n[2] " in result.stdout and "[3] " not in result.stdout

    result = _run("ask", "--json", "When was the first gauge installed by volunteers?", "--index-dir", str(index_dir))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == "When was the first gauge installed by volunteers?"
    assert payload["answered"] is True and payload["outcome"] == "answered" and payload["confidence"] > 0
    assert len(payload["hits"]) == 4  # the whole tiny corpus
    top = payload["hits"][0]
    assert set(top) == {"text", "source", "title", "paragraph", "line", "start", "end", "score", "highlight", "section", "page",
                        "copies", "boxes", "ocr", "citation"}  # the record the API returns too
    text = (tiny_corpus / "alpha.txt").read_text()
    assert text[top["highlight"]["start"] : top["highlight"]["end"]] == top["highlight"]["text"]
    assert "1952" in top["highlight"]["text"]
    assert (top["source"], top["paragraph"], top["line"]) == ("alpha.txt", 3, 5)
    assert text[top["start"] : top["end"]] == top["text"]

    result = _run("ask", "--json", "Who won the 2018 FIFA World Cup?", "--index-dir", str(index_dir))
    assert (json.loads(result.stdout)["answered"], json.loads(result.stdout)["outcome"]) == (False, "not_found")
    result = _run("ask", "Who won the 2018 FIFA World Cup?", "--index-dir", str(index_dir))
    assert result.stdout.startswith("The documents do not seem to contain the answer.")

    result = _run("ask", "What does it sell?", "--history", "Tell me about the beta bakery.", "--index-dir", str(index_dir))
    assert result.stdout.startswith("searched for: beta bakery: What does it sell?")


@pytest.mark.slow
def test_index_dir_from_environment(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "env-idx"))
    assert _run("index", str(tiny_corpus)).exit_code == 0
    assert (tmp_path / "env-idx" / "manifest.json").is_file()
    result = _run("ask", "--json", "Who sells croissants?", "-k", "1")
    assert json.loads(result.stdout)["hits"][0]["source"] == "sub/beta.md"


@pytest.mark.slow
def test_acceptance_index_corpus_and_ask_json(corpus_dir, tmp_path):
    """The issue's acceptance command, through the installed console script."""
    index_dir = str(tmp_path / "idx")
    built = subprocess.run([QA, "index", str(corpus_dir), "--index-dir", index_dir], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "Indexed 3 files" in built.stdout
    asked = subprocess.run(
        [QA, "ask", "--json", "How many followers does the Persian Instagram account have?", "--index-dir", index_dir],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert asked.returncode == 0, asked.stderr
    top = json.loads(asked.stdout)["hits"][0]
    assert (top["source"], top["paragraph"], top["line"]) == ("000_ec1e6d9161bd9899.txt", 15, 30)
    assert "half a million followers" in top["text"]
    text = Path(corpus_dir / top["source"]).read_text(encoding="utf-8")
    assert text[top["start"] : top["end"]] == top["text"]


@pytest.mark.slow
def test_ask_shows_terminal_control_characters_from_documents_as_replacement_marks(tmp_path, real_embedder):
    from qa.build import build_index

    corpus = tmp_path / "docs"
    corpus.mkdir()
    filler = "The keeper logs the weather, the ships and the tides every evening in the blue book. " * 6
    (corpus / "evil.txt").write_text(f"Report \x1b]0;pwned\x07 title\n\nThe harbour lamp \x1b[2J uses a halogen bulb.\n\n{filler}\n")
    build_index(corpus, tmp_path / "idx", embedder=real_embedder)
    result = _run("ask", "Which bulb does the harbour lamp use?", "--index-dir", str(tmp_path / "idx"))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "Report \ufffd]0;pwned\ufffd title" in result.output and "lamp \ufffd[2J uses" in result.output
