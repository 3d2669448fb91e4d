"""Background indexing for the server: uploads never make anyone wait."""

from __future__ import annotations

import threading

from support.fakes import FakeEmbedder

from qa.indexing.folder import load_index
from qa.serve.indexer import Indexer


class SlowEmbedder(FakeEmbedder):
    """Holds every encode until released, to catch the indexer in the middle of a build."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    def encode(self, texts, **kw):
        self.release.wait(30)
        return super().encode(texts, **kw)


def test_sync_runs_in_the_background_and_coalesces_requests(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Alpha\n\nThe alpha paragraph is about the lighthouse lamp.\n")
    embedder = SlowEmbedder()
    indexer = Indexer(corpus, tmp_path / "idx", embedder=embedder)
    indexer.sync("a.txt")
    assert indexer.status.busy and "Indexing a.txt" in indexer.status.message  # returned at once
    (corpus / "b.txt").write_text("Beta\n\nThe beta paragraph is about the harbour wall.\n")
    indexer.sync("b.txt")  # while the first build runs: done once, right after it
    indexer.sync("b.txt")
    embedder.release.set()
    status = indexer.wait(60)
    assert not status.busy and status.error is None and "2 documents" in status.message
    sources = {p.source for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages}
    assert sources == {"a.txt", "b.txt"}


def test_a_failed_build_is_reported_not_raised(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_text("")
    indexer = Indexer(corpus, tmp_path / "idx", embedder=FakeEmbedder())
    indexer.sync()
    status = indexer.wait(60)
    assert not status.busy and status.error and "nothing to index" in status.message
