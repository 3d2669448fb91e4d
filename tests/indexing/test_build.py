"""Incremental sync: only new and changed paragraphs are embedded; ids of unchanged ones stay."""

from __future__ import annotations

import pytest
from support.fakes import FakeEmbedder
from typer.testing import CliRunner

from qa.cli import app
from qa.errors import QAError
from qa.build import build_index
from qa.timing import BUILD_STAGES
from qa.indexing.calibrate import PROBES
from qa.indexing.folder import load_index
from qa.indexing.manifest import Tuning, read_manifest
from qa.retrieval.pipeline import Retriever


def _passages(embedder: FakeEmbedder) -> list[str]:
    """What an embedder embedded, without the abstention probes."""
    return [t for t in embedder.encoded if t not in PROBES]


def _ids(index_dir) -> dict[str, str]:
    index = load_index(index_dir, embedder=FakeEmbedder())
    return {p.text: pid for p, pid in zip(index.passages, index.ids)}


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for n in range(6):
        (root / f"doc{n}.txt").write_text(
            f"Document {n}\n\nThe first paragraph of document {n} talks about topic {n} at length.\n\n"
            f"The second paragraph of document {n} adds more detail about topic {n}.\n"
        )
    return root


def test_nothing_changed_embeds_and_writes_nothing(corpus, tmp_path):
    first = build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder())
    assert first.written and first.full and first.embedded == first.passages == 18
    manifest = (tmp_path / "idx" / "manifest.json").read_text()
    embedder = FakeEmbedder()
    again = build_index(corpus, tmp_path / "idx", embedder=embedder)
    assert not again.written and embedder.encoded == []
    assert again.summary().startswith("Index is up to date: 6 files, 18 passages")
    assert (tmp_path / "idx" / "manifest.json").read_text() == manifest


def test_change_add_delete_reembed_only_what_changed(corpus, tmp_path):
    index_dir = tmp_path / "idx"
    build_index(corpus, index_dir, embedder=FakeEmbedder())
    before = _ids(index_dir)
    (corpus / "doc1.txt").write_text(
        "Document 1\n\nThe first paragraph of document 1 talks about topic 1 at length.\n\n"
        "A rewritten second paragraph of document 1, now about something else entirely.\n"
    )
    (corpus / "doc2.txt").unlink()
    (corpus / "new.md").write_text("# New\n\nA brand new document with one paragraph of real content.\n")
    embedder = FakeEmbedder()
    report = build_index(corpus, index_dir, embedder=embedder)
    assert sorted(_passages(embedder)) == sorted([
        "Document 1\nA rewritten second paragraph of document 1, now about something else entirely.",
        "New\nA brand new document with one paragraph of real content.",  # a heading is a section, not a passage
    ])
    assert report.embedded == 2 and report.passages == 18 - 3 + 1  # doc2 gone, new.md in
    assert report.changes.added == {"new.md": 1} and report.changes.changed == {"doc1.txt": 3}
    assert report.changes.removed == {"doc2.txt": 3}
    assert "embedded 2 new or changed, kept 14" in report.summary()
    after = _ids(index_dir)
    unchanged = [t for t in before if t in after]
    assert len(unchanged) == 14 and all(before[t] == after[t] for t in unchanged)  # ids stay
    assert not any("document 2" in t for t in after)  # the deleted file's paragraphs are gone
    assert set(read_manifest(index_dir).files) == {f"doc{n}.txt" for n in (0, 1, 3, 4, 5)} | {"new.md"}
    hits = Retriever.load(index_dir, embedder=FakeEmbedder()).retrieve("rewritten something else entirely", k=1)
    assert hits[0].source == "doc1.txt" and hits[0].paragraph == 3


def test_dry_run_lists_changes_and_writes_nothing(corpus, tmp_path):
    index_dir = tmp_path / "idx"
    build_index(corpus, index_dir, embedder=FakeEmbedder())
    manifest = (index_dir / "manifest.json").read_text()
    (corpus / "doc0.txt").write_text("Document 0\n\nCompletely different text for the zeroth document now.\n")
    (corpus / "doc5.txt").unlink()
    embedder = FakeEmbedder()
    report = build_index(corpus, index_dir, embedder=embedder, dry_run=True)
    assert not report.written and embedder.encoded == []
    assert (index_dir / "manifest.json").read_text() == manifest
    text = report.summary()
    assert text.startswith("Dry run, nothing written. 5 files → 14 passages; would embed 1")
    assert "  changed  doc0.txt (2 passages)" in text and "  removed  doc5.txt (3 passages)" in text


def test_rebuild_embeds_everything(corpus, tmp_path):
    build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder())
    embedder = FakeEmbedder()
    report = build_index(corpus, tmp_path / "idx", embedder=embedder, rebuild=True)
    assert report.written and report.full and len(_passages(embedder)) == 18


def test_another_model_must_rebuild(corpus, tmp_path):
    build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder())
    with pytest.raises(QAError, match="built with model 'fake-bow', not 'other'; rebuild it with 'qa index --rebuild'"):
        build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder(model_id="other"))
    assert build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder(model_id="other"), rebuild=True).written


def test_touching_one_file_of_200_reembeds_only_its_paragraphs(tmp_path, monkeypatch):
    corpus = tmp_path / "big"
    corpus.mkdir()
    for n in range(200):
        (corpus / f"f{n:03}.txt").write_text(f"File {n}\n\nParagraph one of file {n} with enough words.\n\nParagraph two of file {n}, also long enough.\n")
    build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder())
    (corpus / "f123.txt").write_text("File 123\n\nParagraph one of file 123 with enough words.\n\nParagraph two, edited today, long enough.\n")
    import qa.cli

    embedder = FakeEmbedder()
    monkeypatch.setattr(qa.cli, "Embedder", lambda model=None, **kw: embedder)
    result = CliRunner().invoke(app, ["index", str(corpus), "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert _passages(embedder) == ["File 123\nParagraph two, edited today, long enough."]  # title + text
    assert "embedded 1 new or changed, kept 599" in result.stdout and "changed  f123.txt (3 passages)" in result.stdout


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_index_kind_can_be_chosen_and_still_finds_passages(corpus, tmp_path, kind):
    build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder(), kind=kind)
    retriever = Retriever.load(tmp_path / "idx", embedder=FakeEmbedder())
    assert retriever.index._store.kind == kind == read_manifest(tmp_path / "idx").store
    assert retriever.retrieve("second paragraph document 4 detail topic 4", k=1)[0].source == "doc4.txt"


def test_index_kind_follows_corpus_size():
    from qa.indexing.stores import EXACT_LIMIT, choose_kind

    assert choose_kind(EXACT_LIMIT) == "flat" and choose_kind(EXACT_LIMIT + 1) == "ivf"
    assert choose_kind(10, "hnsw") == "hnsw"
    with pytest.raises(ValueError, match="index kind must be one of auto, flat, hnsw, ivf, milvus, got 'tree'"):
        choose_kind(10, "tree")
    result = CliRunner().invoke(app, ["index", ".", "--index-type", "tree"])
    assert result.exit_code == 2 and "got 'tree'" in result.output


class _Tuner:
    """Counts how often a build measured the tuning (the real measurement: tests/retrieval/test_tune.py)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, index):
        self.calls += 1
        return Tuning(0.8, "measured", 40, len(index), {"0.6": 0.5, "0.8": 0.6})


def test_the_tuning_is_stored_reported_and_measured_again_only_when_much_changed(corpus, tmp_path):
    tuner, index_dir = _Tuner(), tmp_path / "index"
    report = build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=tuner)
    assert tuner.calls == 1 and read_manifest(index_dir).tuning == report.tuning == tuner(load_index(index_dir, embedder=FakeEmbedder()))
    assert "hybrid: dense weight 0.8, BM25 0.2; titles once (measured: 40 sentences" in report.summary()
    assert report.to_dict()["tuning"]["dense_weight"] == 0.8
    tuner.calls = 0
    (corpus / "doc0.txt").write_text("Document 0\n\nOne paragraph changed in one of six files.\n")
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=tuner)
    assert tuner.calls == 0  # a small change keeps what was measured
    for n in range(6, 12):
        (corpus / f"doc{n}.txt").write_text(f"Document {n}\n\nA new paragraph about subject {n}.\n")
    build_index(corpus, index_dir, embedder=FakeEmbedder(), tune=tuner)
    assert tuner.calls == 1  # half the corpus is new: measured again
    assert Retriever.load(index_dir, embedder=FakeEmbedder()).tuning.dense_weight == 0.8


def test_without_a_tuner_the_index_keeps_the_defaults(corpus, tmp_path):
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder(), tune=None)
    assert report.tuning is None and read_manifest(tmp_path / "index").tuning is None
    assert Retriever.load(tmp_path / "index", embedder=FakeEmbedder()).tuning.method == "defaults (not measured)"


def test_the_one_build_tunes_by_default_and_reports_seconds_per_stage(corpus, tmp_path):
    report = build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())  # as qa index, the server and Python do
    assert report.tuning is not None and report.tuning == read_manifest(tmp_path / "index").tuning
    assert report.tuning.method.startswith("defaults: ")  # too few sentences to measure on: said so, measured
    assert list(report.stages) == [s for s in BUILD_STAGES if s in report.stages]
    assert {"read", "split", "embed", "bm25", "calibrate", "tune", "write"} <= set(report.stages)
    assert all(s >= 0 for s in report.stages.values()) and sum(report.stages.values()) <= report.seconds + 0.01
    assert "  seconds: read " in report.summary() and report.to_dict()["stages"] == report.stages


def test_an_index_built_in_memory_keeps_no_build_words_and_its_bm25_reads_titles_as_tuned(corpus):
    """The words a build tokenizes for its BM25s are let go once it is built; the BM25 kept is the one of
    the title weight the tuning chose (made once, after tuning), the same as one built from scratch."""
    from qa import index_corpus
    from qa.indexing.bm25 import BM25

    index = index_corpus(corpus, embedder=FakeEmbedder())
    assert index.words is None
    weight = index.tuning.title_weight
    scratch = BM25.build([p.keyword_text(weight) for p in index.passages])
    for question in ("topic 3 detail", "Document 4", "first paragraph"):
        assert (index.keyword(question) == scratch.scores(question)).all()


def test_an_inconsistent_index_without_bm25_yet_is_said_so_not_a_type_error():
    from qa.indexing.index import Index
    from qa.passage import Passage

    class NoVectors:
        dimension = 3

        def __len__(self):
            return 0

    with pytest.raises(QAError, match=r"^index is inconsistent \(1 passages, 0 vectors, none yet in BM25\)"):
        Index([Passage("t", "a.txt", "", 1, 1, 0, 1)], NoVectors(), None, FakeEmbedder(), None, ["x"])
