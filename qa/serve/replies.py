"""The chat's replies as markdown: the answer with its citation, the supporting passages, and each
passage "in context" (the paragraphs around it, and for a PDF or image the page with the answer boxed).

Corpus text is untrusted: every piece of it (text, title, heading, file name) goes through
:func:`escape`, so HTML, scripts, markdown images and links inside a document are shown as the
characters they are. The only markup is qa's own: emphasis, quotes, and the page image, whose address
qa makes (:func:`.pages.page_url`).
"""

from __future__ import annotations

import re

from ..indexing.index import Index
from ..passage import Hit
from ..retrieval.answer import Answer
from .pages import page_url

__all__ = ["PAGE_CSS", "context_markdown", "escape", "format_reply", "reply_messages"]

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the characters that
# start markup in gradio's renderer (links, images, emphasis, code, lists, headings, tables, math,
# autolinks via ':' and '/'). <, > and & become entities so no raw HTML survives either.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:/$=\"'^])")

# The page image floats beside the passage's text in an "in context" message (the address is qa's own).
# Its message grows to hold it (flow-root), so the page is never cut off at the message's edge.
# gradio caps a message image's height (30vw): the page's own proportions win here.
PAGE_CSS = """.message-wrap .md img[src^="/api/page?"], img[src^="/api/page?"] { float: right; width: 50%;
  min-width: min(100%, 320px); max-width: 720px; height: auto; max-height: none; margin: 0 0 0.75em 1em;
  border: 1px solid #999; background: #fff; }
*:has(> p > img[src^="/api/page?"]) { display: flow-root; }"""


def escape(text: str) -> str:
    """Untrusted text → markdown that displays exactly that text and nothing else."""
    text = _MARKUP.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(hit: Hit, bold: bool = True, whole: bool = False) -> str:
    """The passage as a markdown quote, its highlight in bold (unless it is the whole passage and not
    ``whole``: in context the cited passage stands out from its neighbours even so); every character of
    it escaped."""
    text, marked = hit.text, hit.highlight
    if not bold or marked is None or (marked.text == text and not whole):
        parts = [escape(text)]
    else:
        lo, hi = marked.start - hit.start, marked.end - hit.start
        bold = "\n".join(f"<strong>{escape(line)}</strong>" if line.strip() else line for line in text[lo:hi].split("\n"))
        parts = [escape(text[:lo]), bold, escape(text[hi:])]
    return "\n".join("> " + line if line.strip() else ">" for line in "".join(parts).split("\n"))


def _cite(n: int, hit: Hit) -> str:
    return f"[{n}] {escape(hit.citation())}"


def format_reply(result: Answer) -> str:
    """The chat's reply: the answering sentence with its citation, then the supporting passages; or a plain
    statement that the documents only mention the subject (related) or do not contain it, then the passages."""
    order = " · re-ranked" if result.reranked else ""
    searched = f"<small>searched for: {escape(result.query)}{order}</small>"
    if not result.hits:
        return f"The index is empty: there is nothing to search.\n\n{searched}"
    if result.answered:
        top = result.hits[0]
        sentence = top.highlight.text if top.highlight else top.text
        head = f"**Answer:** {escape(sentence)}\n\n— {_cite(1, top)}\n\n{searched}\n\n**Supporting passages**"
        label = ""
    elif result.outcome == "related":
        head, label = f"**The documents mention this, but do not state what you asked.**\n\n{searched}", " · related"
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


def context_markdown(index: Index, hit: Hit) -> str:
    """The passage in its document: the paragraph before, the passage (its highlight in bold), the
    paragraph after -- all escaped; beside them, for a PDF or image file, its page with the answer boxed."""
    before, after = index.neighbours(hit.source, hit.start)
    parts = [_plain_quote(p.text) for p in (before,) if p is not None] + [_quote(hit, whole=True)]
    url = page_url(hit)
    if url is not None:
        page = url.split("&page=", 1)[1].split("&", 1)[0]  # digits
        parts.insert(0, f"![Page {page}, the answer boxed]({url})")
    return "\n\n".join(parts + [_plain_quote(p.text) for p in (after,) if p is not None])


def _plain_quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in escape(text).split("\n"))


def reply_messages(index: Index, result: Answer) -> list[dict]:
    """The reply, then one collapsed "in context" message per cited passage (opened with a click)."""
    messages = [{"role": "assistant", "content": format_reply(result)}]
    for n, hit in enumerate(result.hits, 1):
        title = f"{_cite(n, hit)} — in context"  # gradio renders titles as markdown too
        messages.append(
            {"role": "assistant", "content": context_markdown(index, hit), "metadata": {"title": title, "status": "done"}}
        )
    return messages
