from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.fakes import FakeEmbedder
from typer.testing import CliRunner

from qa.cli import app
from qa.errors import QAError
from qa.evaluate import ANSWERABLE, abstain_auroc, evaluate_qa, evaluate_retrieval, load_beir, load_qa_cases
from qa.build import index_corpus

QA_FILE = Path(__file__).parent / "corpus_qa.jsonl"
MSMARCO = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "msmarco-trecdl-5k"


def _beir(folder: Path, header: bool) -> Path:
    (folder / "qrels").mkdir(parents=True)
    docs = [
        ("d1", "Bakery", "The bakery sells sourdough bread and croissants."),
        ("d2", "", "Rainfall in the valley is measured every hour."),
        ("d3", "Harbour", "Fishing boats come back to the harbour at dawn."),
        ("d4", "", "Croissants are made with butter and flour."),
    ]
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    queries = [("q1", "where can I buy croissants"), ("q2", "how often is rainfall measured"), ("q3", "no judgments")]
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries))
    rows = ["q1\td1\t2", "q1\td4\t1", "q1\td3\t0", "q2\td2\t3"]
    (folder / "qrels" / "test.tsv").write_text(("query-id\tcorpus-id\tscore\n" if header else "") + "\n".join(rows) + "\n")
    return folder


@pytest.mark.parametrize("header", [True, False])
def test_load_beir_with_or_without_a_header(tmp_path, header):
    passages, queries, qrels = load_beir(_beir(tmp_path / "ds", header))
    assert [p.source for p in passages] == ["d1", "d2", "d3", "d4"]
    assert passages[0].title == "Bakery" and passages[0].search_text.startswith("Bakery\n")
    assert qrels == {"q1": {"d1": 2, "d4": 1, "d3": 0}, "q2": {"d2": 3}}
    assert len(queries) == 3


def test_bad_datasets_get_clear_errors(tmp_path):
    with pytest.raises(QAError, match="dataset folder not found"):
        load_beir(tmp_path / "none")
    folder = _beir(tmp_path / "ds", header=False)
    (folder / "qrels" / "test.tsv").write_text("q1\td1\t2\nq1\td2\tlots\n")
    with pytest.raises(QAError, match="grade is not a number"):
        load_beir(folder)


def test_evaluate_retrieval_scores_every_mode_with_ranx(tmp_path):
    results = evaluate_retrieval(_beir(tmp_path / "ds", True), embedder=FakeEmbedder())
    assert set(results) == {"hybrid", "dense", "bm25"}
    for scores in results.values():
        assert scores["queries"] == 2  # q3 has no judgments
        assert 0 < scores["ndcg@10"] <= 1 and scores["recall@100"] == 1.0 and scores["mrr@10"] == 1.0


def test_eval_cli_json(tmp_path, monkeypatch):
    import qa.cli

    monkeypatch.setattr(qa.cli, "Embedder", lambda model=None, **kw: FakeEmbedder())
    result = CliRunner().invoke(app, ["eval", str(_beir(tmp_path / "ds", False)), "--mode", "bm25", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"bm25"}
    bad = CliRunner().invoke(app, ["eval", str(tmp_path / "ds"), "--mode", "fuzzy"])
    assert bad.exit_code == 2 and "mode must be one of hybrid, dense, bm25, got 'fuzzy'" in bad.output


def test_qa_file_has_all_three_shapes_and_true_answers(corpus_dir):
    cases = load_qa_cases(QA_FILE)
    kinds = [c.kind for c in cases]
    assert len(cases) >= 30 and {"single", "followup", "unanswerable", "near_topic"} == set(kinds)
    assert kinds.count("near_topic") >= 12
    for case in cases:
        if case.answer:  # every answer is really in its source article
            assert case.answer.lower() in (corpus_dir / case.source).read_text(encoding="utf-8").lower()


def test_qa_file_errors(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"q": "x?", "answer": "y"}\n')
    with pytest.raises(QAError, match="both 'answer' and 'source'"):
        load_qa_cases(path)
    path.write_text('{"answer": "y", "source": "a.txt"}\n')
    with pytest.raises(QAError, match="needs a non-empty 'q' or 'turns'"):
        load_qa_cases(path)
    path.write_text('{"q": "x?", "answer": "y", "source": "a.txt", "near_topic": true}\n')
    with pytest.raises(QAError, match="'near_topic' is true or false, and true only without an answer"):
        load_qa_cases(path)
    path.write_text("{broken\n")
    with pytest.raises(QAError, match="not valid JSON"):
        load_qa_cases(path)


@pytest.mark.slow
def test_eval_qa_acceptance_on_the_default_corpus(corpus_dir, real_embedder):
    """The bar: answer@1 ≥ 90% (with the cross-encoder 40 of 43, one more than without), every off-topic
    question not found, at least 10 of the 16 near-topic ones (an entity of the documents, a fact they do
    not state) not answered (12 measured: 11 by the re-ranker's subject test, 3 by the asked-form test, 2 of them by
    both), no answerable question abstained. answer@3 is 41 of 43 with the cross-encoder (43 without): the paragraph
    saying "she told Israel's Channel 20" does not name Avginsaz, and the cross-encoder, reading it alone,
    cannot tell who "she" is (open in issue 25)."""
    report, rows = evaluate_qa(load_qa_cases(QA_FILE), index_corpus(corpus_dir, embedder=real_embedder))
    misses = {r["question"] for r in rows if r["kind"] in ANSWERABLE and not r["answer@3"]}
    assert misses <= {"Which TV channel did Avginsaz speak to?", "Which TV channel did she tell that to?"}, misses
    assert report["answer@1"]["count"] >= 40 and report["rerank"] == "cross-encoder"
    assert report["off_topic_not_found"]["rate"] == 1.0
    assert report["near_topic_not_answered"]["count"] >= 10
    assert {r["outcome"] for r in rows if r["kind"] == "near_topic" and not r["answered"]} == {"related"}
    assert report["false_abstain"]["count"] == 0
    assert report["followup@3"]["count"] >= 10
    assert report["kinds"] == {"followup": 11, "near_topic": 16, "single": 32, "unanswerable": 10}
    assert report["highlight@1"]["count"] <= report["answer@1"]["count"] and report["highlight@1"]["rate"] >= 0.5
    # the embedding's confidence: every answerable case above every off-topic one (near-topic ones lie
    # between: they are about the documents' subjects)
    off = max(r["confidence"] for r in rows if r["kind"] == "unanswerable")
    assert min(r["confidence"] for r in rows if r["kind"] in ANSWERABLE) > off
    assert report["abstain_auroc"] >= 0.8


def test_highlight_and_auroc_are_scored_per_case(tiny_corpus, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        '{"q": "When did the alpha station records begin?", "answer": "1952", "source": "alpha.txt"}\n'
        '{"q": "Which bakery sells croissants?", "answer": "harbour", "source": "beta.md"}\n'
        '{"q": "Quantum chromodynamics lattice gluon?"}\n'
    )
    report, rows = evaluate_qa(load_qa_cases(cases), index_corpus(tiny_corpus, embedder=FakeEmbedder()))
    assert report["kinds"] == {"single": 2, "unanswerable": 1}
    assert all(isinstance(r["confidence"], float) for r in rows)
    assert [r["highlight@1"] for r in rows] == [True, True, False]
    assert report["highlight@1"] == {"count": 2, "of": 2, "rate": 1.0}
    unanswerable = rows[2]["confidence"]
    expected = sum(r["confidence"] > unanswerable for r in rows[:2]) / 2
    assert report["abstain_auroc"] == expected
    assert abstain_auroc([{"kind": "single", "confidence": 0.1}]) is None  # one kind only: undefined


@pytest.mark.slow
@pytest.mark.skipif(not MSMARCO.is_dir(), reason="../shared/benchmarks/msmarco-trecdl-5k is not beside the checkout")
def test_hybrid_is_never_worse_than_the_better_single_retriever_on_msmarco(real_embedder):
    results = evaluate_retrieval(MSMARCO, embedder=real_embedder)
    best_single = max(results["dense"]["ndcg@10"], results["bm25"]["ndcg@10"])
    assert results["hybrid"]["ndcg@10"] >= best_single - 0.005
    # 0.8194 before the settle stage, 0.8032 with it (it lifts squad2 q → paragraph 0.764 → 0.816): see README
    assert results["hybrid"]["ndcg@10"] >= 0.80 and results["hybrid"]["recall@100"] >= 0.83
