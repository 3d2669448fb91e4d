"""The question path made faster (issue 16) finds what it found before: the top 5 of every question of
tests/corpus_qa.jsonl over corpus/, at both precisions, equal to tests/corpus_qa_top5.json -- the first
stage, without the re-ranker (``rerank="none"``: the pipeline as it was then).

That file was written by qa at aeddce0 (before the question path was reworked) with the real model:
each entry is a question, its earlier turns, and its top 5 as ``source:start`` of each passage. The last 16
(the near-topic questions of issue 25) were added at f99a1bf the same way, the first 53 still matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.build import build_index
from qa.indexing.embed import Embedder
from qa.retrieval.pipeline import Retriever

pytestmark = pytest.mark.slow

EXPECTED = json.loads((Path(__file__).parents[1] / "corpus_qa_top5.json").read_text())


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_top5_as_before(precision, corpus_dir, tmp_path, real_embedder):
    embedder = Embedder(precision=precision)
    if precision == real_embedder.precision:
        embedder = real_embedder  # the session's model, already loaded
    build_index(corpus_dir, tmp_path / "idx", embedder=embedder)
    retriever = Retriever.load(tmp_path / "idx", embedder=embedder, rerank="none")
    expected = EXPECTED[precision]
    assert len(expected) == len((corpus_dir.parent / "tests" / "corpus_qa.jsonl").read_text().strip().splitlines())
    differ = []
    for case in expected:
        hits = retriever.ask(case["question"], 5, history=case["history"]).hits
        found = [f"{h.source}:{h.passage.start}" for h in hits]
        if found != case["top5"]:
            differ.append((case["question"], found, case["top5"]))
    assert not differ, f"{len(differ)} of {len(expected)} questions rank differently, first: {differ[0]}"
