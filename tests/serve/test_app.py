"""app.py: the one command. The server comes up at once and indexes a missing corpus in the background."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


@pytest.mark.slow
def test_app_serves_at_once_and_indexes_in_the_background(free_port, repo_root, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Keeper's notes\n\nThe keeper of Skerry Point winds the clock every Sunday at noon.\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(repo_root / "app.py"), "--corpus", str(corpus), "--index-dir", str(tmp_path / "idx"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + 240, None
        while time.monotonic() < deadline and health != 200:
            assert proc.poll() is None, proc.stdout.read()
            try:
                health = urllib.request.urlopen(url + "/api/health", timeout=5).status
            except urllib.error.HTTPError as e:
                health = e.code
                assert health == 503  # up, index not built yet: says so instead of failing
            except OSError:
                pass
            time.sleep(0.5)
        assert health == 200
        request = urllib.request.Request(
            url + "/api/ask", data=json.dumps({"question": "When is the clock wound?"}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        body = json.loads(urllib.request.urlopen(request, timeout=60).read())
        assert body["answered"] and "every Sunday at noon" in body["hits"][0]["text"]
    finally:
        proc.terminate()
        proc.wait(20)
