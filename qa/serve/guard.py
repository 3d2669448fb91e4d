"""What stands in front of the server: optional login, request size limits, no server paths in
requests, and a bounded queue for the API.

Login is HTTP Basic, required for everything -- chat, API, uploads, files -- when credentials are set:
``QA_AUTH=user:password`` (one user) or ``QA_AUTH_FILE=path`` (``user:password`` lines; ``#`` comments).
Use it behind HTTPS when the server is reachable from other machines.

Request bodies are limited before anything parses them (413): ``max_body`` bytes for the API, the
chat's larger ``max_event_body`` for its events (they carry the conversation so far), and
``max_upload_body`` for an upload, which must say its size (411 otherwise). An event may name a file only
inside gradio's upload folder, i.e. a file this server received: gradio events carry files as
``{"path": …}`` objects, and a path anywhere else on the server (absolute, ``..``, a symlink leading out)
is refused with 400 before any handler sees it.

The API may have at most ``max_pending`` requests in flight (running or waiting for a worker thread);
beyond that it answers 503 with ``Retry-After`` at once instead of queueing without limit.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path

from ..errors import QAError

__all__ = ["DEFAULT_MAX_PENDING", "Guard", "load_credentials", "outside", "received"]

DEFAULT_MAX_PENDING = 64  # $QA_MAX_PENDING
MAX_BODY = 4 << 20  # bytes of an API request: the largest the API's schema allows, every character escaped, fits
MAX_EVENT_BODY = 8 << 20  # bytes of a chat event (the whole conversation comes with each question)
UPLOAD_PATH = "/gradio_api/upload"
_REFUSED_PATH = b'{"detail":"refused: the request names a file that was not uploaded to this server"}'


def load_credentials(auth: str | None = None, auth_file: str | os.PathLike | None = None) -> dict[str, str]:
    """``{user: password}`` from the arguments, else ``$QA_AUTH`` / ``$QA_AUTH_FILE``; empty: no login."""
    auth = auth if auth is not None else os.environ.get("QA_AUTH")
    auth_file = auth_file if auth_file is not None else os.environ.get("QA_AUTH_FILE")
    lines: list[tuple[str, str]] = []
    if auth:
        lines.append(("QA_AUTH", auth))
    if auth_file:
        try:
            text = Path(auth_file).read_text(encoding="utf-8")
        except OSError as e:
            raise QAError(f"cannot read the login file {auth_file}: {e.strerror or e}") from None
        lines += [(f"{auth_file}:{n}", line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    users = {}
    for where, line in lines:
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise QAError(f"{where}: a login must look like user:password")
        users[user] = password
    return users


def outside(payload, folder: Path) -> bool:
    """Whether a decoded JSON ``payload`` holds a ``{"path": …}`` object naming anything but a file
    inside ``folder`` (symlinks resolved, relative paths taken from the working directory)."""
    stack, seen = [payload], set()  # each path looked up once, however often the payload repeats it
    while stack:  # not recursive: nesting depth is the sender's choice
        item = stack.pop()
        if isinstance(item, dict):
            path = item.get("path")
            if path is not None and not isinstance(path, str):
                return True
            if path is not None and path not in seen:
                if not received(path, folder):
                    return True
                seen.add(path)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def received(path: str | os.PathLike, folder: Path) -> bool:
    """Whether ``path`` is a file inside ``folder`` (gradio's upload folder, symlinks resolved): a file
    this server received, not one that was there before."""
    path = os.fspath(path)
    if "\0" in path:
        return False
    real, folder = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real != folder and real.is_relative_to(folder) and real.is_file()


class Guard:
    """ASGI middleware around the whole app (see the module docstring)."""

    def __init__(
        self,
        app,
        *,
        credentials: dict[str, str] | None = None,
        max_pending: int | None = None,
        upload_folder: str | os.PathLike | None = None,
        max_body: int = MAX_BODY,
        max_event_body: int = MAX_EVENT_BODY,
        max_upload_body: int = 0,
    ) -> None:
        max_pending = int(os.environ.get("QA_MAX_PENDING", DEFAULT_MAX_PENDING)) if max_pending is None else max_pending
        for name, value in (("max_pending", max_pending), ("max_body", max_body), ("max_event_body", max_event_body)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.app, self.credentials, self.max_pending = app, credentials or {}, max_pending
        self.upload_folder = Path(upload_folder) if upload_folder is not None else None
        self.max_body, self.max_event_body, self.max_upload_body = max_body, max_event_body, max_upload_body
        self.pending = 0  # the event loop is one thread: no lock needed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.credentials and not self._authorized(scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _respond(send, 401, b'{"detail":"login required"}', [(b"www-authenticate", b'Basic realm="qa"')])
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        api = scope["path"].startswith("/api/")
        if scope["path"] == UPLOAD_PATH:  # streamed to disk by gradio, which caps each file itself
            length = _content_length(scope)
            if length is None:
                return await _respond(send, 411, b'{"detail":"an upload must state its Content-Length"}', [])
            if length > self.max_upload_body:
                return await _respond(send, 413, _too_large(self.max_upload_body), [])
            return await self.app(scope, receive, send)
        limit = self.max_body if api else self.max_event_body
        try:
            body = await _read_body(scope, receive, limit)
        except _Gone:
            return None
        if body is None:
            return await _respond(send, 413, _too_large(limit), [])
        if body and not api and self.upload_folder is not None:
            refusal = _refusal(body, self.upload_folder)
            if refusal:
                return await _respond(send, 400, refusal, [])
        receive = _replay(body, receive)
        if not api:
            return await self.app(scope, receive, send)
        if self.pending >= self.max_pending:
            return await _respond(send, 503, b'{"detail":"busy, retry shortly"}', [(b"retry-after", b"1")])
        self.pending += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.pending -= 1

    def _authorized(self, scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = self.credentials.get(user)
        # compare even for an unknown user, so timing does not tell which users exist
        ok = secrets.compare_digest(password.encode(), (expected or secrets.token_hex(16)).encode())
        return ok and expected is not None


def _content_length(scope) -> int | None:
    value = dict(scope.get("headers") or []).get(b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _too_large(limit: int) -> bytes:
    return json.dumps({"detail": f"request body too large: the limit is {limit:,} bytes"}).encode()


async def _read_body(scope, receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it is (or says it will be) over ``limit`` bytes."""
    length = _content_length(scope)
    if length is not None and length > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


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


def _refusal(body: bytes, folder: Path) -> bytes | None:
    """Why an event's body is refused, or None."""
    try:
        payload = json.loads(body)
    except ValueError:  # not JSON: gradio refuses it itself, and no file path can hide in it
        return None
    except RecursionError:
        return b'{"detail":"request nested too deeply"}'
    return _REFUSED_PATH if outside(payload, folder) else None


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
