"""Retrieval quality, baselines and qa side by side in one run.

    python bench/quality.py [DATASET_DIR ...]     (default: ../shared/benchmarks/msmarco-trecdl-5k)

For each BEIR-layout dataset: plain dense search with the model, BM25, a naive fusion (min-max over each
run's top 100, equal weights), and qa's hybrid (see qa/fuse.py), scored by ranx; then qa's end-to-end
answer evaluation on the default corpus (tests/corpus_qa.jsonl).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from qa.evaluate import beir_index, evaluate_qa, load_qa_cases, run_queries, score_run  # noqa: E402
from qa.indexing.build import index_corpus  # noqa: E402
from qa.indexing.embed import Embedder  # noqa: E402
from qa.retrieval.fuse import minmax_top  # noqa: E402
from qa.retrieval.pipeline import Retriever  # noqa: E402

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


def main(paths: list[str]) -> None:
    embedder = Embedder()
    for path in paths or [str(DEFAULT)]:
        began = time.perf_counter()
        index, queries, qrels = beir_index(path, embedder=embedder, progress=sys.stderr.isatty())
        runs = {mode: run_queries(Retriever(index), queries, mode) for mode in ("dense", "bm25", "hybrid")}
        rows = {
            "dense (baseline)": score_run(qrels, runs["dense"]),
            "bm25 (baseline)": score_run(qrels, runs["bm25"]),
            "naive min-max fusion": score_run(qrels, naive_fusion(runs["dense"], runs["bm25"])),
            "qa hybrid": score_run(qrels, runs["hybrid"]),
        }
        best = max(rows["dense (baseline)"]["ndcg@10"], rows["bm25 (baseline)"]["ndcg@10"])
        print(f"\n{Path(path).name}: {len(index)} passages, {rows['qa hybrid']['queries']} judged queries "
              f"({time.perf_counter() - began:.0f} s)")
        print(f"{'method':24} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'nDCG vs best single':>20}")
        for name, r in rows.items():
            print(f"{name:24} {r['ndcg@10']:8.4f} {r['recall@100']:8.4f} {r['mrr@10']:8.4f} {r['ndcg@10'] - best:+20.4f}")

    report, _ = evaluate_qa(load_qa_cases(ROOT / "tests" / "corpus_qa.jsonl"), index_corpus(ROOT / "corpus", embedder=embedder))
    print("\ncorpus/ with tests/corpus_qa.jsonl (qa hybrid + follow-ups + abstention)")
    for name, s in report.items():
        if isinstance(s, dict) and "count" in s:  # the rates (kinds and outcomes are counts by kind)
            rate = "" if s["rate"] is None else f"{100 * s['rate']:6.1f}%"
            print(f"{name:16} {s['count']:3d} / {s['of']:<3d} {rate}")


if __name__ == "__main__":
    main(sys.argv[1:])
