"""qa's own evaluation: retrieval on BEIR-layout datasets, and end-to-end answers on a QA file.

Retrieval is scored by ranx (nDCG@10 with graded gains, Recall@100 with grade ≥ 1 relevant, MRR@10)
over the queries that have judgments.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import QAError
from .build import index_passages
from .indexing.embed import Embedder
from .indexing.index import Index
from .passage import Passage
from .retrieval.answer import Answer
from .retrieval.pipeline import Retriever
from .retrieval.request import MODES

__all__ = [
    "QACase",
    "abstain_auroc",
    "beir_index",
    "evaluate_qa",
    "evaluate_retrieval",
    "load_beir",
    "load_qa_cases",
    "run_queries",
    "score_run",
]

METRICS = ("ndcg@10", "recall@100", "mrr@10")
ANSWERABLE = ("single", "followup")  # the kinds of QACase with an answer
DEPTH = 100


def _jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise QAError(f"missing file: {path}")
    records = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError as e:
                    raise QAError(f"{path}:{number}: not valid JSON ({e})") from None
    return records


def load_beir(folder: str | Path) -> tuple[list[Passage], dict[str, str], dict[str, dict[str, int]]]:
    """Passages (one per corpus record, ``source`` = its ``_id``), queries and test qrels."""
    folder = Path(folder)
    if not folder.is_dir():
        raise QAError(f"dataset folder not found: {folder}")
    passages = []
    for r in _jsonl(folder / "corpus.jsonl"):
        text, title = str(r.get("text") or ""), str(r.get("title") or "")
        passages.append(Passage(text, str(r["_id"]), title, 1, 1, 0, len(text)))
    queries = {str(r["_id"]): str(r["text"]) for r in _jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    path = folder / "qrels" / "test.tsv"
    if not path.is_file():
        raise QAError(f"missing file: {path}")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) < 3:
            raise QAError(f"{path}:{number}: expected query-id, corpus-id, grade; got {line!r}")
        try:
            grade = int(float(fields[2]))
        except ValueError:
            if number == 1:  # a header line ("query-id corpus-id score")
                continue
            raise QAError(f"{path}:{number}: grade is not a number: {fields[2]!r}") from None
        qrels.setdefault(fields[0], {})[fields[1]] = grade
    return passages, queries, qrels


def run_queries(retriever: Retriever, queries: dict[str, str], mode: str, depth: int = DEPTH) -> dict[str, dict[str, float]]:
    """A ranx-style run: ``{query id: {passage source: score}}`` of the top ``depth`` per query, ranked
    and re-ranked as answers are (the retriever's re-ranker reorders its top; the rest follow). Scores
    are by rank: a re-ranker's scores and fusion's are on different scales."""
    run = {}
    for qid, text in queries.items():
        hits = retriever.search(text, depth, mode)  # type: ignore[arg-type]
        run[qid] = {h.source: float(len(hits) - n) for n, h in enumerate(hits)} or {"-": 0.0}  # ranx wants no empty rankings
    return run


def score_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict:
    """nDCG@10, Recall@100 and MRR@10 of ``run`` by ranx, over the queries of ``run``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's first-compile chatter
        from ranx import Qrels, Run, evaluate

        scores = evaluate(Qrels({q: qrels[q] for q in run}), Run(run), list(METRICS))
    return {m: round(float(scores[m]), 4) for m in METRICS} | {"queries": len(run)}


def evaluate_retrieval(
    folder: str | Path,
    modes: tuple[str, ...] = MODES,
    *,
    embedder: Embedder | None = None,
    progress: bool = False,
    rerank: str | None = None,
) -> dict[str, dict]:
    """``{mode: {"ndcg@10": .., "recall@100": .., "mrr@10": .., "queries": n, "rerank": name}}`` on a BEIR
    dataset, each mode re-ranked by ``rerank`` (None: ``$QA_RERANK``, else the cross-encoder; ``"none"``:
    not re-ranked); the hybrid's also has ``"tuning"``, what :mod:`qa.retrieval.tune` measured."""
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    index, judged, qrels = beir_index(folder, embedder=embedder, progress=progress)
    retriever = Retriever(index, rerank=rerank)
    results = {mode: score_run(qrels, run_queries(retriever, judged, mode)) | {"rerank": retriever.rerank_name} for mode in modes}
    if "hybrid" in results:
        results["hybrid"]["tuning"] = dataclasses.asdict(retriever.tuning)
    return results


def beir_index(
    folder: str | Path, *, embedder: Embedder | None = None, progress: bool = False
) -> tuple[Index, dict[str, str], dict[str, dict[str, int]]]:
    """An in-memory index of a BEIR dataset, its judged queries and its qrels."""
    passages, queries, qrels = load_beir(folder)
    judged = {q: text for q, text in queries.items() if q in qrels}
    if not judged:
        raise QAError(f"no query in {folder} has judgments in qrels/test.tsv")
    index = index_passages(passages, embedder=embedder, progress=progress)  # calibrated and tuned as `qa index` does
    return index, judged, qrels


@dataclass(frozen=True)
class QACase:
    turns: tuple[str, ...]  # the question is the last; earlier ones are the conversation
    answer: str | None  # None: not answerable from the corpus
    source: str | None
    near_topic: bool = False  # unanswerable, but about an entity of the corpus ("What is X's phone number?")

    @property
    def kind(self) -> str:
        if self.answer is None:
            return "near_topic" if self.near_topic else "unanswerable"
        return "followup" if len(self.turns) > 1 else "single"


def load_qa_cases(path: str | Path) -> list[QACase]:
    path = Path(path)
    cases = []
    for number, r in enumerate(_jsonl(path), 1):
        turns = r.get("turns") or ([r["q"]] if r.get("q") else None)
        if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
            raise QAError(f"{path}: case {number} needs a non-empty 'q' or 'turns'")
        if (r.get("answer") is None) != (r.get("source") is None):
            raise QAError(f"{path}: case {number} needs both 'answer' and 'source', or neither")
        near = r.get("near_topic", False)
        if not isinstance(near, bool) or (near and r.get("answer") is not None):
            raise QAError(f"{path}: case {number}: 'near_topic' is true or false, and true only without an answer")
        cases.append(QACase(tuple(turns), r.get("answer"), r.get("source"), near))
    if not cases:
        raise QAError(f"{path}: no cases")
    return cases


def evaluate_qa(cases: list[QACase], index: Index, k: int = 5, *, rerank: str | None = None) -> tuple[dict, list[dict]]:
    """The report (counts and rates) and one row per case with what happened (``rerank``: the re-ranker,
    as for :func:`evaluate_retrieval`)."""
    rows = []
    retriever = Retriever(index, rerank=rerank)
    for case in cases:
        result: Answer = retriever.ask(case.turns[-1], k, history=list(case.turns[:-1]))
        texts = [h.text.lower() for h in result.hits]
        top_highlight = result.hits[0].highlight.text.lower() if result.hits and result.hits[0].highlight else ""
        needle = (case.answer or "").lower()
        rows.append(
            {
                "kind": case.kind,
                "question": case.turns[-1],
                "query": result.query,
                "answered": result.answered,
                "outcome": result.outcome,
                "answer@1": bool(case.answer) and needle in texts[0] if texts else False,
                "answer@3": bool(case.answer) and any(needle in t for t in texts[:3]),
                "highlight@1": bool(case.answer) and needle in top_highlight,
                "confidence": result.confidence,
                "source@1": bool(case.source) and bool(result.hits)
                and Path(result.hits[0].source).name == Path(case.source).name,
                "top": result.hits[0].citation() if result.hits else None,
            }
        )
    answerable = [r for r in rows if r["kind"] in ANSWERABLE]
    followups = [r for r in rows if r["kind"] == "followup"]
    unanswerable = [r for r in rows if r["kind"] not in ANSWERABLE]
    near = [r for r in rows if r["kind"] == "near_topic"]
    off = [r for r in rows if r["kind"] == "unanswerable"]

    def stat(hits: int, total: int) -> dict:
        return {"count": hits, "of": total, "rate": round(hits / total, 4) if total else None}

    report = {
        "cases": len(rows),
        "rerank": retriever.rerank_name,
        "kinds": dict(sorted(Counter(r["kind"] for r in rows).items())),
        "outcomes": {kind: dict(sorted(Counter(r["outcome"] for r in rows if r["kind"] == kind).items()))
                     for kind in sorted({r["kind"] for r in rows})},  # fmt: skip
        "answer@1": stat(sum(r["answer@1"] for r in answerable), len(answerable)),
        "highlight@1": stat(sum(r["highlight@1"] for r in answerable), len(answerable)),
        "answer@3": stat(sum(r["answer@3"] for r in answerable), len(answerable)),
        "source@1": stat(sum(r["source@1"] for r in answerable), len(answerable)),
        "followup@3": stat(sum(r["answer@3"] for r in followups), len(followups)),
        "abstain_correct": stat(sum(not r["answered"] for r in unanswerable), len(unanswerable)),
        "false_abstain": stat(sum(not r["answered"] for r in answerable), len(answerable)),
        "near_topic_not_answered": stat(sum(not r["answered"] for r in near), len(near)),
        "off_topic_not_found": stat(sum(r["outcome"] == "not_found" for r in off), len(off)),
        "abstain_auroc": abstain_auroc(rows),
    }
    return report, rows


def abstain_auroc(rows: list[dict]) -> float | None:
    """How well ``confidence`` tells answerable cases from unanswerable ones: the area under the ROC curve
    (1: every answerable case is more confident than every unanswerable one; 0.5: chance). None without
    cases of both kinds."""
    from sklearn.metrics import roc_auc_score  # 2 s to import: only for the command that needs it

    labels = [r["kind"] in ANSWERABLE for r in rows]
    if all(labels) or not any(labels):
        return None
    return round(float(roc_auc_score(labels, [r["confidence"] for r in rows])), 4)
