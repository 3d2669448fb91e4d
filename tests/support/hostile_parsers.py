"""Parsers that misbehave, called in qa's parse worker by tests/test_isolate.py."""

from __future__ import annotations

import os
import signal
import time


def hang(_data: bytes) -> None:
    time.sleep(3600)


def eat_memory(_data: bytes) -> None:
    hog = []
    while True:
        hog.append(bytearray(64 * 1024 * 1024))


def crash(_data: bytes) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def echo(data: bytes) -> str:
    return data.decode()
