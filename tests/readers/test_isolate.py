"""The parse worker: a hanging, memory-hungry or crashing parser costs one file, not the build."""

from __future__ import annotations

import time

import pytest

from qa.readers.isolate import Isolated, ParseFailed


def test_a_hanging_parser_is_stopped_at_the_time_limit_and_the_worker_replaced():
    with Isolated(timeout=2) as worker:
        began = time.monotonic()
        with pytest.raises(ParseFailed, match="longer than 2 s"):
            worker.call("support.hostile_parsers", "hang", b"")
        assert time.monotonic() - began < 10
        assert worker.call("support.hostile_parsers", "echo", b"next file") == "next file"


def test_a_parser_that_eats_memory_hits_the_limit():
    with Isolated(timeout=60, memory_mb=256) as worker:
        with pytest.raises(ParseFailed, match="more than 256 MB"):
            worker.call("support.hostile_parsers", "eat_memory", b"")
        assert worker.call("support.hostile_parsers", "echo", b"ok") == "ok"


def test_a_crashing_parser_is_reported_and_the_worker_restarted():
    with Isolated(timeout=30) as worker:
        with pytest.raises(ParseFailed, match="crashed"):
            worker.call("support.hostile_parsers", "crash", b"")
        assert worker.call("support.hostile_parsers", "echo", b"ok") == "ok"


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"memory_mb": -1}])
def test_bad_limits_are_refused(kwargs):
    with pytest.raises(ValueError, match="must be > 0"):
        Isolated(**kwargs)


def test_the_time_limit_counts_the_parse_not_the_worker_start_up():
    # Starting a worker (a Python process importing the PDF, DOCX and HTML parsers) takes longer than this
    # limit on any machine; a file's parse must not be charged for it.
    with Isolated(timeout=0.05) as worker:
        began = time.monotonic()
        assert worker.call("support.hostile_parsers", "echo", b"first file") == "first file"
        assert time.monotonic() - began > 0.05  # the start-up did take longer than the limit
