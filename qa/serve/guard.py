"""What stands in front of the server: optional login, request size limits, no server paths in
requests, and a bounded queue for the API.

Login is HTTP Basic, required for everything -- chat, API, uploads, files -- when there are users
(``QA_AUTH_FILE``'s hashed logins, ``QA_AUTH=user:password``; :mod:`qa.users`), checked and rate-limited
by :class:`.logins.Logins` (429 with ``Retry-After`` after too many failures). The user and their groups
go on to the app in headers only the Guard sets (:mod:`.asker`). Use it behind HTTPS when the server is
reachable from other machines.

Request bodies are limited before anything parses them (413): ``max_body`` bytes for the API, the
chat's larger ``max_event_body`` for its events (they carry the conversation so far), and
``max_upload_body`` for an upload, which must say its size (411 otherwise); a body must arrive within 30 s
(408) and bodies being read hold at most 256 MB together (503). A body must be UTF-8 and hold at most
``payload.MAX_CONTAINERS`` JSON arrays and objects (``MAX_EVENT_CONTAINERS`` in an event), 422. An event
may name a file only inside gradio's upload folder, i.e. a file this server received: gradio events
carry files as ``{"path": …}`` objects, and a path anywhere else on the server (absolute, ``..``, a
symlink leading out) is refused with 400 before any handler sees it.

An upload must state its size and not be chunked (``Transfer-Encoding`` would let the body outgrow the
length it states); what it sends is counted too. An event may not ask gradio to build a component
(``constructor_args``: some take file paths and copy them). Events are parsed and checked on a worker
thread, a few at a time, so large bodies cannot stall the server or pile up in memory.

Requests from other sites are refused (a POST whose ``Origin`` is not this server); a server bound to
loopback answers only to loopback host names (no DNS rebinding), plus those in ``$QA_ALLOWED_HOSTS``.
Gradio's own error bodies (422, 500), which can repeat what was sent, are replaced by one line; a
``Range`` header on a file download is dropped (gradio echoes every request header, the login included,
into a partial response). Every response says not to be framed by other sites or sniffed, and none
allows reading by another origin (gradio's CORS headers are dropped).

The API and MCP (``/mcp``) may have at most ``max_pending`` requests in flight (running or waiting for a worker thread);
beyond that it answers 503 with ``Retry-After`` at once instead of queueing without limit (``/api/health``
aside: it tells a busy server from a down one).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import anyio

from .asker import GROUPS_HEADER, USER_HEADER
from .logins import Logins
from .payload import MAX_CONTAINERS, MAX_EVENT_CONTAINERS, nested, refusal, too_large

__all__ = ["DEFAULT_MAX_PENDING", "Guard"]

DEFAULT_MAX_PENDING = 64  # $QA_MAX_PENDING
MAX_BODY = 4 << 20  # bytes of an API request: the largest the API's schema allows, every character escaped, fits
MAX_EVENT_BODY = 8 << 20  # bytes of a chat event (the whole conversation comes with each question)
UPLOAD_PATH = "/gradio_api/upload"
MCP_PATH = "/mcp"
HEALTH_PATH = "/api/health"
BODY_SECONDS = 30  # a request body must arrive within this (408 otherwise)
MAX_BUFFERED = 256 << 20  # bytes of request bodies held while they arrive, all connections together (503 beyond)
PARSE_AT_ONCE = 2  # event bodies parsed and checked at the same time (each up to MAX_EVENT_BODY)
_FILE_ROUTES = ("/gradio_api/file=", "/file=")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HARDENING = [(b"x-frame-options", b"SAMEORIGIN"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
# gradio answers other localhost origins with credentialed CORS: a page on another local port could read
# its GET routes (/config) with the user's login. Nothing here is meant to be read cross-origin.
_CORS = (b"access-control-allow-origin", b"access-control-allow-credentials", b"access-control-allow-methods",
         b"access-control-allow-headers", b"access-control-expose-headers")  # fmt: skip
_ASKER = frozenset({USER_HEADER.encode(), GROUPS_HEADER.encode()})
_HARDENING_NAMES = frozenset(name for name, _ in _HARDENING) | frozenset(_CORS)
_BUSY = (b'{"detail":"busy, retry shortly"}', [(b"retry-after", b"1")])  # 503: too many requests or bodies at once
_GRADIO_ERRORS = {422: b'{"detail":"the request does not fit what this page sends"}', 500: b'{"detail":"the server could not handle this request"}'}
# a file route's refusals say the same for every path (gradio's name it: whether it is there, or blocked)
_FILE_ERRORS = {**_GRADIO_ERRORS, 403: b'{"detail":"no such file"}', 404: b'{"detail":"no such file"}'}


class Guard:
    """ASGI middleware around the whole app (see the module docstring)."""

    def __init__(
        self,
        app,
        *,
        logins: Logins | None = None,
        max_pending: int | None = None,
        upload_folder: str | os.PathLike | None = None,
        max_body: int = MAX_BODY,
        max_event_body: int = MAX_EVENT_BODY,
        max_upload_body: int = 0,
        allowed_hosts: frozenset[str] | None = None,
    ) -> None:
        """``allowed_hosts``: the host names requests may be addressed to (None: any)."""
        max_pending = int(os.environ.get("QA_MAX_PENDING", DEFAULT_MAX_PENDING)) if max_pending is None else max_pending
        for name, value in (("max_pending", max_pending), ("max_body", max_body), ("max_event_body", max_event_body)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.app, self.logins, self.max_pending = app, logins, max_pending
        self.upload_folder = Path(upload_folder) if upload_folder is not None else None
        self.max_body, self.max_event_body, self.max_upload_body = max_body, max_event_body, max_upload_body
        self.allowed_hosts = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        self.pending = 0  # the event loop is one thread: no lock needed
        self.buffered = 0  # bytes of request bodies being read, all connections together
        self._parsing: anyio.Semaphore | None = None  # made on first use, inside the server's event loop

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        api = scope["path"].startswith("/api/") or scope["path"] == MCP_PATH  # programs' routes
        if scope["type"] == "http":
            send = _hardened(send, rewrite_errors={} if api else _FILE_ERRORS if scope["path"].startswith(_FILE_ROUTES) else _GRADIO_ERRORS)
        if self.allowed_hosts is not None:
            if _host(scope) not in self.allowed_hosts:
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1008})
                return await _respond(send, 400, b'{"detail":"refused: this server does not answer to that host name"}', [])
            # no proxy in front of a loopback server: a forwarded host would only redirect links elsewhere
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"x-forwarded-host"]}
        # who is asking: only this says so (a client's own x-qa-user or x-qa-groups goes nowhere)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _ASKER]
        if self.logins is not None:  # once there are logins, always: a login file emptied lets no one in
            user, wait = await self.logins.check(_header(scope, b"authorization"), (scope.get("client") or ("",))[0])
            if user is None:
                if scope["type"] == "websocket":
                    return await send({"type": "websocket.close", "code": 1008})
                if wait:
                    seconds = max(1, round(wait))
                    body = f'{{"detail":"too many login attempts: try again in {seconds} s"}}'.encode()
                    return await _respond(send, 429, body, [(b"retry-after", str(seconds).encode())])
                return await _respond(send, 401, b'{"detail":"login required"}', [(b"www-authenticate", b'Basic realm="qa"')])
            groups = ",".join(sorted(self.logins.groups(user)))
            headers += [(USER_HEADER.encode(), user.encode()), (GROUPS_HEADER.encode(), groups.encode())]
        scope = {**scope, "headers": headers}
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] not in _SAFE_METHODS and _cross_site(scope):
            return await _respond(send, 403, b'{"detail":"refused: a request from another site"}', [])
        if scope["path"].startswith(_FILE_ROUTES):  # gradio copies all request headers into a 206
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]}
        if scope["path"] == UPLOAD_PATH:  # streamed to disk by gradio, which caps each file itself
            length = _content_length(scope)
            if length is None or _header(scope, b"transfer-encoding") is not None:
                return await _respond(send, 411, b'{"detail":"an upload must state its Content-Length (and not be chunked)"}', [])
            if length > self.max_upload_body:
                return await _respond(send, 413, too_large(self.max_upload_body), [])
            return await self.app(scope, _counted(receive, length), send)
        limit = self.max_body if api else self.max_event_body
        try:
            with anyio.fail_after(BODY_SECONDS):  # a body sent a byte at a time must not hold memory for ever
                body = await self._read_body(scope, receive, limit)
        except _Gone:
            return None
        except TimeoutError:
            return await _respond(send, 408, b'{"detail":"the request body came too slowly"}', [(b"connection", b"close")])
        except _Busy:
            return await _respond(send, 503, *_BUSY)
        if body is None:
            return await _respond(send, 413, too_large(limit), [])
        if body and (too_many := nested(body, mcp=scope["path"] == MCP_PATH, limit=MAX_CONTAINERS if api else MAX_EVENT_CONTAINERS)):
            return await _respond(send, *too_many, [])  # FastAPI, MCP and gradio parse on the event loop
        if body and not api and self.upload_folder is not None:
            if self._parsing is None:
                self._parsing = anyio.Semaphore(PARSE_AT_ONCE)
            async with self._parsing:  # on a worker thread: a large body does not stall the event loop
                refused = await anyio.to_thread.run_sync(refusal, body, self.upload_folder)
            if refused:
                return await _respond(send, 400, refused, [])
        receive = _replay(body, receive)
        if not api:
            return await self.app(scope, receive, send)
        if scope["path"] == HEALTH_PATH:  # cheap, and must tell "busy" from "down": outside the bound
            return await self.app(scope, receive, send)
        if self.pending >= self.max_pending:
            return await _respond(send, 503, *_BUSY)
        self.pending += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.pending -= 1

    async def _read_body(self, scope, receive, limit: int) -> bytes | None:
        """The whole request body, or None as soon as it is (or says it will be) over ``limit`` bytes;
        _Busy when the bodies being read at once would hold more than ``MAX_BUFFERED`` bytes."""
        length = _content_length(scope)
        if length is not None and length > limit:
            return None
        body = bytearray()  # one buffer: a body of many tiny chunks would be many objects
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    raise _Gone
                chunk = message.get("body", b"")
                if len(body) + len(chunk) > limit:
                    return None
                if self.buffered + len(chunk) > MAX_BUFFERED:
                    raise _Busy
                body += chunk
                self.buffered += len(chunk)
                if not message.get("more_body", False):
                    return bytes(body)
        finally:
            self.buffered -= len(body)

def _header(scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope.get("headers") or [] if k.lower() == name), None)


def _content_length(scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _host(scope) -> str:
    """The host name a request is addressed to (its Host header, without the port), lower case."""
    host = (_header(scope, b"host") or b"").decode("latin-1").strip().lower()
    try:
        return urlsplit(f"//{host}").hostname or ""
    except ValueError:  # "[::1" and the like: no host name at all
        return ""


def _cross_site(scope) -> bool:
    """Whether a browser sent this request from a page of another site (its Origin is not this server)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return False  # not a browser's cross-site request: programs send no Origin
    parts = urlsplit(origin.decode("latin-1").strip().lower())
    host = (_header(scope, b"host") or b"").decode("latin-1").strip().lower()
    return parts.netloc != host


def _counted(receive, limit: int):
    """``receive`` that ends the request (as a disconnect) once more than ``limit`` bytes came."""
    size = 0

    async def counted():
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                return {"type": "http.disconnect"}
        return message

    return counted


def _hardened(send, *, rewrite_errors: dict[int, bytes]):
    """``send`` that adds the hardening headers and replaces the body of a response whose status is in
    ``rewrite_errors`` (gradio's 422 and 500 may repeat the request, its file routes' refusals name the path)."""
    replacing = False

    async def hardened(message):
        nonlocal replacing
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _HARDENING_NAMES]
            status = message["status"]
            if status in rewrite_errors:
                replacing = True
                body = rewrite_errors[status]
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers + _HARDENING})
                return await send({"type": "http.response.body", "body": body})
            return await send({**message, "headers": headers + _HARDENING})
        if replacing and message["type"] == "http.response.body":
            return None  # the original body goes nowhere
        return await send(message)

    return hardened


def _replay(body: bytes, receive):
    """``receive`` for the app: the body read already, then the client's own messages (a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _Gone(Exception):
    """The client went away while sending its request: there is no one to answer."""


class _Busy(Exception):
    """Bodies being read hold ``MAX_BUFFERED`` bytes already."""


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
