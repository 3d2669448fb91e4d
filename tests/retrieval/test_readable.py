"""A question is searched only among the files its asker may read: ranking, counts and caches alike."""

from __future__ import annotations

import pytest
from support.fakes import FakeEmbedder

from qa.build import build_index
from qa.indexing.folder import load_index
from qa.retrieval.pipeline import Retriever
from qa.retrieval.request import UnknownSources

DOCS = {
    "public/harbour.md": "# Harbour\n\nThe harbour master of Port Elwin is Maren Tovik, who runs twelve berths.\n",
    "hr/salaries.md": "# Salaries\n\nThe harbour engineer Oskar Lindqvist earns ninety thousand crowns.\n",
    "sales/zephyr.md": "# Zephyr\n\nThe Zephyr contract for the harbour is worth three million crowns.\n",
}
RULES = "[[rule]]\npath = 'public/'\nread = ['*']\n[[rule]]\npath = 'hr/'\nread = ['hr']\n[[rule]]\npath = 'sales/'\nread = ['sales']\n"


@pytest.fixture
def retriever(tmp_path) -> Retriever:
    corpus = tmp_path / "corpus"
    for path, text in DOCS.items():
        (corpus / path).parent.mkdir(parents=True, exist_ok=True)
        (corpus / path).write_text(text)
    (corpus / ".qa-access.toml").write_text(RULES)
    build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder(), tune=None)
    return Retriever(load_index(tmp_path / "idx", embedder=FakeEmbedder()), rerank="none")


def test_only_readable_files_are_searched(retriever):
    index = retriever.index
    hr = index.readable({"hr"})
    assert hr == {"public/harbour.md", "hr/salaries.md"} and index.readable(None) is None
    for mode in ("hybrid", "dense", "bm25"):
        hits = retriever.ask("Who earns crowns at the harbour?", k=10, readable=hr, mode=mode).hits
        assert {h.source for h in hits} == hr, mode
    assert {h.source for h in retriever.ask("harbour crowns", k=10).hits} == set(DOCS)  # the owner: all
    assert retriever.ask("harbour", k=10, readable=frozenset()).hits == []  # nothing readable: nothing found


def test_a_file_one_may_not_read_is_one_not_in_the_index(retriever):
    sales = retriever.index.readable({"sales"})
    with pytest.raises(UnknownSources) as forbidden:
        retriever.ask("crowns", sources=["hr/salaries.md"], readable=sales)
    with pytest.raises(UnknownSources) as missing:
        retriever.ask("crowns", sources=["hr/nothing.md"], readable=sales)
    assert str(forbidden.value) == str(missing.value)  # the same words: a name tells nothing
    hits = retriever.ask("crowns", k=5, sources=["sales/zephyr.md", "public/harbour.md"], readable=sales).hits
    assert {h.source for h in hits} == {"sales/zephyr.md", "public/harbour.md"}


def test_counts_and_listings_are_of_readable_files(retriever):
    index = retriever.index
    hr = index.readable({"hr"})
    assert [d["source"] for d in index.documents(hr)["documents"]] == ["hr/salaries.md", "public/harbour.md"]
    about = index.about(hr)
    assert (about.documents, about.passages, about.files) == (2, 2, ("hr/salaries.md", "public/harbour.md"))
    assert index.about().documents == 3


def test_caches_are_kept_apart_by_what_the_asker_may_read(retriever):
    """A question asked by one group is embedded again for another: a fast answer must not tell one
    reader what others asked lately."""
    encoder = retriever.index.embedder
    hr, sales = retriever.index.readable({"hr"}), retriever.index.readable({"sales"})
    retriever.ask("Who earns crowns?", readable=hr)
    before = len(encoder.encoded)
    retriever.ask("Who earns crowns?", readable=hr)
    assert len(encoder.encoded) == before  # the same readers: cached
    retriever.ask("Who earns crowns?", readable=sales)
    assert "Who earns crowns?" in encoder.encoded[before:]  # other readers: embedded anew
    again = len(encoder.encoded)
    retriever.ask("Who earns crowns?", readable=frozenset(sales))  # an equal set, another object: the same scope
    assert len(encoder.encoded) == again


def test_scores_do_not_tell_whether_a_forbidden_file_has_a_word(tmp_path):
    """The same readable passage scores the same whether or not a file its reader may not read has the
    word asked for (BM25's word statistics are of the reader's passages)."""

    def score(with_secret: bool) -> float:
        corpus = tmp_path / f"c{with_secret}"
        for path, text in DOCS.items():
            (corpus / path).parent.mkdir(parents=True, exist_ok=True)
            (corpus / path).write_text(text)
        secret = "# Bluefin\n\nThe Bluefin merger with Halvard Shipping.\n" if with_secret else "# Other\n\nNothing to see here at all.\n"
        (corpus / "hr" / "secret.md").write_text(secret)
        (corpus / "public" / "mine.md").write_text("# Mine\n\nMy note mentions Bluefin once.\n")
        (corpus / ".qa-access.toml").write_text(RULES)
        build_index(corpus, tmp_path / f"i{with_secret}", embedder=FakeEmbedder(), tune=None)
        retriever = Retriever(load_index(tmp_path / f"i{with_secret}", embedder=FakeEmbedder()), rerank="none")
        hits = retriever.ask("Bluefin", k=1, mode="bm25", readable=retriever.index.readable({"sales"})).hits
        assert hits[0].source == "public/mine.md"
        return hits[0].score

    assert score(True) == pytest.approx(score(False), rel=1e-6)
