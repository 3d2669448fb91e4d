"""The HTTP API: retrieval and answers for other programs, on the same server as the web chat.

    POST /api/retrieve   {"question", "k", "history", "sources"} → the hits, with citations and highlights
    POST /api/ask        the same request → whether the documents answer it, what was searched, the hits
    GET  /api/documents  the indexed documents with their passage counts
    GET  /api/health     is an index loaded, and what is in it
    GET  /api/page       a page of an indexed PDF or image as a PNG, a highlight's lines boxed (the page view)

Requests and responses are pydantic models, so the OpenAPI description at ``/openapi.json`` (and the
docs at ``/docs``) is exact. A bad request is a 4xx JSON error (``{"detail": …}``); no index yet is a 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import os
import typing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import perf_counter
from typing import Annotated, Literal

from fastapi import FastAPI, Header, HTTPException, Query
from fastapi import Request as HTTPRequest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, create_model
from starlette.routing import Route

from ..config import available_cores
from ..errors import QAError
from ..passage import Highlight, Passage
from ..retrieval.answer import Answer
from ..retrieval.pipeline import Retriever
from ..retrieval.request import Request, UnknownSources, check_visible
from ..timing import recorded, stage
from ..version import __version__
from .asker import groups_from, readable
from .pages import Busy, NoPage, PageChanged, PageViews
from .schema import RetrieveRequest, validation_message
from .views import current_retriever

__all__ = ["build_api"]

# (module level: the route's annotations are strings, resolved here)
MAX_PATH = 4096  # a file's path in the corpus (Linux's limit)
Offset = Annotated[int | None, Query(ge=0, le=2**31, description="A highlight's start and end: the lines between are boxed.")]

def _hit_model() -> type[BaseModel]:
    """The API's hit: :class:`qa.passage.Passage`'s fields (with their descriptions), then the score,
    the highlight and the citation -- what :meth:`qa.passage.Hit.to_dict` gives."""
    hints = typing.get_type_hints(Passage)
    fields = {f.name: (hints[f.name], Field(description=f.metadata.get("description"))) for f in dataclasses.fields(Passage)}
    return create_model(
        "HitOut",
        **fields,
        score=(float, Field(description="Ranking score, higher is better (fused and normalised in hybrid mode).")),
        highlight=(Highlight | None, Field(description="The sentence (or two) that best answers the question.")),
        citation=(str, Field(description="Title, file, section, page, paragraph and line, for people.")),
    )


HitOut = _hit_model()


class RetrieveResponse(BaseModel):
    query: str = Field(description="What was searched (a follow-up carries the conversation's topic).")
    reranked: bool = Field(description="Whether a re-ranker (the cross-encoder, unless QA_RERANK says otherwise) ordered the hits.")
    hits: list[HitOut]


class AskResponse(RetrieveResponse):
    question: str
    answered: bool = Field(description="False: the documents do not seem to state the answer (see outcome).")
    outcome: Literal["answered", "related", "not_found"] = Field(
        description="answered; related: passages about the subject, none stating what was asked (a date, an age, "
        "a number); not_found: the documents do not seem to contain it."
    )
    confidence: float


class DocumentOut(BaseModel):
    source: str
    format: str
    passages: int
    copies: list[str]


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]
    skipped: dict[str, str] = Field(description="Files that could not be indexed, with the reason.")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    documents: int
    passages: int
    model: str | None
    precision: str | None = Field(None, description="int8 or fp32: how the index's vectors were made.")
    rerank: str = Field(description="The re-ranker that orders answers: cross-encoder, none, or a plugged-in one.")
    built: str | None


class ErrorOut(BaseModel):
    detail: str


_ERRORS = {
    400: {"model": ErrorOut},
    413: {"model": ErrorOut, "description": "The request body is larger than the server takes."},
    422: {"model": ErrorOut, "description": "The request does not fit the schema."},
    503: {"model": ErrorOut, "description": "No index yet, or busy: retry later."},
}
_ASKING = {**_ERRORS, 404: {"model": ErrorOut, "description": "A file named in sources is not in the index."}}


def build_api(index_dir: str | os.PathLike, *, lifespan=None) -> FastAPI:
    """The API as a FastAPI app (the chat is mounted on it by :func:`qa.serve.server.create_app`);
    ``lifespan``: what must run while it serves (MCP's session manager)."""
    index_dir = Path(index_dir)
    api = FastAPI(title="qa", version=__version__, description=__doc__.split("\n\n")[0], lifespan=lifespan)

    def current() -> Retriever:
        return current_retriever(index_dir, lambda message: HTTPException(503, message))

    def mine(http: HTTPRequest) -> tuple[Retriever, frozenset[str] | None]:
        """The retriever, and the files the asker may read (None: all)."""
        retriever = current()
        return retriever, readable(retriever.index, groups_from(http.headers))

    def run(request: RetrieveRequest, http: HTTPRequest):
        # The schema has checked each field with the input contract's own checks (qa.serve.schema); what
        # is left is whether the question shows anything (400, as from qa.ask).
        history, sources = tuple(request.history or ()), None if request.sources is None else tuple(request.sources)
        retriever, files = mine(http)
        try:
            return retriever.run(Request(check_visible(request.question), request.k, history, sources), files)
        except QAError as e:  # the re-ranker's model missing or damaged since the start
            raise HTTPException(503, str(e)) from None

    # Answers run on a pool as large as the cores, not on the framework's 40 threads: more threads than
    # cores only take turns at the GIL and the model. The JSON is made there too, off the event loop.
    workers = ThreadPoolExecutor(available_cores(), thread_name_prefix="qa-answer")

    # Server-Timing only when asked for ($QA_SERVER_TIMING=1, as bench/load.py does): the time a stage took
    # says plainly whether a question or a passage's sentences were cached (asked or cited lately by
    # others), which the latency alone only hints at.
    timed = os.environ.get("QA_SERVER_TIMING", "").strip().lower() in ("1", "true", "yes", "on")

    def answered(request: RetrieveRequest, http: HTTPRequest, shape: type[BaseModel], fields) -> Response:
        with recorded() if timed else contextlib.nullcontext({}) as spent:
            began = perf_counter()
            result = run(request, http)
            with stage("json"):
                body = shape.model_validate(fields(result)).model_dump_json().encode()
            spent["total"] = perf_counter() - began
        headers = {"Server-Timing": server_timing(spent)} if timed else None
        return Response(body, media_type="application/json", headers=headers)

    async def answer(request: RetrieveRequest, http: HTTPRequest, shape: type[BaseModel], fields) -> Response:
        return await asyncio.get_running_loop().run_in_executor(
            workers, contextvars.copy_context().run, answered, request, http, shape, fields
        )

    @api.exception_handler(ValueError)
    async def bad_value(_request, exc: ValueError) -> JSONResponse:
        # a file named in sources that is not indexed is not found (404); anything else is bad input (400)
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, UnknownSources) else 400)

    @api.exception_handler(RequestValidationError)
    async def invalid(_request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=422)

    @api.post("/api/retrieve", response_model=RetrieveResponse, responses=_ASKING, tags=["search"])
    async def retrieve(request: RetrieveRequest, http: HTTPRequest) -> RetrieveResponse:
        """The passages that best answer the question, best first."""
        return await answer(request, http, RetrieveResponse, Answer.retrieved)

    @api.post("/api/ask", response_model=AskResponse, responses=_ASKING, tags=["search"])
    async def ask(request: RetrieveRequest, http: HTTPRequest) -> AskResponse:
        """The passages, and whether they answer the question (``answered``: false means the documents
        do not seem to contain the answer; the hits are then the closest, weak matches)."""
        return await answer(request, http, AskResponse, Answer.to_dict)

    @api.get("/api/documents", response_model=DocumentsResponse, responses=_ERRORS, tags=["index"])
    def documents(http: HTTPRequest) -> DocumentsResponse:
        """Every indexed document the asker may read, with its passage count; duplicates are listed as copies."""
        retriever, files = mine(http)
        return DocumentsResponse(**retriever.index.documents(files))

    @api.get("/api/health", response_model=HealthResponse, responses=_ERRORS, tags=["index"])
    def health(http: HTTPRequest) -> HealthResponse:
        """200 when an index is loaded and searchable (its counts: of what the asker may read)."""
        retriever, files = mine(http)
        about = retriever.index.about(files)
        return HealthResponse(
            status="ok",
            version=__version__,
            documents=about.documents,
            passages=about.passages,
            model=about.model,
            precision=about.precision or None,
            rerank=retriever.rerank_name,
            built=about.built or None,
        )

    views = PageViews()

    @api.get(
        "/api/page", response_class=Response, tags=["index"],
        responses={**_ERRORS, 200: {"content": {"image/png": {}}, "description": "The page as a PNG."},
                   404: {"model": ErrorOut, "description": "Not a page of an indexed PDF or image."},
                   409: {"model": ErrorOut, "description": "The file changed since it was indexed."}},
    )  # fmt: skip
    def page(
        http: HTTPRequest,
        source: Annotated[str, Query(max_length=MAX_PATH, description="An indexed PDF or image file, as cited.")],
        page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based.")],
        start: Offset = None,
        end: Offset = None,
        sec_fetch_site: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        """A page of an indexed PDF or image file as a PNG (at most 1600 pixels a side), the lines of
        ``start``..``end`` boxed: a hit's ``page`` with its highlight's ``start`` and ``end``."""
        if sec_fetch_site == "cross-site":  # another site's <img>: it would learn which files and pages exist
            raise HTTPException(403, "page images are for this site's own pages")
        try:
            retriever, files = mine(http)
            png = views.png(retriever.index, source, page, start, end, files)
        except NoPage as e:
            raise HTTPException(404, str(e)) from None
        except PageChanged as e:
            raise HTTPException(409, str(e)) from None
        except Busy as e:
            raise HTTPException(503, str(e), headers={"Retry-After": "2"}) from None
        headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
                   "Cross-Origin-Resource-Policy": "same-origin"}  # fmt: skip
        return Response(png, media_type="image/png", headers=headers)

    api.router.routes.append(Route("/api/{rest:path}", _Elsewhere(api), include_in_schema=False))
    return api


def server_timing(spent: dict[str, float]) -> str:
    """A ``Server-Timing`` header (milliseconds per stage, as browsers' developer tools show it)."""
    return ", ".join(f"{name};dur={seconds * 1000:.2f}" for name, seconds in spent.items())


class _Elsewhere:
    """Every other request under /api/ (any method): nothing there falls through to the chat. A known
    path asked with another method is 405 with ``Allow``; anything else is 404."""

    def __init__(self, api: FastAPI) -> None:
        self.allowed = {r.path: sorted(r.methods) for r in api.routes if r.path.startswith("/api/") and r.methods}

    async def __call__(self, scope, receive, send) -> None:
        methods = self.allowed.get(scope["path"])
        if methods:
            response = JSONResponse({"detail": "method not allowed"}, 405, headers={"Allow": ", ".join(methods)})
        else:
            response = JSONResponse({"detail": "not found"}, 404)
        await response(scope, receive, send)
