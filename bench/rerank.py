"""What the cross-encoder should read, and how deep: nDCG@10 of each first-stage mode re-ranked by the
cross-encoder at several depths and inputs, on every dataset at hand, with the cost of each input.

    python bench/rerank.py [--squad-sample 300] [--scores FILE]

Datasets: msmarco-trecdl-5k (BEIR), squad2-dev-public as question → paragraph (bench/squad_retrieval.py;
a seeded sample of its questions, every pair of a whole paragraph costs ~30 ms), and tests/corpus_qa.jsonl
over corpus/ (a case's relevant passages: those of its source holding its answer). Inputs:

- ``whole``: the passage (cut at 512 tokens); ``+title``: its title and section path first;
- ``window N``: the sentence sharing most of the question's rare words (idf-weighted) and its neighbours,
  up to N tokens of the passage;
- ``first N``: the passage's first N tokens.

``whole`` and ``window`` are read as qa reads them (:class:`qa.retrieval.cross_encoder.CrossEncoderRerank`).

Re-ranked: the top ``depth`` of the first stage ordered by the cross-encoder; below them the first stage's
order. Pair scores are kept in ``--scores`` (a JSON file) so a second run costs nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from machine import describe  # noqa: E402
from squad_retrieval import squad_beir  # noqa: E402

from qa.evaluate import beir_index, load_qa_cases, score_run  # noqa: E402
from qa.build import index_corpus  # noqa: E402
from qa.indexing.manifest import TITLE_WEIGHTS  # noqa: E402
from qa.indexing.embed import Embedder  # noqa: E402
from qa.retrieval.cross_encoder import CrossEncoderRerank  # noqa: E402
from qa.retrieval.cross_encoder_model import CrossEncoder  # noqa: E402
from qa.retrieval.pipeline import Retriever, Stages  # noqa: E402
from qa.retrieval.tune import tune  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmarks"
DEPTHS = (10, 20, 30, 50)
INPUTS = ("whole", "whole+title", "window 128", "window 128+title", "window 64", "first 128")


class Pairs:
    """Cross-encoder scores of (question, text) pairs, kept in a JSON file across runs."""

    def __init__(self, path: Path | None):
        self.path = path
        self.scores: dict[str, float] = json.loads(path.read_text()) if path and path.is_file() else {}
        self.model = CrossEncoder()
        self.seconds = 0.0
        self.tokens = 0
        self.run = 0

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(f"{question}\x00{t}".encode()).hexdigest() for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self.scores]
        if todo:
            began = time.perf_counter()
            found = self.model.score(question, [texts[i] for i in todo])
            self.seconds += time.perf_counter() - began
            self.tokens += sum(self.model.tokens(question, texts[i]) for i in todo)
            self.run += len(todo)
            for i, value in zip(todo, found):
                self.scores[keys[i]] = float(value)
        return np.array([self.scores[k] for k in keys], dtype=np.float32)

    def save(self) -> None:
        if self.path:
            self.path.write_text(json.dumps(self.scores))


def reader(kind: str, model: CrossEncoder, index):
    """What the cross-encoder reads of a passage for input ``kind``: (question, passage) → text."""
    base, _, titled = kind.partition("+")
    if base.startswith("first"):
        n = int(base.split()[1])

        def first(question, passage):
            offsets = model.offsets(passage.text)
            text = passage.text if len(offsets) <= n else passage.text[: offsets[n - 1][1]]
            return "\n".join([*passage.context, text]) if titled else text

        return first
    window = int(base.split()[1]) if base.startswith("window") else 0
    return CrossEncoderRerank(1, window, title=bool(titled), model=model).for_index(index).read


def datasets(squad_sample: int, embedder: Embedder, tmp: Path):
    """(name, retriever, queries {id: text}, qrels {id: {position: grade}})."""
    index, queries, qrels = beir_index(SHARED / "msmarco-trecdl-5k", embedder=embedder)
    yield "msmarco-trecdl-5k", index, queries, _by_position(index, qrels)
    index, queries, qrels = beir_index(squad_beir(SHARED / "squad2-dev-public", tmp), embedder=embedder)
    picked = sorted(random.Random(0).sample(sorted(queries), min(squad_sample, len(queries))))
    yield f"squad2 q→paragraph ({len(picked)} of {len(queries)})", index, {q: queries[q] for q in picked}, _by_position(index, qrels)
    index = index_corpus(ROOT / "corpus", embedder=embedder, tune=tune)
    queries, qrels = {}, {}
    for n, case in enumerate(load_qa_cases(ROOT / "tests" / "corpus_qa.jsonl")):
        if case.answer is None or len(case.turns) > 1:
            continue
        relevant = {str(i): 1 for i, p in enumerate(index.passages) if Path(p.source).name == case.source and case.answer.lower() in p.text.lower()}
        if relevant:
            queries[str(n)], qrels[str(n)] = case.turns[-1], relevant
    yield "corpus_qa (single questions)", index, queries, qrels


def _by_position(index, qrels):
    where = {p.source: str(i) for i, p in enumerate(index.passages)}
    return {q: {where[d]: g for d, g in docs.items() if d in where} for q, docs in qrels.items()}


def variants(index):
    """First-stage pipelines: (label, stages, index) -- what is switched off, or BM25 reading the titles
    another number of times than the tuning chose (corpora with titles)."""
    yield "hybrid", Stages(), index
    yield "hybrid -settle", dataclasses.replace(Stages(), settle=lambda q, v, r, *a: r), index
    yield "hybrid -feedback", dataclasses.replace(Stages(), feedback=lambda *a: None), index
    if any(p.context for p in index.passages):
        chosen = index.tuning.title_weight if index.tuning else 1
        for weight in (w for w in TITLE_WEIGHTS if w != chosen):
            yield f"hybrid title×{weight}", Stages(), index.with_title_weight(weight)
    yield "dense", Stages(), index
    yield "bm25", Stages(), index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad-sample", type=int, default=300, help="squad2 questions measured (seeded sample).")
    parser.add_argument("--scores", type=Path, default=Path(tempfile.gettempdir()) / "qa-rerank-scores.json", help="Pair scores kept across runs.")
    parser.add_argument("--inputs", default=",".join(INPUTS), help="Comma-separated inputs to measure.")
    args = parser.parse_args()
    print(describe())
    embedder = Embedder()
    pairs = Pairs(args.scores)
    inputs = args.inputs.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        for name, index, queries, qrels in datasets(args.squad_sample, embedder, Path(tmp)):
            print(f"\n{name}: {len(index)} passages, {len(queries)} queries")
            print(f"{'first stage':18} {'input':18} {'none':>7} " + " ".join(f"{'@' + str(d):>7}" for d in DEPTHS) + f" {'ms/pair':>8} {'tokens':>7}")
            for label, stages, ranked_on in variants(index):
                mode = label.split()[0]
                retriever = Retriever(ranked_on, stages=stages, rerank="none")
                first = {q: retriever.rank(text, 100, mode).top(100) for q, text in queries.items()}
                plain = score_run(qrels, {q: _run(r) for q, r in first.items()})["ndcg@10"]
                for kind in inputs if label == "hybrid" else inputs[:1]:
                    before = (pairs.seconds, pairs.run, pairs.tokens)
                    read = reader(kind, pairs.model, index)
                    logits = {q: pairs.score(queries[q], [read(queries[q], index.passages[i]) for i, _ in r[: max(DEPTHS)]])
                              for q, r in first.items()}  # fmt: skip
                    pairs.save()
                    cells = []
                    for depth in DEPTHS:
                        run = {q: _run(_reranked(first[q], logits[q], depth)) for q in first}
                        cells.append(score_run(qrels, run)["ndcg@10"])
                    ran = pairs.run - before[1]
                    ms = f"{1000 * (pairs.seconds - before[0]) / ran * pairs.model.threads:8.1f}" if ran else f"{'cached':>8}"
                    tokens = f"{(pairs.tokens - before[2]) / ran:7.0f}" if ran else f"{'':7}"
                    print(f"{label:18} {kind:18} {plain:7.4f} " + " ".join(f"{c:7.4f}" for c in cells) + f" {ms} {tokens}", flush=True)


def _reranked(first: list[tuple[int, float]], logits: np.ndarray, depth: int) -> list[tuple[int, float]]:
    head = first[:depth]
    order = sorted(range(len(head)), key=lambda i: (-logits[i], i))
    return [head[i] for i in order] + first[depth:]


def _run(ranked: list[tuple[int, float]]) -> dict[str, float]:
    """A ranx run from a ranking: scores by rank, so the order is the ranking's."""
    return {str(i): float(len(ranked) - n) for n, (i, _) in enumerate(ranked)} or {"-": 0.0}


if __name__ == "__main__":
    main()
