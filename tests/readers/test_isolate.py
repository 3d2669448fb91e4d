"""The parse worker: a hanging, memory-hungry or crashing parser costs one file, not the build."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def test_the_worker_ends_with_its_parent_even_in_the_middle_of_a_parse(tmp_path):
    # a parent starts a page that takes minutes to draw, then dies: the worker must not draw on alone
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, threading, time\n"
        "from support.documents import slow_pdf_bytes\n"
        "from qa.readers.isolate import Isolated\n"
        "worker = Isolated(timeout=600)\n"
        "worker.call('qa.readers.pdf', 'survey', b'%PDF-1.4 not really')  if False else None\n"
        "data = slow_pdf_bytes(1, 400, 'A page of text that takes minutes to draw.')\n"
        "threading.Thread(target=worker.call, args=('qa.readers.page_image', 'render', data, 'pdf', 1, [], 1600), daemon=True).start()\n"
        "time.sleep(2)\n"
        "print(worker._process.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])}
    pid = int(subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, check=True, timeout=120).stdout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
