"""squad2-dev-public as question → paragraph retrieval, in BEIR form, scored like ``qa eval``.

The corpus is every paragraph of the eight articles (blank-line separated; the first line of a file is the
title, given as each paragraph's title). A question's relevant paragraphs are those of its article that
contain its answer (case-insensitive): the dataset names the article and the answer span, not the
paragraph. Unanswerable questions are left out. The BEIR folder is written to a temporary directory.

    python bench/squad_retrieval.py [../shared/benchmarks/squad2-dev-public]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.evaluate import evaluate_retrieval  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "benchmarks" / "squad2-dev-public"


def squad_beir(dataset: Path, out: Path) -> Path:
    """Write ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/test.tsv`` for ``dataset`` into ``out``."""
    paragraphs: dict[str, list[tuple[str, str]]] = {}
    corpus = []
    for path in sorted((dataset / "corpus").glob("*.txt")):
        blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
        title, body = blocks[0], blocks[1:]
        paragraphs[path.name] = [(f"{path.stem}#{n}", text) for n, text in enumerate(body, 1)]
        corpus += [{"_id": pid, "title": title, "text": text} for pid, text in paragraphs[path.name]]
    queries, qrels = [], []
    for line in (dataset / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case.get("answer") is None:
            continue
        relevant = [pid for pid, text in paragraphs.get(case["source"], []) if case["answer"].lower() in text.lower()]
        if relevant:
            queries.append({"_id": case["id"], "text": case["q"]})
            qrels += [(case["id"], pid) for pid in relevant]
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    (out / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    (out / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    (out / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{p}\t1\n" for q, p in qrels))
    return out


def main() -> None:
    dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory(prefix="qa-squad-beir-") as tmp:
        folder = squad_beir(dataset, Path(tmp))
        results = evaluate_retrieval(folder, progress=sys.stderr.isatty())
    print(f"{dataset.name} as question → paragraph retrieval")
    print(f"{'mode':8} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'queries':>8}")
    for name, r in results.items():
        print(f"{name:8} {r['ndcg@10']:8.4f} {r['recall@100']:8.4f} {r['mrr@10']:8.4f} {r['queries']:8d}")


if __name__ == "__main__":
    main()
