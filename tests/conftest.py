from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch):
    """Tests name their index folders and models explicitly; the developer's environment must not leak in."""
    monkeypatch.delenv("QA_INDEX_DIR", raising=False)
    monkeypatch.delenv("QA_MODEL", raising=False)
    monkeypatch.delenv("QA_RERANK", raising=False)
    monkeypatch.delenv("QA_RERANK_DEPTH", raising=False)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The default corpus, committed in the checkout."""
    return CORPUS


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """Two small articles, one per paragraph style, in a nested folder."""
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "alpha.txt").write_text(
        "Alpha Station Report\n\n"
        "The alpha station measures rainfall in the northern valley every hour.\n\n"
        "Its records began in 1952, when the first gauge was installed by volunteers.\n",
        encoding="utf-8",
    )
    (root / "sub" / "beta.md").write_text(
        "# Beta Bakery\n"
        "The beta bakery sells sourdough bread and croissants near the harbour.\n"
        "Its ovens are heated with wood from the nearby forest since the bakery opened.\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="session")
def real_embedder():
    """The shipped model at qa's default precision (int8)."""
    from qa.indexing.embed import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def fp32_embedder():
    """The shipped model as plain sentence-transformers runs it."""
    from qa.indexing.embed import Embedder

    return Embedder(precision="fp32")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, real_embedder) -> Path:
    """The default corpus indexed with the real shipped model (built once per test session)."""
    from qa.build import build_index

    index_dir = tmp_path_factory.mktemp("corpus-index")
    build_index(CORPUS, index_dir, embedder=real_embedder)
    return index_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(index_dir: Path, *args: str, env: dict | None = None, ready: str = "/api/health", log: Path | None = None):
    """``qa serve`` on a free loopback port, in its own process; yields its base URL (no trailing /).
    What the server prints goes to ``log`` (a file: a pipe no one reads would stall the server)."""
    port = _free_port()
    qa = str(Path(sys.executable).with_name("qa"))
    log = log or Path(tempfile.mkstemp(prefix="qa-serve-", suffix=".log")[1])
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [qa, "serve", "--port", str(port), "--index-dir", str(index_dir), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not come up"
            try:
                urllib.request.urlopen(url + ready, timeout=2)
                break
            except urllib.error.HTTPError:  # up, but answering 401/503: that is for the test to judge
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _gradio_config(url: str, headers: dict | None = None) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url + "/config", headers=headers or {}), timeout=30) as response:
        return json.load(response)


def _gradio_event(url: str, fn_index: int, data: list, headers: dict | None = None) -> tuple[int, dict]:
    """One gradio event over HTTP, as the page sends it (``queue/join``, then the event stream):
    ``(200, the completion message)``, or the status and JSON body of a refused join. ``data`` may hold
    NaN (sent as JSON's ``NaN``, which browsers' JSON never writes but an attacker can)."""
    session = uuid.uuid4().hex[:12]
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None}).encode()
    join = urllib.request.Request(url + "/gradio_api/queue/join", data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        urllib.request.urlopen(join, timeout=60).read()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    stream = urllib.request.Request(f"{url}/gradio_api/queue/data?session_hash={session}", headers=headers or {})
    with urllib.request.urlopen(stream, timeout=120) as stream:
        for line in stream:
            if line.startswith(b"data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return 200, message
    raise AssertionError("the event stream ended without a result")


def _file_data(path: str | Path, name: str = "x.txt") -> dict:
    """A gradio file object as an event carries it."""
    return {"path": str(path), "orig_name": name, "meta": {"_type": "gradio.FileData"}}


@pytest.fixture(scope="session")
def free_port():
    """A function: a free loopback port."""
    return _free_port


@pytest.fixture(scope="session")
def serving():
    """A context manager: ``with serving(index_dir, *args, env=..., log=...) as url`` runs ``qa serve``."""
    return _serving


@pytest.fixture(scope="session")
def gradio():
    """Gradio's wire protocol for tests: ``config(url)``, ``event(url, fn_index, data)``, ``file_data(path, name)``."""
    return SimpleNamespace(config=_gradio_config, event=_gradio_event, file_data=_file_data)
