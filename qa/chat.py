"""The web chat (gradio): a question in; the answering sentence with its citation out, then the
supporting passages -- or a plain "the documents do not contain the answer". Follow-up questions use
the conversation; every reply says what was searched.

Corpus text is untrusted. Every piece of it (text, title, file name) goes through :func:`escape`, so
HTML, scripts, markdown images and links inside a document are shown as the characters they are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .answer import Answer, answer
from .config import find_index_dir
from .errors import QAError
from .search import Hit, cached_index

__all__ = ["build_app", "escape", "format_reply", "serve"]

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the characters that
# start markup in gradio's renderer (links, images, emphasis, code, lists, headings, tables, math,
# autolinks via ':' and '/'). <, > and & become entities so no raw HTML survives either.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:/$=\"'^])")

SEED_EXAMPLES = [
    "Who is Ardavan Hatami?",
    "How long was the Iranian writer's father in prison?",
    "Which sites did the Iranian delegation visit in Israel?",
    "Who won the 2018 FIFA World Cup?",
]


def escape(text: str) -> str:
    """Untrusted text → markdown that displays exactly that text and nothing else."""
    text = _MARKUP.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(hit: Hit, bold: bool = True) -> str:
    """The passage as a markdown quote, its highlight in bold (unless it is the whole passage); every
    character of it escaped."""
    text, marked = hit.text, hit.highlight
    if not bold or marked is None or marked.text == text:
        parts = [escape(text)]
    else:
        lo, hi = marked.start - hit.start, marked.end - hit.start
        bold = "\n".join(f"<strong>{escape(line)}</strong>" if line.strip() else line for line in text[lo:hi].split("\n"))
        parts = [escape(text[:lo]), bold, escape(text[hi:])]
    return "\n".join("> " + line if line.strip() else ">" for line in "".join(parts).split("\n"))


def _cite(n: int, hit: Hit) -> str:
    return f"[{n}] {escape(hit.citation())}"


def format_reply(result: Answer) -> str:
    """The chat's reply: the answering sentence with its citation, then the supporting passages; or a
    plain statement that the documents do not contain the answer, then the closest passages as weak."""
    searched = f"<small>searched for: {escape(result.query)}</small>"
    if not result.hits:
        return f"The index is empty: there is nothing to search.\n\n{searched}"
    if result.answered:
        top = result.hits[0]
        sentence = top.highlight.text if top.highlight else top.text
        head = f"**Answer:** {escape(sentence)}\n\n— {_cite(1, top)}\n\n{searched}\n\n**Supporting passages**"
        label = ""
    else:
        head = (
            "**The documents do not contain the answer to this question.** The closest passages are below; "
            f"they are weak matches and probably do not answer it.\n\n{searched}"
        )
        label = " · weak match"
    parts = [head]
    for n, hit in enumerate(result.hits, 1):
        # No score: fused scores rank passages against each other, they are not a measure of truth.
        parts.append(f"**{_cite(n, hit)}**{label}\n\n{_quote(hit, bold=result.answered)}")
    return "\n\n".join(parts)


def _user_turns(history: list) -> list[str]:
    """The user's earlier questions from gradio's message history. Gradio 6 hands content over as a
    list of parts (``{"type": "text", "text": ...}``); a plain string is accepted too."""
    turns = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        text = " ".join(
            part if isinstance(part, str) else str(part.get("text", ""))
            for part in parts
            if isinstance(part, str) or (isinstance(part, dict) and part.get("type", "text") == "text")
        )
        if text.strip():
            turns.append(text.strip())
    return turns


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

    def reply(message: str, history: list) -> str:
        if not message or not message.strip():
            return "Please type a question."
        try:
            result = answer(cached_index(index_dir), message, history=_user_turns(history), k=k)
        except QAError as e:
            return f"Sorry, the index cannot be searched right now: {escape(str(e))}"
        return format_reply(result)

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
        reply,
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
