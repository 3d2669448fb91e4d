"""The ``qa`` command: index a corpus, ask it questions, serve the web chat."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

# The CLI is a client of qa's public API, as a user's program would be (the web stack and MCP load only
# for the commands that serve them).
from qa import (
    ANSWERABLE,
    MODES,
    Embedder,
    QAError,
    RayEmbedder,
    Tuning,
    ask,
    build_index,
    evaluate_qa,
    evaluate_retrieval,
    index_corpus,
    load_index,
    load_qa_cases,
    store_kinds,
    tuning_line,
    user_groups,
)
from qa.cli_users import access_app, user_app
from qa.cli_users import fail as _fail

app = typer.Typer(
    help="Question answering over your documents, with citations. Runs offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

IndexDir = Annotated[
    Optional[Path],
    typer.Option("--index-dir", help="Index folder. Default: $QA_INDEX_DIR, else ./index (see README)."),
]

AsUser = Annotated[
    Optional[str],
    typer.Option("--as", help="Only what this user of the login file ($QA_AUTH_FILE) may read by the access rules: to check them.", show_default=False),
]
Model = Annotated[Optional[str], typer.Option("--model", help="Embedding model name or path. Default: $QA_MODEL.")]


# Control characters other than newline and tab: in a document's text or title they could move the
# cursor, retitle the window or hide text in a terminal; they are shown as U+FFFD instead.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)


@app.command("index")
def index_cmd(
    corpus_dir: Annotated[
        Path, typer.Argument(help="Folder of documents: .txt, .md, .html/.htm, .pdf, .docx (searched recursively).")
    ] = Path("corpus"),
    index_dir: IndexDir = None,
    model: Model = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Embed everything anew instead of syncing.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List added, changed and removed files; write nothing.")] = False,
    index_type: Annotated[
        str,
        typer.Option("--index-type", help=f"The vector store: auto (exact search up to 200,000 passages, IVF-SQ8 beyond; $QA_STORE names another) or one of {', '.join(store_kinds()[1:])} (milvus: $QA_MILVUS_URI)."),
    ] = "auto",
    precision: Annotated[
        Optional[str], typer.Option("--precision", help="int8 (default: ONNX, faster, as good on the benchmarks) or fp32 (plain sentence-transformers); $QA_PRECISION. A sync keeps the index's own unless one is given.")
    ] = None,
    max_file_mb: Annotated[
        Optional[float], typer.Option("--max-file-mb", help="Skip files larger than this. Default: $QA_MAX_FILE_MB, else 50.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    ray: Annotated[
        Optional[str],
        typer.Option(
            "--ray", metavar="[ADDRESS]",
            help="Embed with Ray Data: alone, a local Ray instance; with an address (ray://host:10001, auto), that cluster.",
        ),
    ] = None,  # fmt: skip
) -> None:
    """Build the index of CORPUS_DIR (default: ./corpus), or bring an existing one up to date: only new
    and changed paragraphs are embedded. Files that cannot be used are skipped and listed with the reason;
    the exit code is non-zero only when nothing could be indexed or the index could not be written."""
    if not corpus_dir.is_dir():
        raise _fail(f"corpus folder not found: {corpus_dir}")
    embedder = Embedder(model, precision=precision)
    if ray is not None:
        embedder = RayEmbedder(embedder, None if ray == "local" else ray)
    try:
        report = build_index(
            corpus_dir,
            index_dir,
            embedder=embedder,
            progress=True,
            rebuild=rebuild,
            dry_run=dry_run,
            kind=index_type,
            max_file_mb=max_file_mb,
        )
    except (QAError, ValueError) as e:
        raise _fail(str(e), 1 if isinstance(e, QAError) else 2) from None
    except OSError as e:
        raise _fail(f"cannot write the index: {e.strerror or e} ({e.filename or index_dir or 'index'})") from None
    finally:
        if ray is not None:
            embedder.shutdown()
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False) if as_json else report.summary())


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="Your question.")],
    k: Annotated[int, typer.Option("-k", "--k", help="How many passages.")] = 5,
    history: Annotated[
        Optional[list[str]],
        typer.Option("--history", help="An earlier question of the conversation (repeat, oldest first)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    index_dir: IndexDir = None,
    as_user: AsUser = None,
) -> None:
    """Print the passages that best answer QUESTION, with citations and the answering sentence."""
    try:
        result = ask(question, history=history, k=k, index_dir=index_dir, user=as_user)
    except (QAError, ValueError) as e:
        raise _fail(str(e), 1 if isinstance(e, QAError) else 2) from None
    if as_json:
        payload = {key: value for key, value in result.to_dict().items() if key != "question"}
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    if result.query != question.strip():
        typer.echo(_shown(f"searched for: {result.query}\n"))
    if result.answered and result.hits:
        top = result.hits[0]
        typer.echo(_shown(f"Answer: {top.highlight.text if top.highlight else top.text}\n        [1] {top.citation()}\n"))
    elif result.outcome == "related":
        typer.echo("The documents mention this, but do not state what you asked. The passages about it:\n")
    else:
        typer.echo("The documents do not seem to contain the answer. The closest passages (weak matches):\n")
    if result.reranked:
        typer.echo("(re-ranked: each score is the re-ranker's, for the cross-encoder the probability that the passage answers)\n")
    for n, hit in enumerate(result.hits, 1):
        typer.echo(_shown(f"[{n}] {hit.citation()}  (score {hit.score:.3f})"))
        typer.echo(_shown("    " + hit.text.replace("\n", "\n    ") + "\n"))


Rerank = Annotated[
    Optional[str],
    typer.Option("--rerank", help="Re-ranker: cross-encoder, none, or module:attribute. Default: $QA_RERANK, else cross-encoder."),
]


@app.command("eval")
def eval_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv.")],
    mode: Annotated[str, typer.Option(help="hybrid, dense, bm25 or all.")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[Optional[str], typer.Option("--model", help="Embedding model name or path.")] = None,
    rerank: Rerank = None,
) -> None:
    """Retrieval quality on a BEIR dataset: nDCG@10, Recall@100, MRR@10, each mode re-ranked as answers are."""
    modes = MODES if mode == "all" else (mode,)
    try:
        results = evaluate_retrieval(dataset_dir, modes, embedder=Embedder(model), progress=sys.stderr.isatty(), rerank=rerank)
    except (QAError, ValueError) as e:
        raise _fail(str(e), 1 if isinstance(e, QAError) else 2) from None
    if as_json:
        typer.echo(json.dumps(results))
        return
    typer.echo(f"{'mode':8} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'queries':>8}  re-ranker")
    for name, r in results.items():
        typer.echo(f"{name:8} {r['ndcg@10']:8.4f} {r['recall@100']:8.4f} {r['mrr@10']:8.4f} {r['queries']:8d}  {r['rerank']}")
    if "tuning" in results.get("hybrid", {}):
        typer.echo(tuning_line(Tuning(**results["hybrid"]["tuning"])))


@app.command("eval-qa")
def eval_qa_cmd(
    qa_file: Annotated[Path, typer.Argument(help="JSON lines: {q, answer, source}, {turns, answer, source}, {q}.")],
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus folder to index (in memory).")] = Path("corpus"),
    index_dir: Annotated[
        Optional[Path], typer.Option("--index-dir", help="Use this built index instead of indexing --corpus.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    rerank: Rerank = None,
) -> None:
    """End-to-end answers: answer@1/@3, highlight@1, source@1, followup@3, abstention and its AUROC."""
    try:
        cases = load_qa_cases(qa_file)
        index = load_index(index_dir) if index_dir is not None else index_corpus(corpus)
        report, rows = evaluate_qa(cases, index, rerank=rerank)
    except (QAError, ValueError) as e:
        raise _fail(str(e), 1 if isinstance(e, QAError) else 2) from None
    if as_json:
        typer.echo(json.dumps({"report": report, "cases": rows}, ensure_ascii=False))
        return
    for row in rows:
        ok = row["answer@1"] if row["kind"] in ANSWERABLE else not row["answered"]
        mark = "ok  " if ok else "MISS"
        typer.echo(f"{mark} {row['kind']:12} {row['question']}  →  {row['top'] if row['answered'] else row['outcome'].replace('_', ' ')}")
    typer.echo(f"\nre-ranker: {report['rerank']}")
    typer.echo("cases: " + ", ".join(f"{n} {kind}" for kind, n in report["kinds"].items()))
    for kind, outcomes in report["outcomes"].items():
        typer.echo(f"  {kind}: " + ", ".join(f"{n} {outcome}" for outcome, n in outcomes.items()))
    for name, s in report.items():
        if isinstance(s, dict) and "rate" in s:
            rate = "-" if s["rate"] is None else f"{100 * s['rate']:.1f}%"
            typer.echo(f"{name:24} {s['count']:4d} / {s['of']:<4d} {rate:>7}")
    auroc = report["abstain_auroc"]
    typer.echo(f"{'abstain_auroc':24} {'-' if auroc is None else f'{auroc:.3f}':>11}  (how well confidence separates answerable from not)")


@app.command("mcp")
def mcp_cmd(index_dir: IndexDir = None, as_user: AsUser = None) -> None:
    """Serve the index to MCP clients (assistants, editors) over stdio: search_documents, ask,
    list_documents, and each document as qa://doc/<source>. 'qa serve' offers the same at /mcp."""
    from .serve.mcp_server import run_stdio  # the MCP SDK loads only for the command that serves it

    try:
        groups = user_groups(as_user) if as_user is not None else None
    except QAError as e:
        raise _fail(str(e)) from None
    run_stdio(index_dir, groups)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    index_dir: IndexDir = None,
    corpus_dir: Annotated[
        Optional[Path], typer.Option("--corpus", help="Folder that receives uploads. Default: the one the index was built from.")
    ] = None,
    uploads: Annotated[bool, typer.Option("--uploads/--no-uploads", help="Let people add documents from the page.")] = True,
    auth: Annotated[Optional[str], typer.Option("--auth", help="Require this login, user:password. Default: $QA_AUTH.")] = None,
    auth_file: Annotated[Optional[Path], typer.Option("--auth-file", help="The login file: name:argon2 hash:groups lines, made by 'qa user add'. Default: $QA_AUTH_FILE.")] = None,
) -> None:
    """Start the web chat on http://HOST:PORT/, the HTTP API on /api (OpenAPI docs on /docs) and MCP on /mcp."""
    from .serve.server import serve  # gradio and the web stack load only for the command that serves

    try:
        serve(index_dir, host=host, port=port, corpus_dir=corpus_dir, uploads=uploads, auth=auth, auth_file=auth_file)
    except (QAError, ValueError) as e:
        raise _fail(str(e)) from None


app.add_typer(user_app, name="user")
app.add_typer(access_app, name="access")

_RAY_ADDRESS = re.compile(r"^(auto|local|[a-z]+://\S+|[\w.-]+:\d+)$")


def _ray_value(argv: list[str]) -> list[str]:
    """``--ray`` may stand alone (a local Ray instance) or take an address: click options cannot take
    an optional value, so a bare ``--ray`` becomes ``--ray local``."""
    out = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg == "--ray" and not (i + 1 < len(argv) and _RAY_ADDRESS.match(argv[i + 1])):
            out.append("local")
    return out


def main() -> None:
    app(args=_ray_value(sys.argv[1:]), prog_name="qa")


if __name__ == "__main__":
    main()
