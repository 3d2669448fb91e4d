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
(:func:`qa.serve.mcp_http.http_app`), behind the same login and limits as the rest of the server (:mod:`.guard`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
from typing import Any
from urllib.parse import quote

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, ErrorData, JSONRPCError, Resource,
    jsonrpc_message_adapter,
)  # fmt: skip
from pydantic import ValidationError

from ..config import find_index_dir
from ..errors import QAError
from ..retrieval.pipeline import Retriever
from ..retrieval.request import Request
from ..version import __version__
from .asker import GROUPS, readable
from .schema import K, History, Question, Sources, validation_message
from .views import current_retriever

__all__ = ["DOC_URI", "build_mcp", "one_line", "run_stdio"]

DOC_URI = "qa://doc/"
LOG_CHARS = 500  # characters of a log record of the SDK's
METHOD_CHARS = 100  # of a method name over stdio (MCP's are under 40)
ERROR_CHARS = 200  # characters of an error message sent back

INSTRUCTIONS = (
    "qa searches a fixed set of the user's documents and answers with the paragraphs that best answer a "
    "question, each with a citation (file, section, paragraph, line or page) the user can check. Use "
    "search_documents to find passages, ask when you need to know whether the documents actually state the "
    "answer, list_documents to see which files there are, and read qa://doc/<source> for a whole document."
)

class _Server(MCPServer):
    """The SDK's server, listing the index's documents as resources (the list follows the index)."""

    def __init__(self, current, **kwargs):
        super().__init__(**kwargs)
        self._current = current

    async def call_tool(self, name, arguments, context=None):
        tool = self._tool_manager.get_tool(name)
        if tool is None:  # the SDK's message would repeat the name
            raise ToolError("unknown tool: tools/list names the tools of this server")
        known = tool.parameters.get("properties", {}).keys()
        unknown = len(arguments.keys() - known) if isinstance(arguments, dict) else 0
        if unknown:  # the SDK would drop them unsaid: a misspelt "k" or "sources" must not pass for none given
            raise ToolError(f"{unknown} unknown argument{'s' * (unknown > 1)}; the arguments are {', '.join(known) or 'none'}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:  # the SDK's message for arguments that do not fit repeats them: one line instead
            if isinstance(e.__cause__, ValidationError):
                raise ToolError(validation_message(e.__cause__.errors())) from None
            raise ToolError(one_line(str(e).removeprefix(f"Error executing tool {name}: "))) from None

    async def read_resource(self, uri, context=None):
        try:
            return await super().read_resource(uri, context)
        except ResourceNotFoundError as e:  # the SDK's answer repeats the URI (data, or its own message)
            message = str(e) if str(e).startswith("no such document") else "unknown resource: resources/list names them"
            raise MCPError(INVALID_PARAMS, message) from None

    async def get_prompt(self, name, arguments=None, context=None):
        if self._prompt_manager.get_prompt(name) is None:  # the SDK's message, and its logged traceback, repeat the name
            raise MCPError(INVALID_PARAMS, "unknown prompt: prompts/list names the prompts of this server")
        return await super().get_prompt(name, arguments, context)

    async def list_resources(self) -> list[Resource]:
        try:
            index = self._current().index
        except ToolError:
            return []  # no index yet: nothing to read
        files = readable(index, GROUPS.get())
        return [
            Resource(uri=DOC_URI + quote(s), name=s, title=index.title(s), mime_type="text/plain")
            for s in index.sources if files is None or s in files
        ]


    async def run_stdio_async(self) -> None:
        """The SDK's stdio transport, reading lines JSON-RPC's parser can take (:class:`_ValidLines`)."""
        # lines end at LF only: a CR inside a message (JSON whitespace) must not cut it in two
        stdin = _ValidLines(anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")))
        async with stdio_server(stdin=stdin) as (read_stream, write_stream):
            stdin.replies = write_stream  # before the first await: no line is read before it is set
            await self._lowlevel_server.run(read_stream, write_stream, self._lowlevel_server.create_initialization_options())


class _ValidLines:
    """stdin's lines as the SDK's stdio transport can take them. An escaped lone surrogate ("\\ud800",
    valid JSON text that no UTF-8 can hold) is replaced by U+FFFD. A line the SDK cannot take -- not JSON,
    or not one JSON-RPC message (a batch, an object for an id, a number of 5,000 digits) -- is answered
    here, -32700 or -32600 with the request's id when it has one, and not passed on: the SDK logged it and
    answered nothing, so the client waited for ever. So is a method name too long to be one (the SDK's
    "Method not found" repeated it). Blank lines carry no message: skipped."""

    def __init__(self, lines) -> None:
        self._lines = lines
        self.replies = None  # the transport's write stream, once it exists

    async def __aiter__(self):
        async for line in self._lines:
            if not line.strip():
                continue
            line = _without_lone_surrogates(line)
            refused = _refusal(line)
            if refused is None:
                yield line
            elif self.replies is not None:
                await self.replies.send(SessionMessage(refused))


def _refusal(line: str) -> JSONRPCError | None:
    """The error answering ``line``, or None when the SDK can take it."""
    try:
        parsed = json.loads(line, parse_int=lambda digits: int(digits) if len(digits) <= 4000 else _HUGE)
    except (ValueError, RecursionError):
        return _error(None, PARSE_ERROR, "Parse error: a line must be one JSON-RPC message in JSON")
    request_id = parsed.get("id") if isinstance(parsed, dict) else None
    asks = isinstance(parsed, dict) and "method" in parsed and "id" in parsed  # a request (not a notification)
    if not _is_id(request_id) or (asks and request_id is None):  # the SDK took these for notifications
        return _error(None, INVALID_REQUEST, "Invalid request: an id must be a string or an integer")
    try:
        message = jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError:
        return _error(request_id, INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message this server takes")
    if len(getattr(message, "method", "")) > METHOD_CHARS:
        return _error(request_id, METHOD_NOT_FOUND, "Method not found")
    return None


_HUGE = object()  # a number of more digits than Python reads: not an id to answer with


def _is_id(value) -> bool:
    return value is None or isinstance(value, str) or type(value) is int  # JSON-RPC's (not true, not 1.5, not {})


def _error(request_id, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def _without_lone_surrogates(line: str) -> str:
    if "\\u" not in line:  # no escape at all: nothing to mend (the common case, at no cost)
        return line
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return line  # not JSON: the SDK says so itself
    stack, mended = [message], False
    while stack:  # not recursive: nesting depth is the sender's choice
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, value in list(pairs):
            if isinstance(value, str) and _LONE.search(value):
                item[key], mended = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace"), True
            elif isinstance(value, dict | list):
                stack.append(value)
    return json.dumps(message, ensure_ascii=False) + "\n" if mended else line


_LONE = re.compile("[\ud800-\udfff]")


class _Shortened(logging.Filter):
    """Log records cut to ``LOG_CHARS`` characters: the SDK logs what requests name (an unknown prompt,
    a tool's failure), and a long name laid out by a rich console took seconds of the event loop."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > LOG_CHARS:
            record.msg, record.args = message[: LOG_CHARS - 1] + "…", None
        return True


def _plain_logging() -> None:
    """The SDK's records go to stderr, plain and shortened, warnings and worse only (once per process)."""
    sdk = logging.getLogger("mcp")
    if not any(isinstance(f, _Shortened) for h in sdk.handlers for f in h.filters):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("mcp %(levelname)s: %(message)s"))
        handler.addFilter(_Shortened())
        sdk.addHandler(handler)
        sdk.setLevel(logging.WARNING)
        sdk.propagate = False


def build_mcp(index_dir: str | os.PathLike | None = None) -> MCPServer:
    """The MCP server over the index in ``index_dir`` (found as :func:`qa.ask` finds it)."""
    folder = find_index_dir(index_dir)
    _plain_logging()

    def current() -> Retriever:
        return current_retriever(folder, ToolError)

    server = _Server(current, name="qa", title="qa: ask your documents", version=__version__, instructions=INSTRUCTIONS)

    def run(question, k, history, sources):
        retriever = current()
        try:  # among what the asker may read (GROUPS: set per request over HTTP, by qa mcp --as over stdio)
            files = readable(retriever.index, GROUPS.get())
            return retriever.run(Request.checked(question, k, history=history, sources=sources), files)
        except (ValueError, QAError) as e:  # qa's one-line messages (blank question, a file not indexed, too long…)
            raise ToolError(str(e)) from None

    @server.tool(structured_output=True)
    def search_documents(question: Question, k: K = 5, sources: Sources = None, history: History = None) -> dict[str, Any]:
        """Search the user's documents for the passages that best answer a question. Returns `query` (what
        was searched: a follow-up is searched with the conversation's topic) and `hits`, best first, each
        with its `text`, a `citation` to show the user (title — file › section ¶paragraph, line or page),
        `source`, `paragraph`, `line`, `page`, `section`, character offsets `start`/`end` into the document's
        text (readable as the resource qa://doc/<source>), the `highlight` (the sentence that best answers,
        with its offsets) and `score`; `reranked`: whether the cross-encoder ordered them (`score` is then its
        probability that the passage answers). Quote the highlight and give its citation; the hits are the
        closest passages even when the documents do not state the answer -- use `ask` to know whether they do."""
        result = run(question, k, history, sources)
        return result.retrieved()

    @server.tool(structured_output=True)
    def ask(question: Question, k: K = 5, sources: Sources = None, history: History = None) -> dict[str, Any]:
        """Ask the user's documents a question and learn whether they answer it. Returns `outcome`:
        "answered" (a passage states it: quote hits[0].highlight with its citation), "related" (the
        documents are about the subject but state no such thing: say so rather than guess) or "not_found"
        (the documents do not contain it: say so); `answered` (true only for "answered"), `confidence`
        (the best match's similarity above this index's threshold; negative: not found), `query` and the
        `k` best `hits` as search_documents gives them."""
        return run(question, k, history, sources).to_dict()

    @server.tool(structured_output=True)
    def list_documents() -> dict[str, Any]:
        """The documents that can be searched: each with its `source` (the path to pass in `sources` and to
        read as `uri`), `title`, `format`, number of `passages` and `copies` (other paths with the same
        content), and `skipped`: files of the corpus that could not be indexed, with the reason."""
        index = current().index
        listing = index.documents(readable(index, GROUPS.get()))
        listing["documents"] = [
            {"source": d["source"], "uri": DOC_URI + quote(d["source"]), "title": index.title(d["source"]), **d}
            for d in listing["documents"]
        ]
        return listing

    @server.resource(DOC_URI + "{+source}", name="document", mime_type="text/plain",
                     description="The text of an indexed document, by its source path (as list_documents gives it).")  # fmt: skip
    def read_document(source: str) -> str:
        try:
            index = current().index
        except ToolError as e:
            raise ResourceError(str(e)) from None
        files = readable(index, GROUPS.get())
        if source not in index.sources or (files is not None and source not in files):
            raise ResourceNotFoundError("no such document in the index (list_documents names them)")
        return index.text(source)

    return server


def run_stdio(index_dir: str | os.PathLike | None = None, groups: frozenset[str] | None = None) -> None:
    """Serve MCP over stdin/stdout until the client closes it (what ``qa mcp`` runs), with what members
    of ``groups`` may read (None: everything, for the index's owner)."""
    GROUPS.set(groups)
    build_mcp(index_dir).run("stdio")


def one_line(text: str) -> str:
    """The first line of ``text``, at most ``ERROR_CHARS`` characters: what may quote a request goes back short."""
    text = text.split("\n", 1)[0]
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
