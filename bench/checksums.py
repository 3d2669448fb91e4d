"""What verifying an index's checksums costs when it is loaded: the load without and with the check.

    python bench/checksums.py [--beir ../shared/benchmarks/msmarco-trecdl-5k] [--sizes 1000000]

1. A real index of a BEIR corpus (msmarco-trecdl-5k), saved by qa and loaded by ``load_index``: the
   baseline is the same load with the checksum check switched off.
2. Large stores as ``bench/scale.py`` makes them (clustered 384-d vectors; exact ``flat`` and qa's
   ``ivf`` for large corpora) with a passages file of as many synthetic passages (~300 characters): each
   file read as qa reads it (``open_store``, ``read_passages``) against hashing it.

Every figure is the best of three runs with the files in the page cache (a cold read from disk costs
the same I/O either way; the hash then overlaps nothing but adds its CPU time). sha256 uses the CPU's
SHA extensions where it has them: the CPU and its flags are printed first.
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
from scale import DIM, clustered  # noqa: E402

import qa.indexing.folder  # noqa: E402
from qa.evaluate import beir_index  # noqa: E402
from qa.indexing.embed import Embedder  # noqa: E402
from qa.indexing.folder import load_index, save_index, sha256_file  # noqa: E402
from qa.indexing.manifest import Calibration  # noqa: E402
from qa.indexing.records import passage_ids, read_passages, write_passages  # noqa: E402
from qa.indexing.stores import create_store, open_store  # noqa: E402
from qa.passage import Passage  # noqa: E402


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def unchecked(fn):
    """``fn`` run with qa's checksum check switched off (the baseline)."""

    def run():
        verify, qa.indexing.folder.verify = qa.indexing.folder.verify, lambda *args: None
        try:
            return fn()
        finally:
            qa.indexing.folder.verify = verify

    return run


def both(fn, runs: int = 3) -> tuple[float, float]:
    """Best times of ``fn`` without and with the check, runs interleaved so neither gets a warmer cache."""
    plain, checked = [], []
    for _ in range(runs):
        plain.append(best(unchecked(fn), 1))
        checked.append(best(fn, 1))
    return min(plain), min(checked)


def row(name: str, size: int, plain: float, checked: float) -> None:
    print(f"{name:44} {size / 2**20:9.1f} {plain:9.3f} {checked:9.3f} {checked / plain:7.2f}x {checked - plain:+8.3f}", flush=True)


def real_index(beir: Path) -> None:
    embedder = Embedder(precision="int8")  # how the vectors are made does not change what is loaded
    index, _, _ = beir_index(beir, embedder=embedder)
    folder = Path(tempfile.mkdtemp(prefix="qa-checksums-"))
    index = index.with_calibration(Calibration(threshold=0.5, probe_sd=0.1))
    manifest = save_index(index, folder)
    size = sum(p.stat().st_size for p in (folder / manifest.data).rglob("*") if p.is_file())
    plain, checked = both(lambda: load_index(folder, embedder=embedder), runs=5)
    row(f"{beir.name}: load_index ({len(index):,} passages)", size, plain, checked)


def large(size: int) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (2_000, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = clustered(size, centres, rng)
    folder = Path(tempfile.mkdtemp(prefix="qa-checksums-"))
    ids = [str(i) for i in range(size)]
    for kind in ("flat", "ivf"):
        store = create_store(kind, DIM, ids, None)  # ivf: trained on the first 100,000 added, as a build does
        for lo in range(0, size, 100_000):
            store.add(data[lo : lo + 100_000], [])
        (folder / kind).mkdir()
        store.save(folder / kind)
        del store
        path = folder / kind / "vectors.faiss"
        plain = best(lambda: open_store(kind, folder / kind, ids))
        hashing = best(lambda: sha256_file(path))
        row(f"{size:,} vectors, {kind}: open_store", path.stat().st_size, plain, plain + hashing)
    del data
    words = np.array("harbour lamp ferry museum budget tide office report vault mill bridge river".split())
    passages = [
        Passage(
            text=" ".join(words[rng.integers(0, len(words), 45)]),
            source=f"docs/file-{i // 20}.txt", title=f"File {i // 20}", paragraph=i % 20 + 1, line=i % 20 * 3 + 1,
            start=i * 300, end=i * 300 + 290,
        )  # fmt: skip
        for i in range(size)
    ]
    path = folder / "passages.jsonl"
    write_passages(path, passages, passage_ids(passages))
    del passages
    plain = best(lambda: read_passages(path))
    hashing = best(lambda: sha256_file(path))
    row(f"{size:,} passages: read_passages", path.stat().st_size, plain, plain + hashing)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beir", type=Path, default=ROOT.parent / "shared/benchmarks/msmarco-trecdl-5k")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    args = parser.parse_args()
    print(f"CPU: {describe(('sha_ni', 'avx2', 'avx512f'), 'hashing')}")
    print(f"{'what is loaded':44} {'MB':>9} {'plain s':>9} {'checked s':>9} {'ratio':>8} {'cost s':>8}")
    if args.beir.is_dir():
        real_index(args.beir)
    else:
        print(f"({args.beir} not found: skipped)")
    for size in args.sizes:
        large(size)


if __name__ == "__main__":
    main()
