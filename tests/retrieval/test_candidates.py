"""The ranking stages alone, on a hand-made index: candidates gathered from both runs, a ranking's order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support.fakes import FakeEmbedder

from qa.indexing.assemble import assemble_index
from qa.passage import Passage
from qa.retrieval import candidates, fuse
from qa.retrieval.pipeline import Retriever, Stages
from qa.retrieval.ranking import Query, Ranking


def _index(texts: list[str]):
    passages = [Passage(t, f"{n}.txt", f"Doc {n}", 1, 1, 0, len(t)) for n, t in enumerate(texts)]
    return assemble_index(passages, FakeEmbedder())[0]


def test_a_ranking_puts_ties_in_the_order_of_its_rows():
    ranking = Ranking(np.array([1, 3, 5, 7]), np.array([0.5, 0.9, 0.5, 0.5], dtype=np.float32))
    assert ranking.top(3) == [(3, pytest.approx(0.9)), (1, 0.5), (5, 0.5)]
    assert ranking.top_rows(1).tolist() == [3]


def test_candidates_are_the_union_of_both_runs_with_both_scores():
    index = _index(["red apples and pears", "green apples", "the harbour at night", "ships in the harbour"])
    vector = index.encode_query(["harbour ships"])[0]
    query = Query(vector, index.keyword("apples"))  # the two runs disagree on purpose
    found = candidates.gather(index, query, depth=1)
    dense_best = candidates.dense(index, query, 1).rows.tolist()
    keyword_best = candidates.keyword(index, query, 1).rows.tolist()
    assert found.rows.tolist() == sorted(set(dense_best + keyword_best)) and len(found.rows) == 2
    assert np.allclose(found.dense, index.vectors(found.rows) @ vector)
    assert found.nearest == pytest.approx(float((index.vectors(np.arange(len(index))) @ vector).max()))
    assert np.allclose(found.keyword, query.keyword[found.rows])
    only = candidates.gather(index, query, depth=4, allowed=np.array([2, 3]))
    assert set(only.rows.tolist()) == {2, 3}
    fused = fuse.fuse(found)
    assert sorted(fused.rows.tolist()) == found.rows.tolist() and fused.scores.max() <= 1.0


def test_a_stage_is_replaced_by_configuration_of_the_pipeline():
    index = _index(["The lamp is lit at dusk. It burns all night.", "Bread is baked at dawn. It is sold by noon."])

    def first_sentence_only(question, vector, passages, embed, idf):
        from qa.passage import Highlight

        return [Highlight(p.text.split(". ")[0], p.start, p.start + len(p.text.split(". ")[0])) for p in passages]

    plain = Retriever(index).ask("When is the lamp lit?", 1)
    custom = Retriever(index, stages=dataclasses.replace(Stages(), highlight=first_sentence_only)).ask("When is the lamp lit?", 1)
    assert [h.passage for h in custom.hits] == [h.passage for h in plain.hits]
    assert custom.hits[0].highlight.text == "The lamp is lit at dusk"


def test_union_is_numpys_union_of_positions():
    rng = np.random.default_rng(7)
    for sizes in [(0, 0), (0, 5), (5, 0), (300, 300, 40), (1000, 1000)]:
        parts = [rng.integers(0, 1500, size=n).astype(np.int64) for n in sizes]
        expected = parts[0]
        for p in parts[1:]:
            expected = np.union1d(expected, p)
        got = candidates.union(*parts)
        assert got.dtype == expected.dtype and got.tolist() == np.unique(expected).tolist()
