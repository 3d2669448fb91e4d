"""Encoding speed: plain sentence-transformers against qa's encoders, side by side in one run.

    python bench/indexing.py [DATASET_DIR]        (default: ../shared/benchmarks/msmarco-trecdl-5k)

Plain: ``SentenceTransformer(model).encode(texts)`` as a user would call it. qa: its fp32 path and its
int8 path (ONNX + onnxruntime dynamic int8, exported once and cached). Each embeds every passage of the
dataset; then qa's hybrid retrieval is scored (nDCG@10, ranx) with each encoder's vectors.
"""

from __future__ import annotations

import sys
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
from qa.retrieval.pipeline import Retriever  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "benchmarks" / "msmarco-trecdl-5k"


class Precomputed:
    """An embedder that answers passages from vectors already made and questions with a real encoder."""

    def __init__(self, vectors: dict[str, np.ndarray], encoder: Embedder):
        self.vectors, self.encoder = vectors, encoder
        self.model_id, self.dimension, self.precision = encoder.model_id, encoder.dimension, encoder.precision

    def encode_document(self, texts, *, progress=False, bar=None):
        if all(t in self.vectors for t in texts):
            return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        return self.encoder.encode_document(texts)

    def encode_query(self, texts):
        return self.encoder.encode_query(texts)

    max_tokens = property(lambda self: self.encoder.max_tokens)

    def count_tokens(self, text):
        return self.encoder.count_tokens(text)

    def adopt(self, precision):
        pass


def main(path: str) -> None:
    passages, queries, qrels = load_beir(path)
    judged = {q: t for q, t in queries.items() if q in qrels}
    texts = [p.search_text for p in passages]
    fp32, int8 = Embedder(precision="fp32"), Embedder(precision="int8")
    fp32.encode(texts[:8]), int8.encode(texts[:8])  # load both (and export the int8 model) before timing

    began = time.perf_counter()
    plain = fp32.model.encode(texts)  # exactly what a user of sentence-transformers would write
    plain_s = time.perf_counter() - began
    rows = [("plain SentenceTransformer.encode", plain_s, None)]
    for name, encoder in (("qa fp32", fp32), ("qa int8 (default; onnxruntime)", int8)):
        began = time.perf_counter()
        vectors = encoder.encode(texts)
        seconds = time.perf_counter() - began
        index, _ = assemble_index(passages, Precomputed(dict(zip(texts, vectors)), encoder))
        rows.append((name, seconds, score_run(qrels, run_queries(Retriever(index), judged, "hybrid"))["ndcg@10"]))
    assert plain.shape == (len(texts), fp32.dimension)

    print(f"\n{Path(path).name}: {len(texts)} passages, {len(judged)} judged queries")
    print(f"CPU: {describe()}")
    print(f"{'encoder':34} {'passages/s':>10} {'vs plain':>9} {'hybrid nDCG@10':>15}")
    base = rows[1][2]
    for name, seconds, ndcg in rows:
        score = "" if ndcg is None else f"{ndcg:.4f} ({ndcg - base:+.4f})"
        print(f"{name:34} {len(texts) / seconds:10.1f} {plain_s / seconds:8.2f}x {score:>15}")
    gemm_ceiling()


def gemm_ceiling(tokens: int = 80, repeats: int = 400) -> None:
    """What int8 can give on this CPU at all: onnxruntime's fp32 MatMul against its int8 MatMulInteger
    (with the activation quantisation dynamic int8 adds) on the model's feed-forward shape, one thread.
    Without VNNI (AVX2's vpmaddubsw), int8 arithmetic is about twice fp32, which caps the whole encoder."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    x = rng.standard_normal((tokens, 384)).astype(np.float32)
    graphs = {
        "fp32": ([helper.make_node("MatMul", ["x", "w"], ["y"])],
                 numpy_helper.from_array(rng.standard_normal((384, 1536)).astype(np.float32), "w")),
        "int8": ([helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
                  helper.make_node("MatMulInteger", ["q", "w", "z"], ["i"]),
                  helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)],
                 numpy_helper.from_array(rng.integers(-127, 127, (384, 1536)).astype(np.int8), "w")),
    }  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    rate = {}
    for name, (nodes, weights) in graphs.items():
        graph = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [tokens, 1536])], [weights],
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        for _ in range(20):
            session.run(None, {"x": x})
        began = time.perf_counter()
        for _ in range(repeats):
            session.run(None, {"x": x})
        rate[name] = 2 * tokens * 384 * 1536 * repeats / (time.perf_counter() - began) / 1e9
    print(f"\nint8 ceiling on this CPU: one-thread matrix product {tokens}x384x1536, onnxruntime")
    print(f"  fp32 {rate['fp32']:.0f} GFLOP/s, int8 {rate['int8']:.0f} GOP/s: int8 arithmetic {rate['int8'] / rate['fp32']:.2f}x fp32")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT))
