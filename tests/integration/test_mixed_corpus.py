"""A corpus of all five formats, indexed with the real model: each format answers its question with the
right citation (page for PDF, section path for Markdown/HTML/DOCX), in the API, the CLI and the chat."""

from __future__ import annotations

import json

import pytest
from support.documents import GUIDE_MD, KETTLE_HTML, docx_bytes, pdf_bytes
from typer.testing import CliRunner

from qa.cli import app
from qa.build import build_index
from qa.retrieval.oneshot import ask
from qa.serve.chat import escape, format_reply

pytestmark = pytest.mark.slow

QUESTIONS = [
    # (question, file, words the answer holds, citation must contain)
    ("Where do I find the spare bulb for the lamp?", "guide.md", "brass cabinet", "guide.md › Guide › Lamps › Replacing a bulb ¶"),
    ("How much citric acid do I put in the kettle?", "kettle.html", "two tablespoons", "kettle.html › With citric acid ¶"),
    ("How large was the Kettle Society treasurer's surplus?", "report.pdf", "412 pounds", "report.pdf, page 2"),
    ("How often must the ferry engine be serviced?", "manual.docx", "every 500 hours", "manual.docx › Engine ¶1"),
    ("When did the Skerry Point ferry start running?", "history.txt", "1931", "history.txt ¶2, line 3"),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, real_embedder):
    root = tmp_path_factory.mktemp("mixed")
    (root / "guide.md").write_text(GUIDE_MD)
    (root / "kettle.html").write_text(KETTLE_HTML)
    (root / "report.pdf").write_bytes(
        pdf_bytes(
            [["Annual Report of the Kettle Society",
              "The society met four times this year; attendance rose by a third thanks to the new venue."],
             ["Membership fees stay at twelve pounds. The treasurer reported a surplus of 412 pounds, which will pay "
              "for a new urn and the autumn outing."]]
        )  # fmt: skip
    )
    (root / "manual.docx").write_bytes(
        docx_bytes(
            [("h0", "Ferry Maintenance"), ("h1", "Engine"),
             ("p", "The ferry's diesel engine must be serviced every 500 hours of running, or once a year at least."),
             ("h1", "Hull"), ("p", "The hull is painted every spring with two coats of antifouling paint.")]
        )  # fmt: skip
    )
    (root / "history.txt").write_text(
        "History of the Skerry Point ferry\n\n"
        "The ferry to Skerry Point started running in 1931, carrying the keepers and their supplies.\n"
    )
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a PDF")
    index_dir = root.parent / (root.name + "-index")
    report = build_index(root, index_dir, embedder=real_embedder)
    return root, index_dir, report


def test_report_counts_formats_and_skips(mixed):
    _, _, report = mixed
    assert report.formats == {"md": 1, "html": 1, "pdf": 1, "docx": 1, "txt": 1}
    assert [s.source for s in report.skipped] == ["broken.pdf"]
    assert "formats: docx 1, html 1, md 1, pdf 1, txt 1" in report.summary()


@pytest.mark.parametrize("question, source, words, cited", QUESTIONS)
def test_each_format_answers_with_its_citation(mixed, question, source, words, cited):
    _, index_dir, _ = mixed
    result = ask(question, index_dir=index_dir)
    top = result.hits[0]
    assert result.answered and top.source == source, [h.citation() for h in result.hits]
    assert words in top.text and top.highlight is not None and words in top.highlight.text
    assert cited in top.citation()
    assert escape(cited) in format_reply(result)  # the chat shows page / section path


def test_cli_index_json_report_and_exit_codes(mixed, tmp_path):
    root, _, _ = mixed
    runner = CliRunner()
    result = runner.invoke(app, ["index", str(root), "--index-dir", str(tmp_path / "idx"), "--json"])
    assert result.exit_code == 0, result.output  # a skipped file is not a failure
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["formats"] == {"md": 1, "html": 1, "pdf": 1, "docx": 1, "txt": 1}
    assert report["skipped"][0]["source"] == "broken.pdf" and "broken PDF" in report["skipped"][0]["reason"]
    assert report["passages"] > 5 and report["written"]
    # nothing indexable → non-zero
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.pdf").write_bytes(b"nope")
    result = runner.invoke(app, ["index", str(only_bad), "--index-dir", str(tmp_path / "idx2")])
    assert result.exit_code == 1 and "nothing to index" in result.output
    # the index cannot be written → non-zero, one line
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    result = runner.invoke(app, ["index", str(root), "--index-dir", str(blocked / "idx")])
    assert result.exit_code == 1 and result.output.startswith("error: ") and "Traceback" not in result.output


def test_extracted_text_is_kept_and_offsets_refer_to_it(mixed):
    from qa.indexing.folder import load_index

    root, index_dir, _ = mixed
    index = load_index(index_dir)
    for p in index.passages:
        text = index.document_texts().get(p.source)
        if p.source.endswith((".pdf", ".docx", ".html")):
            assert text is not None and text[p.start : p.end] == p.text and p.line is None
        else:
            assert text is None and (root / p.source).read_text()[p.start : p.end] == p.text
