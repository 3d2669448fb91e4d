"""Retrieval quality, baselines and qa side by side in one run.

    python bench/quality.py [--rerank NAME] [DATASET_DIR ...]     (default: ../shared/benchmarks/msmarco-trecdl-5k)

For each BEIR-layout dataset: plain dense search with the model, BM25, a naive fusion (min-max over each
run's top 100, equal weights), and qa's hybrid (see qa/fuse.py) without and with the re-ranker (``--rerank``:
cross-encoder by default; its dense and BM25 modes with it too), scored by ranx; then qa's end-to-end
answer evaluation on the default corpus (tests/corpus_qa.jsonl), with the re-ranker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from machine import describe  # noqa: E402
from qa.evaluate import beir_index, evaluate_qa, load_qa_cases, run_queries, score_run  # noqa: E402
from qa.build import index_corpus  # noqa: E402
from qa.indexing.embed import Embedder  # noqa: E402
from qa.retrieval.fuse import minmax_top  # noqa: E402
from qa.retrieval.pipeline import Retriever  # noqa: E402
from qa.retrieval.tune import tune  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "benchmarks" / "msmarco-trecdl-5k"


def naive_fusion(dense: dict, bm25: dict) -> dict:
    """Min-max each run over its own top 100 and add them with equal weights."""
    fused = {}
    for qid in dense:
        scores: dict[str, float] = {}
        for run in (dense[qid], bm25[qid]):
            ids = list(run)
            norm = minmax_top(np.array([run[i] for i in ids], dtype=np.float32))
            for doc, value in zip(ids, norm):
                scores[doc] = scores.get(doc, 0.0) + 0.5 * float(value)
        fused[qid] = dict(sorted(scores.items(), key=lambda kv: -kv[1])[:100])
    return fused


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rerank", default="cross-encoder", help="The re-ranker measured (cross-encoder, or module:attribute).")
    parser.add_argument("datasets", nargs="*", default=[str(DEFAULT)])
    args = parser.parse_args(argv)
    print(describe())
    embedder = Embedder()
    for path in args.datasets:
        began = time.perf_counter()
        index, queries, qrels = beir_index(path, embedder=embedder, progress=sys.stderr.isatty())
        plain, reranked = Retriever(index, rerank="none"), Retriever(index, rerank=args.rerank)
        runs = {mode: run_queries(plain, queries, mode) for mode in ("dense", "bm25", "hybrid")}
        rows = {
            "dense (baseline)": score_run(qrels, runs["dense"]),
            "bm25 (baseline)": score_run(qrels, runs["bm25"]),
            "naive min-max fusion": score_run(qrels, naive_fusion(runs["dense"], runs["bm25"])),
            "qa hybrid, no re-ranker": score_run(qrels, runs["hybrid"]),
        }
        for mode in ("dense", "bm25", "hybrid"):
            rows[f"qa {mode} + {reranked.rerank_name}"] = score_run(qrels, run_queries(reranked, queries, mode))
        best = max(rows["dense (baseline)"]["ndcg@10"], rows["bm25 (baseline)"]["ndcg@10"])
        print(f"\n{Path(path).name}: {len(index)} passages, {len(queries)} judged queries "
              f"({time.perf_counter() - began:.0f} s)")
        print(f"{'method':30} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'nDCG vs best single':>20}")
        for name, r in rows.items():
            print(f"{name:30} {r['ndcg@10']:8.4f} {r['recall@100']:8.4f} {r['mrr@10']:8.4f} {r['ndcg@10'] - best:+20.4f}")

    cases = load_qa_cases(ROOT / "tests" / "corpus_qa.jsonl")
    report, _ = evaluate_qa(cases, index_corpus(ROOT / "corpus", embedder=embedder, tune=tune), rerank=args.rerank)
    print(f"\ncorpus/ with tests/corpus_qa.jsonl (qa hybrid + {report['rerank']} + follow-ups + abstention)")
    for name, s in report.items():
        if isinstance(s, dict) and "count" in s:  # the rates (kinds and outcomes are counts by kind)
            rate = "" if s["rate"] is None else f"{100 * s['rate']:6.1f}%"
            print(f"{name:16} {s['count']:3d} / {s['of']:<3d} {rate}")


if __name__ == "__main__":
    main(sys.argv[1:])
