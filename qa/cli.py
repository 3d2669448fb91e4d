"""The ``qa`` command: index a corpus, ask it questions, serve the web chat."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import QAError

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


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("index")
def index_cmd(
    corpus_dir: Annotated[Path, typer.Argument(help="Folder of .txt/.md files.")] = Path("corpus"),
    index_dir: IndexDir = None,
    model: Annotated[
        Optional[str], typer.Option("--model", help="Embedding model name or path. Default: $QA_MODEL.")
    ] = None,
) -> None:
    """Build the index of CORPUS_DIR (default: ./corpus)."""
    from .build import build_index
    from .embed import Embedder

    if not corpus_dir.is_dir():
        raise _fail(f"corpus folder not found: {corpus_dir}")
    try:
        report = build_index(corpus_dir, index_dir, embedder=Embedder(model), progress=sys.stderr.isatty())
    except QAError as e:
        raise _fail(str(e)) from None
    typer.echo(report.summary())


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="Your question.")],
    k: Annotated[int, typer.Option("-k", "--k", help="How many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    index_dir: IndexDir = None,
) -> None:
    """Print the passages that best answer QUESTION, with citations."""
    from .search import retrieve

    try:
        hits = retrieve(question, k, index_dir=index_dir)
    except (QAError, ValueError) as e:
        raise _fail(str(e), 1 if isinstance(e, QAError) else 2) from None
    if as_json:
        typer.echo(json.dumps({"query": question, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    for n, hit in enumerate(hits, 1):
        typer.echo(f"[{n}] {hit.citation()}  (score {hit.score:.3f})")
        typer.echo("    " + hit.text.replace("\n", "\n    ") + "\n")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    index_dir: IndexDir = None,
) -> None:
    """Start the web chat on http://HOST:PORT."""
    from .chat import serve

    try:
        serve(index_dir=index_dir, host=host, port=port)
    except (QAError, ValueError) as e:
        raise _fail(str(e)) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
