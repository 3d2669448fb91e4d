"""Scaling out, measured here: Milvus Lite against faiss as the vector store, Ray against one process for
embedding -- side by side in one run on msmarco-trecdl-5k.

    python bench/scaleout.py [DATASET_DIR] [--ray-passages 2000]

Stores: the dataset's passages are embedded once; the same vectors go into a faiss flat index and a
Milvus Lite collection (exact FLAT/IP). Every judged query is searched in both (dense top 10, single
query at a time): p50/p95 latency, recall@10 of Milvus against faiss, and qa's hybrid nDCG@10 with each
store; and keyword search by qa's BM25 against Milvus's built-in full-text BM25. Embedding: the first N passages through ``Embedder.encode`` in this process and through
:class:`qa.indexing.ray_embed.RayEmbedder` on a local Ray instance (model loading and Ray start-up excluded).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import describe  # noqa: E402
from qa.evaluate import load_beir, run_queries, score_run  # noqa: E402
from qa.indexing.assemble import assemble_index  # noqa: E402
from qa.indexing.embed import Embedder  # noqa: E402
from qa.indexing.index import Index  # noqa: E402
from qa.indexing.records import passage_ids  # noqa: E402
from qa.indexing.stores.milvus import MilvusStore  # noqa: E402
from qa.retrieval.pipeline import Retriever  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "benchmarks" / "msmarco-trecdl-5k"


def timed_search(store, queries: np.ndarray, k: int = 10) -> tuple[list[float], list[np.ndarray]]:
    times, found = [], []
    for q in queries:
        began = time.perf_counter()
        _, ids = store.search(q[None, :], k)
        times.append(time.perf_counter() - began)
        found.append(ids[0])
    return times, found


def milvus_bm25_run(passages, asked: dict[str, str], path: str) -> tuple[dict, list[float]]:
    """Milvus's own full-text search (BM25 function over an analysed text field): a run of top 100."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(path)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    analyzer = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": ["_english_"]},
                                                    {"type": "stemmer", "language": "english"}]}  # fmt: skip
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection("fulltext", schema=schema, index_params=index)
    rows = [{"id": p.source, "text": p.search_text[:60000]} for p in passages]
    for lo in range(0, len(rows), 1000):
        client.insert("fulltext", rows[lo : lo + 1000])
    client.flush("fulltext")
    run, times = {}, []
    for qid, text in asked.items():
        began = time.perf_counter()
        found = client.search("fulltext", data=[text], anns_field="sparse", limit=100, output_fields=[])
        times.append(time.perf_counter() - began)
        run[qid] = {h["id"]: abs(float(h["distance"])) for h in found[0]} or {"-": 0.0}  # Lite reports -score
    return run, times


def ms(values: list[float], q: float) -> str:
    return f"{np.quantile(values, q) * 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--ray-passages", type=int, default=2000)
    args = parser.parse_args()
    passages, queries, qrels = load_beir(args.dataset)
    embedder = Embedder()
    index, _ = assemble_index(passages, embedder, progress=True, kind="flat")
    judged = [q for q in queries if q in qrels]
    qvecs = embedder.encode([queries[q] for q in judged])

    with tempfile.TemporaryDirectory() as tmp:
        milvus = MilvusStore(str(Path(tmp) / "bench.db"), "bench", embedder.dimension, passage_ids(passages))
        began = time.perf_counter()
        all_rows = np.arange(len(passages))
        for lo in range(0, len(passages), 1000):
            milvus.add(index.vectors(all_rows[lo : lo + 1000]), passages[lo : lo + 1000])
        milvus.flush()
        load_s = time.perf_counter() - began
        faiss_times, faiss_found = timed_search(index._store, qvecs)  # the store alone, as Milvus is measured
        milvus_times, milvus_found = timed_search(milvus, qvecs)
        recall = np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(faiss_found, milvus_found)])
        asked = {q: queries[q] for q in judged}
        faiss_ndcg = score_run(qrels, run_queries(Retriever(index), asked, "hybrid"))["ndcg@10"]
        on_milvus = Index(list(index.passages), milvus, index._bm25, embedder, index.manifest, list(index.ids))
        milvus_ndcg = score_run(qrels, run_queries(Retriever(on_milvus), asked, "hybrid"))["ndcg@10"]
        fulltext, fulltext_times = milvus_bm25_run(passages, asked, str(Path(tmp) / "fulltext.db"))
        milvus_bm25 = score_run(qrels, fulltext)
        qa_bm25 = score_run(qrels, run_queries(Retriever(index), asked, "bm25"))

    print(f"\n{args.dataset.name}: {len(passages)} passages, {len(judged)} judged queries, dense top 10; {embedder.precision}")
    print(f"CPU: {describe()}\n")
    print("| store | load s | p50 ms | p95 ms | recall@10 vs faiss | hybrid nDCG@10 |")
    print("|---|---|---|---|---|---|")
    print(f"| faiss flat (in process) | – | {ms(faiss_times, .5)} | {ms(faiss_times, .95)} | 1.000 | {faiss_ndcg:.4f} |")
    print(f"| Milvus Lite (FLAT, IP) | {load_s:.1f} | {ms(milvus_times, .5)} | {ms(milvus_times, .95)} | {recall:.3f} | {milvus_ndcg:.4f} |")
    print(f"\nlatency ratio Milvus Lite / faiss (p50): {np.median(milvus_times) / np.median(faiss_times):.1f}×")
    print("\n| keyword search | nDCG@10 | Recall@100 | p50 ms |")
    print("|---|---|---|---|")
    print(f"| qa BM25 (bm25s, Snowball stemming, stop words) | {qa_bm25['ndcg@10']:.4f} | {qa_bm25['recall@100']:.4f} | – |")
    print(f"| Milvus full-text BM25 (standard tokenizer, stop words, stemmer) | {milvus_bm25['ndcg@10']:.4f} | "
          f"{milvus_bm25['recall@100']:.4f} | {ms(fulltext_times, .5)} |")  # fmt: skip

    from qa.indexing.ray_embed import RayEmbedder

    texts = [p.search_text for p in passages[: args.ray_passages]]
    began = time.perf_counter()
    alone = embedder.encode(texts)
    alone_rate = len(texts) / (time.perf_counter() - began)
    ray = RayEmbedder(embedder)
    ray.encode(texts[:64])  # start Ray and its actors (each loads the model)
    began = time.perf_counter()
    spread = ray.encode(texts)
    ray_rate = len(texts) / (time.perf_counter() - began)
    ray.shutdown()
    print(f"\n| embedding {len(texts)} passages | passages/s | max abs difference |")
    print("|---|---|---|")
    print(f"| one process (Embedder.encode) | {alone_rate:.1f} | – |")
    print(f"| Ray Data, local instance, {ray.actors} actors | {ray_rate:.1f} | {np.abs(alone - spread).max():.1e} |")
    print(f"\nratio Ray / one process: {ray_rate / alone_rate:.2f}×")


if __name__ == "__main__":
    main()
