"""The web chat (gradio): a question in; the answering sentence with its citation out, then the
supporting passages -- or a plain "the documents do not contain the answer". Follow-up questions use
the conversation; every reply says what was searched (its markdown: :mod:`.replies`). Each citation
opens to show the passage in its document, and the page for a PDF or image; the search can be limited to chosen documents; documents can be uploaded (indexed in the
background, see :mod:`.indexer`). :mod:`.server` serves it with the HTTP API.

Corpus text is untrusted. Every piece of it (text, title, heading, file name) goes through
:func:`escape` wherever it is shown -- replies, the "in context" titles, the status line, upload
messages -- so HTML, scripts, markdown images and links inside a document are shown as the characters
they are. What a visitor sends is untrusted too: the question and the settings are checked, and the
upload handler takes only files gradio itself received.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
from gradio import Request as GradioRequest  # noqa: E402  (module level: gradio finds it by the annotation)

from ..config import find_index_dir
from ..errors import QAError
from ..indexing.access import grants, load_rules
from ..readers import FORMATS
from ..retrieval.oneshot import cached_retriever
from ..retrieval.pipeline import Retriever
from ..retrieval.request import MAX_HISTORY, MAX_QUESTION, BlankQuestion
from .asker import groups_from, readable
from .indexer import DEFAULT_MAX_UPLOAD_MB, UPLOADS, Indexer, safe_name
from .payload import received
from .replies import PAGE_CSS, context_markdown, escape, format_reply, reply_messages

__all__ = ["PAGE_CSS", "build_app", "context_markdown", "escape", "format_reply", "reply_messages"]

MAX_PASSAGES = 20
MAX_QUEUE = 64
MAX_CHOSEN = 1000  # documents a search may be limited to

SEED_EXAMPLES = [
    "Who is Ardavan Hatami?",
    "How long was the Iranian writer's father in prison?",
    "Which sites did the Iranian delegation visit in Israel?",
    "Who won the 2018 FIFA World Cup?",
]


def _user_turns(history: list) -> list[str]:
    """The user's earlier questions from gradio's message history, the latest :data:`MAX_HISTORY` (each
    cut to the question limit: the history comes from the browser, whatever it says). Gradio 6 hands
    content over as a list of parts (``{"type": "text", "text": ...}``); a plain string is accepted too."""
    turns = []
    for message in history if isinstance(history, list) else []:
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
            turns.append(text.strip()[:MAX_QUESTION].encode("utf-8", "replace").decode("utf-8"))
    return turns[-MAX_HISTORY:]


def _passage_count(value: object, default: int) -> int:
    """The slider's value as a passage count: a number, clamped to 1..MAX_PASSAGES."""
    try:
        number = float(default if value is None else value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"passages per answer must be a number from 1 to {MAX_PASSAGES}")
    return min(max(int(number), 1), MAX_PASSAGES)


def _chosen_sources(chosen: object) -> list[str] | None:
    if not chosen:
        return None
    if not isinstance(chosen, list) or len(chosen) > MAX_CHOSEN or not all(isinstance(c, str) for c in chosen):
        raise ValueError(f"the documents to search must be a list of at most {MAX_CHOSEN} file names")
    return chosen


def _examples(files: tuple[str, ...]) -> list[str]:
    seed = {"000_ec1e6d9161bd9899.txt", "001_a1be916fc4c24177.txt", "002_14c79f4b99af8c32.txt"}
    if seed <= set(files):
        return SEED_EXAMPLES
    return []


def build_app(
    index_dir: str | os.PathLike | None = None,
    *,
    indexer: Indexer | None = None,
    uploads: bool = True,
    k: int = 5,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
):
    """The gradio app over the index in ``index_dir``. With an ``indexer``, the index may still be being
    built, and documents can be uploaded unless ``uploads`` is False. Raises QAError when there is no index and no indexer.

    Each visitor sees only what they may read (:mod:`.asker`): the page as served holds no document's
    name or count; the document picker and the status line are filled for each visitor when the page
    loads, and every event answers from the files their groups may read."""
    import gradio as gr

    index_dir = find_index_dir(index_dir).resolve()

    def loaded() -> Retriever | None:
        try:
            return cached_retriever(index_dir)
        except QAError:
            if indexer is None:
                raise
            return None

    first = loaded()
    if first is not None:
        first.warm_up()  # the models and the subject test, before the first visitor waits for them

    def visible(request: GradioRequest | None) -> tuple[Retriever | None, frozenset[str] | None]:
        """The retriever (None: no index yet), and the files the visitor may read (None: all)."""
        current = loaded()
        groups = groups_from(request.headers if request is not None else None)
        return current, readable(current.index, groups) if current is not None else frozenset()

    def documents(request: GradioRequest | None) -> list[str]:
        current, files = visible(request)
        return [s for s in current.index.sources if files is None or s in files] if current is not None else []

    def status_text(request: GradioRequest | None) -> str:
        (current, files), state = visible(request), indexer.status if indexer else None
        if current is None:
            line = "**No index yet.** " + ("It is being built; ask in a moment." if state and state.busy else "")
        else:
            about = current.index.about(files)
            line = f"{about.passages} passages from {len(about.files)} documents ({escape(about.corpus)})."
        if state and state.message:
            # the build's message names files and counts them all: with access rules, only that it runs
            private = current is not None and current.index.rules is not None
            message = state.message if not private else "Indexing… answers use the current index until it is done." if state.busy else (
                "Indexing failed; the server's log says why." if state.error else "")  # fmt: skip
            line += f"  \n{'⏳ ' if state.busy else ''}{escape(message)}" if message else ""
        return line

    def reply(message: str, history: list, passages: float, chosen: list[str] | None, request: GradioRequest):
        try:
            current, files = visible(request)
            if current is None:
                current = cached_retriever(index_dir)  # no index: its error, said below
            sources = _chosen_sources(chosen)
            result = current.ask(message, _passage_count(passages, k), history=_user_turns(history), sources=sources, readable=files)
        except BlankQuestion:
            return "Please type a question."
        except ValueError as e:  # too long, not text, a bad setting: the message names it, not the input
            return f"Sorry: {escape(str(e))}."
        except QAError as e:  # no index (yet), or the re-ranker's model missing or damaged
            if indexer is not None and indexer.status.busy:
                return "The index is being built right now; please ask again in a moment."
            return f"Sorry, the index cannot be searched right now: {escape(str(e))}"
        messages = reply_messages(current.index, result)
        if sources:
            messages[0]["content"] += f"\n\n<small>searched only: {escape(', '.join(sources))}</small>"
        return messages

    def upload(files: list[str] | None, request: GradioRequest):
        if not files or indexer is None:
            return "", None
        current = loaded()
        try:  # where this visitor may add documents: the rules the index enforces (before one: the file's)
            rules = current.index.rules if current is not None else load_rules(indexer.corpus_dir)
        except QAError as e:
            return f"Sorry, documents cannot be added now: {escape(str(e))}", None
        groups = groups_from(request.headers)
        target = UPLOADS if rules is None else rules.upload_folder(groups)
        if target is None:
            return "Sorry: the access rules let none of your groups add documents.", None
        # gradio hands over the files it received into its upload folder; anything else is refused
        # (the server refuses it before this too: see qa.serve.guard).
        folder = gr.utils.get_upload_folder()
        foreign = [f for f in files if not received(f, folder)]
        files = [f for f in files if f not in foreign]
        # a folder one may write but not read: no message may tell what is in it
        may_read = None if rules is None else (lambda source: grants(rules.readers(source, indexer.corpus_dir), groups))
        saved, refused = indexer.save_uploads(files, int(max_upload_mb * 1024 * 1024), target, may_read)
        refused += [f"{safe_name(Path(str(f)).name)}: refused, it was not uploaded to this page" for f in foreign]
        if saved:
            indexer.sync(", ".join(saved))
        lines = [f"Added {escape(s)}; indexing it in the background." for s in saved] + [escape(r) for r in refused]
        return "  \n".join(lines), None

    def refresh(chosen: list[str] | None, known: list[str], request: GradioRequest):
        docs = documents(request)
        if docs == known:
            return status_text(request), gr.skip(), known
        return status_text(request), gr.Dropdown(choices=docs, value=[c for c in chosen or [] if c in docs]), docs

    chatbot = gr.Chatbot(
        label="qa",
        height=600,
        sanitize_html=True,
        render_markdown=True,
        latex_delimiters=[],
        allow_tags=False,
        placeholder="Ask a question about your documents. Every answer cites file, paragraph and line, page or section.",
    )
    with gr.Blocks(title="qa — ask your documents", fill_height=True) as demo:
        gr.Markdown("## qa — ask your documents")
        # nothing of the index in the page as served (its config is the same for everyone): filled on load
        status = gr.Markdown("Loading…", elem_id="qa-status")
        known = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                chosen = gr.Dropdown(
                    choices=[], value=[], multiselect=True, label="Search only these documents",
                    info="Leave empty to search all.", elem_id="qa-docs",
                    # the choices are each visitor's (filled on load), not the page's: a name is checked
                    # by the search itself (not indexed or not readable: "not in the index")
                    allow_custom_value=True,
                )  # fmt: skip
                passages = gr.Slider(1, MAX_PASSAGES, value=k, step=1, label="Passages per answer", elem_id="qa-k")
                if indexer is not None and uploads:
                    files = gr.File(
                        label=f"Add documents ({' '.join(sorted(FORMATS))}; up to {max_upload_mb:g} MB each)",
                        file_count="multiple", file_types=sorted(FORMATS), elem_id="qa-upload",
                    )  # fmt: skip
                    upload_note = gr.Markdown(elem_id="qa-upload-note")
                    files.upload(upload, inputs=files, outputs=[upload_note, files], api_visibility="private")
            with gr.Column(scale=3):
                gr.ChatInterface(
                    reply,
                    chatbot=chatbot,
                    textbox=gr.Textbox(placeholder="Ask a question…", submit_btn=True, autofocus=True),
                    additional_inputs=[passages, chosen],
                    # None for the slider and the documents: gradio then shows the questions inside the empty
                    # chat and runs a clicked one with the visitor's current settings (values would make a table).
                    examples=[[q, None, None] for q in _examples(first.index.about().files)] if first is not None and first.index.rules is None else None,
                    api_name="chat",
                    fill_height=True,
                )
        # The chat's own queue is bounded too: beyond it, gradio tells the visitor the queue is full.
        demo.queue(default_concurrency_limit=2, max_size=MAX_QUEUE)
        demo.load(refresh, inputs=[chosen, known], outputs=[status, chosen, known], show_progress="hidden", api_visibility="private")
        timer = gr.Timer(2.0)
        timer.tick(refresh, inputs=[chosen, known], outputs=[status, chosen, known], show_progress="hidden",
                   api_visibility="private")  # fmt: skip
    return demo
