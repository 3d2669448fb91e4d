"""MCP over streamable HTTP: the server of :mod:`.mcp_server` as the ASGI app ``qa serve`` routes ``/mcp``
to -- stateless, POST only, its errors one line."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from .asker import GROUPS, groups_from
from .mcp_server import build_mcp, one_line

__all__ = ["http_app"]


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
    its message is cut to one line of at most ``mcp_server.ERROR_CHARS`` characters and its ``data`` dropped.
    (An ASGI app, not a function: a router would call a function with a request.)"""

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
            body = _one_line_errors(b"".join(chunks))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        token = GROUPS.set(groups_from(Headers(scope=scope)))  # the asker, for the handlers (tasks copy it)
        try:
            await self.app(scope, receive, buffered)
        finally:
            GROUPS.reset(token)


def _one_line_errors(body: bytes) -> bytes:
    """``body`` with each JSON-RPC error's message cut to one line (:func:`.mcp_server.one_line`) and its data
    dropped; anything else as it was."""
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
            error["message"] = one_line(str(error.get("message", "")))
            error.pop("data", None)
    return json.dumps(payload, ensure_ascii=False).encode()
