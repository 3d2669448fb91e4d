"""Vector search at scale: exact search (the baseline) and qa's large-corpus stores side by side.

    python bench/scale.py [--sizes 100000 1000000] [--queries 300] [--allowed 0.5 0.05]

Synthetic unit vectors with the structure of real embeddings: clustered (a mixture of Gaussians around
random centres), 384 dimensions like all-MiniLM-L6-v2, queries drawn the same way. For each size and
store: build time, resident memory per passage (RSS growth while the store is built, the vectors
themselves not counted: each store is built in a fresh process over memory-mapped vectors) and the
index's own size, single-query latency p50/p95 (one query at a time, as a user asks) and
recall@10 against exact search. Targets at 1M: p95 ≤ 20 ms, recall@10 ≥ 0.95, ≤ 2 KB per passage.

A second table measures filtered search (a user's question searched among the passages they may read)
as qa runs it, through ``Index.dense`` with ``allowed``: for each share of documents allowed, latency
p50/p95 beside the unfiltered search of the same store in the same process (and their ratio), and
recall@10 against the exact answer over the allowed rows. Documents are runs of 20-200 contiguous rows (a
file's passages are contiguous); each of ``GROUPS`` user groups may read a random share of them, and the
queries take turns among the groups. Its ``allowed`` column is the share of rows allowed (mean over groups).
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe  # noqa: E402

from qa.indexing.index import Index  # noqa: E402
from qa.indexing.stores import create_store  # noqa: E402
from qa.indexing.stores.base import top_ids  # noqa: E402

DIM = 384
GROUPS = 10  # user groups, each allowed its own random documents; queries take turns among them
DOCUMENT_ROWS = (20, 200)  # passages per document, uniformly


def anon_rss() -> int:
    """Resident anonymous memory: what this process allocated, not the memory-mapped input files."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator, spread: float = 0.6) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        block = centres[rng.integers(0, len(centres), hi - lo)] + rng.normal(0, spread / np.sqrt(DIM), (hi - lo, DIM))
        out[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def allowed_sets(n: int, shares: list[float], rng: np.random.Generator) -> list[list[np.ndarray]]:
    """For each share, ``GROUPS`` sets of allowed rows (ascending): that share of the documents, at random."""
    lengths = rng.integers(DOCUMENT_ROWS[0], DOCUMENT_ROWS[1] + 1, n // DOCUMENT_ROWS[0] + 1)
    document = np.repeat(np.arange(len(lengths)), lengths)[:n]  # the document of each row
    documents = int(document[-1]) + 1
    sets = []
    for share in shares:
        chosen = [rng.choice(documents, max(1, round(share * documents)), replace=False) for _ in range(GROUPS)]
        sets.append([np.flatnonzero(np.isin(document, c)).astype(np.int64) for c in chosen])
    return sets


def filtered_truth(data: np.ndarray, queries: np.ndarray, sets: list[list[np.ndarray]]) -> np.ndarray:
    """Exact top 10 among each query's allowed rows (its group's): (len(sets), len(queries), 10)."""
    truth = np.full((len(sets), len(queries), 10), -1, dtype=np.int64)
    for lo in range(0, len(queries), 50):  # scores of 50 queries against every row at a time
        scores = queries[lo : lo + 50] @ data.T
        for s, groups in enumerate(sets):
            for q in range(lo, min(lo + 50, len(queries))):
                rows = groups[q % GROUPS]
                best = rows[top_ids(scores[q - lo][rows], 10)]
                truth[s, q, : len(best)] = best
    return truth


def filtered(store, queries: np.ndarray, sets: list[list[np.ndarray]], truth: np.ndarray) -> dict:
    """Latency of ``Index.dense`` unfiltered and among each share's allowed rows, query by query, and
    the filtered recall@10 against ``truth``."""
    index = Index.__new__(Index)  # an Index with nothing but its store: dense() asks for nothing else
    index._store = store
    plain, among = [], [[] for _ in sets]
    hits = np.zeros(len(sets))
    for q, vector in enumerate(queries):
        t = time.perf_counter()
        index.dense(vector, 10)
        plain.append((time.perf_counter() - t) * 1000)
        for s, groups in enumerate(sets):
            t = time.perf_counter()
            rows, _ = index.dense(vector, 10, groups[q % GROUPS])
            among[s].append((time.perf_counter() - t) * 1000)
            wanted = truth[s, q][truth[s, q] >= 0]
            hits[s] += len(set(rows.tolist()) & set(wanted.tolist())) / max(len(wanted), 1)
    out = {"p50": float(np.percentile(plain, 50)), "p95": float(np.percentile(plain, 95)), "among": []}
    for s, groups in enumerate(sets):
        share = float(np.mean([len(g) for g in groups])) / len(store)
        p50, p95 = (float(np.percentile(among[s], p)) for p in (50, 95))
        out["among"].append({"share": share, "p50": p50, "p95": p95, "recall": hits[s] / len(queries)})
    return out


def measure(kind: str, data: np.ndarray, queries: np.ndarray, truth: np.ndarray | None, among: tuple | None = None) -> dict:
    """Runs in a fresh process (see main) so that the memory it reports is this store's alone."""
    gc.collect()
    before = anon_rss()
    began = time.perf_counter()
    store = create_store(kind, DIM, [""] * len(data), None)  # ivf: trained on the first 100,000 added
    for lo in range(0, len(data), 50_000):  # in batches, as qa index adds them
        store.add(data[lo : lo + 50_000], [])
    build = time.perf_counter() - began
    memory = (anon_rss() - before) / len(data)
    size = len(faiss.serialize_index(store._index)) / len(data)
    latencies, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = store.search(q, 10)
        latencies.append((time.perf_counter() - t) * 1000)
        found.append(ids[0])
    recall = 1.0 if truth is None else float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
    within = filtered(store, queries, *among) if among else None
    del store
    return {
        "filtered": within,
        "build_s": build,
        "bytes": memory,
        "stored": size,
        "p50": float(np.percentile(latencies, 50)),
        "p95": float(np.percentile(latencies, 95)),
        "recall": recall,
    }


def child(kind: str, folder: str) -> None:
    """Measure one store on vectors memory-mapped from ``folder``; print the result as JSON."""
    load = lambda name: np.load(Path(folder) / name, mmap_mode="r")  # noqa: E731
    truth = None if kind == "flat" else np.load(Path(folder) / "truth.npy")
    among = None
    if (Path(folder) / "allowed.npz").exists():
        with np.load(Path(folder) / "allowed.npz") as saved:
            shares = len(saved.files) // GROUPS
            sets = [[saved[f"{s}_{g}"] for g in range(GROUPS)] for s in range(shares)]
        among = (sets, np.load(Path(folder) / "filtered_truth.npy"))
    print(json.dumps(measure(kind, load("data.npy"), np.array(load("queries.npy")), truth, among)))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--kinds", nargs="+", default=["flat", "ivf", "hnsw"])
    parser.add_argument("--allowed", type=float, nargs="*", default=[0.5, 0.05], help="shares of documents allowed (none: no filtered table)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    groups_rng = np.random.default_rng(1)  # its own, so the first table's vectors stay those of earlier runs
    filtered_rows = []
    centres = rng.normal(0, 1, (2_000, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    print(f"CPU: {describe(('avx2', 'avx512f'), 'faiss')}")
    print(f"{'passages':>9} {'store':6} {'build s':>8} {'RSS B/passage':>14} {'index B/passage':>16} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>10}")
    for size in args.sizes:
        data = clustered(size, centres, rng)
        queries = clustered(args.queries, centres, rng)
        exact = create_store("flat", DIM, [""] * len(data), None)
        exact.add(data, [])
        truth = exact.search(queries, 10)[1]
        del exact
        folder = Path(tempfile.mkdtemp(prefix="qa-scale-"))
        np.save(folder / "data.npy", data)
        np.save(folder / "queries.npy", queries)
        np.save(folder / "truth.npy", truth)
        if args.allowed:
            sets = allowed_sets(size, args.allowed, groups_rng)
            np.savez(folder / "allowed.npz", **{f"{s}_{g}": rows for s, groups in enumerate(sets) for g, rows in enumerate(groups)})
            np.save(folder / "filtered_truth.npy", filtered_truth(data, queries, sets))
        results = {}
        for kind in args.kinds:
            if kind == "hnsw" and size > 200_000:
                continue  # a graph over a million full vectors takes too long to build on two cores
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(folder)], capture_output=True, text=True, check=True
            ).stdout
            r = results[kind] = json.loads(out.strip().splitlines()[-1])
            print(
                f"{size:9d} {kind:6} {r['build_s']:8.1f} {r['bytes']:14.0f} {r['stored']:16.0f} {r['p50']:7.2f} "
                f"{r['p95']:7.2f} {r['recall']:10.3f}",
                flush=True,
            )
            if r["filtered"]:
                filtered_rows += [(size, kind, r["filtered"], a) for a in r["filtered"]["among"]]
        if "flat" in results and "ivf" in results:
            f, i = results["flat"], results["ivf"]
            print(f"{'':9} ivf vs exact: p95 {f['p95'] / i['p95']:.1f}x faster, {f['bytes'] / max(i['bytes'], 1):.1f}x less memory")
        del data
        shutil.rmtree(folder, ignore_errors=True)
        gc.collect()
    if filtered_rows:
        print_filtered(filtered_rows)


def print_filtered(rows: list[tuple]) -> None:
    """The second table: filtered search beside unfiltered, one row per size, store and share allowed."""
    print("\nfiltered search (Index.dense with allowed) beside unfiltered, same store and process")
    print(f"{'passages':>9} {'store':6} {'allowed':>8} {'p50 ms':>7} {'p95 ms':>7} {'unfiltered p50':>15} {'p95':>7} {'p50 x':>6} {'p95 x':>6} {'recall@10':>10}")
    for size, kind, plain, a in rows:
        print(
            f"{size:9d} {kind:6} {a['share']:8.1%} {a['p50']:7.2f} {a['p95']:7.2f} {plain['p50']:15.2f} {plain['p95']:7.2f} "
            f"{a['p50'] / plain['p50']:6.2f} {a['p95'] / plain['p95']:6.2f} {a['recall']:10.3f}"
        )


if __name__ == "__main__":
    main()
