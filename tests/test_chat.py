from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from qa.build import build_index
from qa.chat import escape, format_reply
from qa.search import Hit

from conftest import free_port

HOSTILE = """# <script>window.__pwned='title'</script> Evil Title

Hostile paragraph with <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=2"> inline.

Markdown image ![tracker](http://127.0.0.1:9/pixel.png) and a [link](javascript:window.__pwned=3) and **bold** and `code`.

Bare URL http://127.0.0.1:9/auto and www.example.com plus $$x^2$$ math and <b>bold tag</b> &amp; entity.
"""


def _hit(text: str, **kw) -> Hit:
    fields = dict(source="a.txt", title="T", paragraph=2, line=3, start=0, end=len(text), score=0.5)
    return Hit(text=text, **{**fields, **kw})


@pytest.mark.parametrize(
    "raw",
    ["<script>alert(1)</script>", "![x](http://e/x.png)", "[a](javascript:alert(1))", "**b** _i_ `c`", "# h", "1. item"],
)
def test_escape_leaves_no_markup(raw):
    escaped = escape(raw)
    assert "<" not in escaped and ">" not in escaped
    assert not re.search(r"(?<!\\)[\[\]()*_`#!]", escaped)  # every markup character is backslash-escaped
    assert re.sub(r"\\(.)", r"\1", escaped).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == raw


def test_reply_numbers_citations_and_quotes_text():
    reply = format_reply([_hit("First line.\nSecond line."), _hit("Other.", source="dir/b_c.md", paragraph=7, line=12)])
    assert reply.startswith("**[1] T** — a\\.txt ¶2, line 3")
    assert "> First line\\.\n> Second line\\." in reply
    assert "**[2] T** — dir\\/b\\_c\\.md ¶7, line 12" in reply


@contextlib.contextmanager
def serving(index_dir: Path):
    port = free_port()
    qa = str(Path(sys.executable).with_name("qa"))
    proc = subprocess.Popen(
        [qa, "serve", "--port", str(port), "--index-dir", str(index_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the server did not come up"
            try:
                urllib.request.urlopen(url, timeout=2)
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


@pytest.mark.slow
def test_chat_answers_through_gradio_client(corpus_index):
    from gradio_client import Client

    with serving(corpus_index) as url:
        client = Client(url, verbose=False)
        reply = client.predict("How many followers does the Persian Instagram account have?", api_name="/chat")
        assert reply.startswith("**[1] Israel\\: Thousands of Iranians Seeking Medical Help from Jewish State** — ")
        assert "000\\_ec1e6d9161bd9899\\.txt ¶15, line 30" in reply.split("\n")[0]
        assert "half a million followers" in reply
        assert reply.count("**[") == 5
        assert client.predict("   ", api_name="/chat") == "Please type a question."


@pytest.mark.slow
def test_hostile_corpus_text_renders_inert_in_a_real_browser(tmp_path, real_embedder):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    corpus = tmp_path / "evil"
    corpus.mkdir()
    (corpus / "evil.md").write_text(HOSTILE)
    build_index(corpus, tmp_path / "idx", embedder=real_embedder)
    with serving(tmp_path / "idx") as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page()
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url)
        page.get_by_placeholder("Ask a question").fill("hostile paragraph with script, image and link")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Evil Title", timeout=60_000)
        page.wait_for_timeout(1000)
        shots = Path(os.environ.get("QA_SCREENSHOTS", tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "chat-hostile-text.png"), full_page=True)
        chat = page.locator("[role=log]").first
        html, text = chat.inner_html(), chat.inner_text()
        pwned = page.evaluate("window.__pwned")
        browser.close()
    assert pwned is None
    assert not re.search(r"<(img|script|a|b)\b", html)
    for shown in ["<script>window.__pwned=1</script>", "![tracker](http://127.0.0.1:9/pixel.png)",
                  "[link](javascript:window.__pwned=3)", "**bold**", "$$x^2$$", "<b>bold tag</b>", "&amp; entity"]:
        assert shown in text
    assert not [u for u in requested if "127.0.0.1:9" in u or "example.com" in u]
