"""Run a file parser in a worker process with a time and a memory limit.

PDF, DOCX and HTML parsers are large libraries fed untrusted bytes: a crafted file can make one loop,
allocate without bound or crash. Each such parse runs in one long-lived worker process (``python -m
qa.readers.worker``, started on first use) whose address space is capped; the parent waits at most ``timeout``
seconds for an answer (the worker's start-up, importing the parsers, is not part of it: a busy machine
must not time out a small file). A parse that times out, runs out of memory or kills the worker becomes a
:class:`ParseFailed` with the reason, and the worker is replaced for the next file. One bad file never
stops the build.

The worker is a plain subprocess, not ``multiprocessing``: spawning would re-run the caller's main
script. Answers come back as JSON, never pickle -- a parser fed hostile bytes is not trusted to send code.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import resource
import subprocess
import sys
import threading
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any

from .document import Block, Extracted, Unreadable

__all__ = ["DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "Isolated", "ParseFailed"]

DEFAULT_TIMEOUT = 60.0  # seconds per file; $QA_PARSE_TIMEOUT
DEFAULT_MEMORY_MB = 1024  # memory a parse may use beyond the worker's own; $QA_PARSE_MEMORY_MB
STARTUP_TIMEOUT = 300.0  # seconds a new worker may take to import the parsers (not counted per file)
_PRELOAD = (
    "qa.readers.html", "qa.readers.pdf", "qa.readers.docx", "qa.readers.image", "qa.readers.ocr", "qa.readers.page_image", "pytesseract",
)  # imported before the memory cap


class ParseFailed(Exception):
    """The parser gave up on a file; the message says why (shown in the build report)."""


class Isolated:
    """``Isolated().call("qa.readers.pdf", "survey", data)`` runs ``qa.readers.pdf.survey(data)`` in the
    worker; arguments after ``data`` must be JSON values. The worker keeps the last ``data`` it was sent,
    so calls on the pages of one file send the file once. Use as a context manager (or call
    :meth:`close`) to stop the worker."""

    def __init__(self, timeout: float | None = None, memory_mb: int | None = None) -> None:
        timeout = float(os.environ.get("QA_PARSE_TIMEOUT", DEFAULT_TIMEOUT)) if timeout is None else timeout
        memory_mb = int(os.environ.get("QA_PARSE_MEMORY_MB", DEFAULT_MEMORY_MB)) if memory_mb is None else memory_mb
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        if memory_mb <= 0:
            raise ValueError(f"memory_mb must be > 0, got {memory_mb}")
        self.timeout, self.memory_mb = timeout, memory_mb
        self._process: subprocess.Popen | None = None
        self._to: Connection | None = None
        self._from: Connection | None = None
        self._held: bytes | None = None  # the data the worker holds (None: none, or a new worker)

    def call(self, module: str, function: str, data: bytes, *args: Any, timeout: float | None = None) -> Any:
        """``timeout``: this call's limit in seconds, when lower than the worker's own."""
        limit = self.timeout if timeout is None else min(timeout, self.timeout)
        if self._process is None:
            self._start()
        try:
            same = data is self._held
            self._held = None
            self._to.send_bytes(json.dumps([module, function, list(args), same]).encode())
            if not same:
                self._to.send_bytes(data)
            self._held = data
            if not self._from.poll(limit):
                self._stop()
                raise ParseFailed(f"parsing took longer than {limit:g} s (limit: $QA_PARSE_TIMEOUT)")
            status, value = json.loads(self._from.recv_bytes())
        except (EOFError, OSError, ValueError):
            code = self._process.poll() if self._process else None
            self._stop()
            raise ParseFailed(f"the parser crashed (exit code {code})") from None
        if status == "extracted":
            return _extracted(value)
        if status != "ok":
            raise ParseFailed(value)
        return value

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "qa.readers.worker", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        self._to = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._from = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        try:  # the worker says when its parsers are loaded; only then does a file's time start
            ready = self._from.poll(STARTUP_TIMEOUT) and json.loads(self._from.recv_bytes()) == "ready"
        except (EOFError, OSError, ValueError):
            ready = False
        if not ready:
            code = self._process.poll()
            self._stop()
            raise ParseFailed(f"the parse worker did not start (exit code {code})")

    def _stop(self) -> None:
        for conn in (self._to, self._from):
            if conn is not None:
                conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
        self._process = self._to = self._from = self._held = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _extracted(value: dict) -> Extracted:
    blocks = tuple(Block(s, e, tuple(section), page, kind) for s, e, section, page, kind in value["blocks"])
    boxes = tuple(map(tuple, value["boxes"]))
    return Extracted(value["text"], blocks, value["title"], tuple(value["warnings"]), boxes, tuple(value["ocr_pages"]))


def _answer(result: Any) -> list:
    if isinstance(result, Extracted):
        blocks = [[b.start, b.end, list(b.section), b.page, b.kind] for b in result.blocks]
        return ["extracted", {
            "text": result.text, "blocks": blocks, "title": result.title, "warnings": list(result.warnings),
            "boxes": result.boxes, "ocr_pages": result.ocr_pages,
        }]
    return ["ok", result]


def serve(memory_mb: int) -> None:
    """The worker: cap the address space, then answer calls until the pipe closes."""
    threading.Thread(target=_orphaned, args=(os.getppid(),), name="qa-worker-watch", daemon=True).start()
    requests, answers = Connection(os.dup(0), writable=False), Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # what a parser prints must not corrupt the answers
    logging.disable(logging.WARNING)  # parsers log every oddity of a broken file; the reason is returned
    warnings.simplefilter("ignore")
    for module in _PRELOAD:
        importlib.import_module(module)
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    answers.send_bytes(json.dumps("ready").encode())
    data = b""
    while True:
        try:
            module, function, args, same = json.loads(requests.recv_bytes())
            data = data if same else requests.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            result = _answer(getattr(importlib.import_module(module), function)(data, *args))
        except MemoryError:
            result = ["error", f"parsing needs more than {memory_mb} MB of memory (limit: $QA_PARSE_MEMORY_MB)"]
        except Unreadable as e:  # the reader's own verdict, already worded for the report
            result = ["error", str(e)]
        except RecursionError:
            result = ["error", "structure nested too deeply to parse"]
        except Exception as e:  # the parser's own error: the file is broken in some way
            result = ["error", _describe(e)]
        answers.send_bytes(json.dumps(result).encode())


def _orphaned(parent: int) -> None:
    """End the worker once its parent is gone, even in the middle of a parse: a page slow to draw would
    otherwise keep a core busy after the server or ``qa index`` stopped."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _describe(error: Exception) -> str:
    text = re.sub(r" (object )?at 0x[0-9a-fA-F]+", "", " ".join(str(error).split()))[:200]  # no memory addresses
    return f"cannot parse ({type(error).__name__}: {text})" if text else f"cannot parse ({type(error).__name__})"


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
