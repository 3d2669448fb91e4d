"""MCP: the same search for agents and editors, on the official Model Context Protocol SDK (``mcp``).

Three tools and one resource template, over the index in one folder (reloaded when a build replaces it,
as :func:`qa.ask` does):

- ``search_documents(question, k, sources, history)``: the hits, each with its citation, highlight and score;
- ``ask(question, history)``: :func:`qa.ask`'s answer -- outcome, confidence and the same hits in the same order;
- ``list_documents()``: the indexed files, each with the URI it is readable under;
- ``qa://doc/<source>``: the text of an indexed document, the text its hits' offsets refer to.

A resource is built from what the index holds (its passages at their offsets, or the text extracted from
a PDF, DOCX or HTML file): no file is opened for a request, and a URI that names anything but an indexed
document -- ``..``, an absolute path, an encoded traversal -- is an error, never a read. Bad input (a
blank question, ``k`` out of range, a file not in the index, no index yet) is the protocol's error
result with one line, which never repeats what was sent.

``qa mcp`` serves it over stdio; ``qa serve`` also offers it over streamable HTTP at ``/mcp``
(:func:`http_app`), behind the same login and limits as the rest of the server (:mod:`.guard`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import Resource
from pydantic import Field, ValidationError
from starlette.responses import JSONResponse

from ..config import find_index_dir
from ..errors import MAX_HISTORY, MAX_K, MAX_QUESTION, QAError
from ..indexing.index import Index
from ..readers import format_of
from ..retrieval.oneshot import cached_retriever
from ..retrieval.pipeline import Retriever
from ..retrieval.request import Request
from ..version import __version__
from .http_api import MAX_SOURCE, MAX_SOURCES

__all__ = ["DOC_URI", "build_mcp", "document_text", "http_app", "run_stdio"]

DOC_URI = "qa://doc/"

INSTRUCTIONS = (
    "qa searches a fixed set of the user's documents and answers with the paragraphs that best answer a "
    "question, each with a citation (file, section, paragraph, line or page) the user can check. Use "
    "search_documents to find passages, ask when you need to know whether the documents actually state the "
    "answer, list_documents to see which files there are, and read qa://doc/<source> for a whole document."
)

Question = Annotated[str, Field(max_length=MAX_QUESTION, description="The question, in the user's words.")]
History = Annotated[
    list[Annotated[str, Field(max_length=MAX_QUESTION)]] | None,
    Field(max_length=MAX_HISTORY, description="The conversation's earlier user questions, oldest first: "
          "lets a follow-up like 'where is he based?' be understood. Omit for a self-standing question."),
]  # fmt: skip


class _Server(MCPServer):
    """The SDK's server, listing the index's documents as resources (the list follows the index)."""

    def __init__(self, current, **kwargs):
        super().__init__(**kwargs)
        self._current = current

    async def call_tool(self, name, arguments, context=None):
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:  # the SDK's message for arguments that do not fit repeats them: one line instead
            if isinstance(e.__cause__, ValidationError):
                raise ToolError(_invalid(e.__cause__)) from None
            raise ToolError(str(e).removeprefix(f"Error executing tool {name}: ")) from None

    async def list_resources(self) -> list[Resource]:
        try:
            index = self._current().index
        except ToolError:
            return []  # no index yet: nothing to read
        return [
            Resource(uri=DOC_URI + quote(s), name=s, title=_title(index, s), mime_type="text/plain")
            for s in index.sources
        ]


def build_mcp(index_dir: str | os.PathLike | None = None) -> MCPServer:
    """The MCP server over the index in ``index_dir`` (found as :func:`qa.ask` finds it)."""
    folder = find_index_dir(index_dir)

    def current() -> Retriever:
        try:
            return cached_retriever(folder)
        except QAError as e:
            raise ToolError(str(e)) from None

    server = _Server(current, name="qa", title="qa: ask your documents", version=__version__, instructions=INSTRUCTIONS)

    def run(question, k, history, sources):
        retriever = current()
        if sources is not None:
            if len(sources) > MAX_SOURCES or any(not isinstance(s, str) or len(s) > MAX_SOURCE for s in sources):
                raise ToolError(f"sources: at most {MAX_SOURCES:,} file paths of up to {MAX_SOURCE} characters")
            unknown = sum(not retriever.index.positions_of([s]).size for s in set(sources))
            if unknown:
                raise ToolError(f"sources: {unknown} of the files named {'is' if unknown == 1 else 'are'} not in the "
                                "index (list_documents names the indexed ones)")  # fmt: skip
        try:
            return retriever.run(Request.checked(question, k, history=history, sources=sources))
        except ValueError as e:  # qa's own one-line messages (blank question, k out of range, too long…)
            raise ToolError(str(e)) from None

    @server.tool(structured_output=True)
    def search_documents(
        question: Question,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many passages, best first.")] = 5,
        sources: Annotated[
            list[Annotated[str, Field(max_length=MAX_SOURCE)]] | None,
            Field(max_length=MAX_SOURCES, description="Search only these files (their `source` as list_documents gives it)."),
        ] = None,
        history: History = None,
    ) -> dict[str, Any]:
        """Search the user's documents for the passages that best answer a question. Returns `query` (what
        was searched: a follow-up is searched with the conversation's topic) and `hits`, best first, each
        with its `text`, a `citation` to show the user (title — file › section ¶paragraph, line or page),
        `source`, `paragraph`, `line`, `page`, `section`, character offsets `start`/`end` into the document's
        text (readable as the resource qa://doc/<source>), the `highlight` (the sentence that best answers,
        with its offsets) and `score`. Quote the highlight and give its citation; the hits are the closest
        passages even when the documents do not state the answer -- use `ask` to know whether they do."""
        result = run(question, k, history, sources)
        return {"query": result.query, "hits": [h.to_dict() for h in result.hits]}

    @server.tool(structured_output=True)
    def ask(question: Question, history: History = None) -> dict[str, Any]:
        """Ask the user's documents a question and learn whether they answer it. Returns `outcome`:
        "answered" (a passage states it: quote hits[0].highlight with its citation), "related" (the
        documents are about the subject but state no such thing: say so rather than guess) or "not_found"
        (the documents do not contain it: say so); `answered` (true only for "answered"), `confidence`
        (the best match's similarity above this index's threshold; negative: not found), `query` and the
        five best `hits` as search_documents gives them."""
        return run(question, 5, history, None).to_dict()

    @server.tool(structured_output=True)
    def list_documents() -> dict[str, Any]:
        """The documents that can be searched: each with its `source` (the path to pass in `sources` and to
        read as `uri`), `title`, `format`, number of `passages` and `copies` (other paths with the same
        content), and `skipped`: files of the corpus that could not be indexed, with the reason."""
        index = current().index
        copies = {p.source: list(p.copies) for p in index.passages}
        documents = [
            {"source": s, "uri": DOC_URI + quote(s), "title": _title(index, s), "format": format_of(s), "passages": n,
             "copies": copies[s]}
            for s, n in index.sources.items()
        ]  # fmt: skip
        return {"documents": documents, "skipped": {k: v.reason for k, v in index.manifest.skipped.items()}}

    @server.resource(DOC_URI + "{+source}", name="document", mime_type="text/plain",
                     description="The text of an indexed document, by its source path (as list_documents gives it).")  # fmt: skip
    def read_document(source: str) -> str:
        try:
            index = current().index
        except ToolError as e:
            raise ResourceError(str(e)) from None
        if source not in index.sources:
            raise ResourceNotFoundError("no such document in the index (list_documents names them)")
        return document_text(index, source)

    return server


def _invalid(error: ValidationError) -> str:
    """Where and what for arguments that do not fit the schema, never the value sent."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "arguments"
    more = f" (and {error.error_count() - 1} more problem{'s' * (error.error_count() > 2)})" if error.error_count() > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _title(index: Index, source: str) -> str:
    at = index.positions_of([source])
    return index.passages[int(at[0])].title if at.size else ""


def document_text(index: Index, source: str) -> str:
    """The text an indexed document's offsets refer to: the text extracted from a PDF, DOCX or HTML file,
    else its passages at their offsets (what lies between them -- blank lines -- as newlines)."""
    extracted = index.document_text(source)
    if extracted is not None:
        return extracted
    passages = sorted((index.passages[int(i)] for i in index.positions_of([source])), key=lambda p: p.start)
    out, at = [], 0
    for p in passages:
        if p.start >= at:
            out.append("\n" * (p.start - at) + p.text)
            at = p.end
    return "".join(out)


def run_stdio(index_dir: str | os.PathLike | None = None) -> None:
    """Serve MCP over stdin/stdout until the client closes it (what ``qa mcp`` runs)."""
    build_mcp(index_dir).run("stdio")


def http_app(index_dir: str | Path):
    """The MCP endpoint as an ASGI app to route ``/mcp`` to, and the lifespan that must run around it.

    Stateless, JSON responses: each request stands alone, so nothing accumulates per client. Host names,
    cross-site requests, login and body size are checked in front of it by :class:`.guard.Guard`, as for
    every other route (the SDK's own host check would not know ``$QA_ALLOWED_HOSTS``)."""
    server = build_mcp(index_dir)
    app = server.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with server.session_manager.run():
            yield

    return _PostOnly(app), lifespan


class _PostOnly:
    """The HTTP side of the endpoint around the SDK's app. Stateless MCP has no event stream to GET and
    hold open and no session to DELETE: any method but POST is 405, as the protocol allows. A JSON-RPC
    error the SDK writes may quote the request (a malformed message's parse errors name its values):
    its message is cut to one line of at most ``ERROR_CHARS`` characters and its ``data`` dropped.
    (An ASGI app, not a function: a router would call a function with a request.)"""

    ERROR_CHARS = 200

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] != "POST":
            return await JSONResponse({"detail": "method not allowed"}, 405, headers={"Allow": "POST"})(scope, receive, send)
        start, chunks = None, []

        async def buffered(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return None
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return None
            body = _one_line_errors(b"".join(chunks), self.ERROR_CHARS)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


def _one_line_errors(body: bytes, limit: int) -> bytes:
    """``body`` with each JSON-RPC error's message cut to its first line (at most ``limit`` characters)
    and its data dropped; anything else as it was."""
    if b'"error"' not in body:
        return body
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    messages = payload if isinstance(payload, list) else [payload]
    for message in messages:
        error = message.get("error") if isinstance(message, dict) else None
        if isinstance(error, dict):
            text = str(error.get("message", "")).split("\n", 1)[0]
            error["message"] = text if len(text) <= limit else text[: limit - 1] + "…"
            error.pop("data", None)
    return json.dumps(payload, ensure_ascii=False).encode()
