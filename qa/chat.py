"""The web chat (gradio): a question in, the best passages out, each with its numbered citation.

Corpus text is untrusted. Every piece of it (text, title, file name) goes through :func:`escape`, so
HTML, scripts, markdown images and links inside a document are shown as the characters they are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .config import find_index_dir
from .errors import QAError
from .search import Hit, cached_index

__all__ = ["build_app", "escape", "format_reply", "serve"]

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the characters that
# start markup in gradio's renderer (links, images, emphasis, code, lists, headings, tables, math,
# autolinks via ':' and '/'). <, > and & become entities so no raw HTML survives either.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:/$=\"'^])")

SEED_EXAMPLES = [
    "How long was the Iranian writer's father in prison?",
    "Who is in charge of the Foreign Ministry's Persian social media accounts?",
    "Which sites did the delegation of Iranian dissidents visit in Israel?",
]


def escape(text: str) -> str:
    """Untrusted text → markdown that displays exactly that text and nothing else."""
    text = _MARKUP.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_reply(hits: list[Hit]) -> str:
    if not hits:
        return "The index is empty: there is nothing to search."
    parts = []
    for n, hit in enumerate(hits, 1):
        quoted = "\n".join("> " + line if line.strip() else ">" for line in escape(hit.text).split("\n"))
        parts.append(
            f"**[{n}] {escape(hit.title)}** — {escape(hit.source)} ¶{hit.paragraph}, line {hit.line} "
            f"· score {hit.score:.2f}\n\n{quoted}"
        )
    return "\n\n".join(parts)


def _examples(manifest: dict) -> list[str]:
    files = manifest.get("files", {})
    seed = {"000_ec1e6d9161bd9899.txt", "001_a1be916fc4c24177.txt", "002_14c79f4b99af8c32.txt"}
    if seed <= files.keys():
        return SEED_EXAMPLES
    return []


def build_app(index_dir: str | os.PathLike | None = None, *, k: int = 5):
    """The gradio app over the index in ``index_dir``. Raises QAError when there is no usable index."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    index_dir = find_index_dir(index_dir).resolve()
    index = cached_index(index_dir)  # fail now, not at the first question, if there is no index
    index.embedder.model  # load the model before the first visitor waits for it

    def answer(message: str, history: list) -> str:
        if not message or not message.strip():
            return "Please type a question."
        try:
            hits = cached_index(index_dir).retrieve(message, k)
        except QAError as e:
            return f"Sorry, the index cannot be searched right now: {escape(str(e))}"
        return format_reply(hits)

    chatbot = gr.Chatbot(
        label="qa",
        height=560,
        sanitize_html=True,
        render_markdown=True,
        latex_delimiters=[],
        allow_tags=False,
        placeholder="Ask a question about your documents. Every answer cites file, paragraph and line.",
    )
    return gr.ChatInterface(
        answer,
        chatbot=chatbot,
        textbox=gr.Textbox(placeholder="Ask a question…", submit_btn=True, autofocus=True),
        examples=_examples(index.manifest) or None,
        title="qa — ask your documents",
        description=f"{len(index)} passages from {len(index.manifest.get('files', {}))} documents "
        f"({escape(Path(index.manifest.get('corpus', '')).name)}).",
        api_name="chat",
        flagging_mode="never",
        fill_height=True,
    )


def serve(index_dir: str | os.PathLike | None = None, *, host: str = "127.0.0.1", port: int = 7860) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    demo = build_app(index_dir)
    print(f"qa: web chat on http://{host}:{port}", flush=True)
    demo.launch(server_name=host, server_port=port, show_error=False, quiet=True)
