"""What a request body may carry. A gradio event: files only from gradio's upload folder (files this
server received), and no component for gradio to build. Gradio events carry files as ``{"path": …}``
objects; a path anywhere else on the server (absolute, ``..``, a symlink leading out) is refused, and so
is a ``constructor_args`` object (some component arguments name files gradio would copy). An API or MCP
body: at most ``MAX_CONTAINERS`` JSON arrays and objects (:func:`nested`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

__all__ = ["MAX_CONTAINERS", "MAX_EVENT_CONTAINERS", "forbidden", "nested", "received", "refusal", "too_large"]

# JSON arrays and objects in an API or MCP body: the largest request the schema allows has a handful
MAX_CONTAINERS = 10_000
MAX_EVENT_CONTAINERS = 100_000  # in a chat event, which carries the conversation so far

_REFUSED_PATH = b'{"detail":"refused: the request names a file that was not uploaded to this server"}'
_REFUSED_COMPONENT = b'{"detail":"refused: the request asks the server to build a component"}'


def forbidden(payload, folder: Path) -> bytes | None:
    """Why a decoded JSON event payload is refused, or None: a ``{"path": …}`` object naming anything but
    a file inside ``folder`` (symlinks resolved, relative paths taken from the working directory), or a
    component to build."""
    stack, seen = [payload], set()  # each path looked up once, however often the payload repeats it
    while stack:  # not recursive: nesting depth is the sender's choice
        item = stack.pop()
        if isinstance(item, dict):
            if "constructor_args" in item:  # gradio would build the component, copying files it names
                return _REFUSED_COMPONENT
            path = item.get("path")
            if path is not None and not isinstance(path, str):
                return _REFUSED_PATH
            if path is not None and path not in seen:
                if not received(path, folder):
                    return _REFUSED_PATH
                seen.add(path)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def received(path: str | os.PathLike, folder: Path) -> bool:
    """Whether ``path`` is a file inside ``folder`` (gradio's upload folder, symlinks resolved): a file
    this server received, not one that was there before."""
    path = os.fspath(path)
    if "\0" in path:
        return False
    real, folder = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real != folder and real.is_relative_to(folder) and real.is_file()


def refusal(body: bytes, folder: Path) -> bytes | None:
    """Why an event's body is refused, or None."""
    try:
        payload = json.loads(body)
    except ValueError:  # not JSON: gradio refuses it itself, and no file path can hide in it
        return None
    except RecursionError:
        return b'{"detail":"request nested too deeply"}'
    return forbidden(payload, folder)


def nested(body: bytes, *, mcp: bool = False, limit: int = MAX_CONTAINERS) -> tuple[int, bytes] | None:
    """The status and answer refusing a ``body`` that is not UTF-8 or holds more than ``limit`` JSON arrays
    and objects (JSON-RPC's error shape for ``mcp``), or None. FastAPI, the MCP SDK and gradio parse and
    validate a body on the event loop: a 4 MB body of a million empty lists held every other request 1.2 s.
    UTF-8 only (as JSON on a network must be): in UTF-16 a quote or backslash byte need not be one."""
    if b"\0" not in body and (body.isascii() or _utf8(body)):  # UTF-16 or -32 JSON has zero bytes; UTF-8 never
        if _containers(body, limit) <= limit:
            return None
        message = f"body: more than {limit:,} JSON arrays and objects"
    else:
        message = "body: not valid JSON (it must be UTF-8)"
    if mcp:
        return 400, json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    return 422, json.dumps({"detail": message}).encode()


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def too_large(limit: int) -> bytes:
    return json.dumps({"detail": f"request body too large: the limit is {limit:,} bytes"}).encode()


def _containers(body: bytes, limit: int) -> int:
    """How many JSON arrays and objects ``body`` holds, at most (brackets inside strings are not counted
    once the count says it matters: above ``limit``). Counting bytes costs a millisecond for the largest body."""
    rough = body.count(b"[") + body.count(b"{")
    if rough <= limit:
        return rough
    bare = _STRINGS.sub(b"", body)
    return bare.count(b"[") + bare.count(b"{")


# A JSON string, its escapes included; one never closed runs to the end (possessive, never retried from a
# later quote: with backtracking, a body of unclosed strings took time in the square of its length)
_STRINGS = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
