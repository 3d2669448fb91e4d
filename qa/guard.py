"""What stands in front of the server: optional login, and a bounded queue for the API.

Login is HTTP Basic, required for everything -- chat, API, uploads, files -- when credentials are set:
``QA_AUTH=user:password`` (one user) or ``QA_AUTH_FILE=path`` (``user:password`` lines; ``#`` comments).
Use it behind HTTPS when the server is reachable from other machines.

The API may have at most ``max_pending`` requests in flight (running or waiting for a worker thread);
beyond that it answers 503 with ``Retry-After`` at once instead of queueing without limit.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from .errors import QAError

__all__ = ["DEFAULT_MAX_PENDING", "Guard", "load_credentials"]

DEFAULT_MAX_PENDING = 64  # $QA_MAX_PENDING


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


class Guard:
    """ASGI middleware around the whole app (see the module docstring)."""

    def __init__(self, app, *, credentials: dict[str, str] | None = None, max_pending: int | None = None) -> None:
        max_pending = int(os.environ.get("QA_MAX_PENDING", DEFAULT_MAX_PENDING)) if max_pending is None else max_pending
        if max_pending <= 0:
            raise ValueError(f"max_pending must be > 0, got {max_pending}")
        self.app, self.credentials, self.max_pending = app, credentials or {}, max_pending
        self.pending = 0  # the event loop is one thread: no lock needed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.credentials and not self._authorized(scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _respond(send, 401, b'{"detail":"login required"}', [(b"www-authenticate", b'Basic realm="qa"')])
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
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


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
