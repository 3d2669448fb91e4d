"""The web chat in a real browser (Debian's Chromium driven by Playwright): what people see and click."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from serve.test_pages import PAGES as SCANNED
from serve.test_pages import marked_box
from support.documents import pdf_bytes, scanned_pdf_bytes

from qa.build import build_index
from qa.readers import ocr, parse

HOSTILE = """# <script>window.__pwned='title'</script> Evil Title

Hostile paragraph with <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=2"> inline.

Markdown image ![tracker](http://127.0.0.1:9/pixel.png) and a [link](javascript:window.__pwned=3) and **bold** and `code`.

Bare URL http://127.0.0.1:9/auto and www.example.com plus $$x^2$$ math and <b>bold tag</b> &amp; entity.
"""

@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def _ask(page, question: str, expect: str) -> None:
    page.locator("textarea").first.fill(question)  # the placeholder goes once the chat has begun
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text={expect}", timeout=60_000)
    page.wait_for_timeout(500)


def _screenshot(page, name: str, tmp_path: Path) -> None:
    """Screenshots for people to look at: $QA_SCREENSHOTS, else screenshots/ in the checkout."""
    shots = Path(os.environ.get("QA_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / name), full_page=True)


@pytest.mark.slow
def test_followup_and_abstention_in_a_real_browser(serving, corpus_index, browser, tmp_path):
    with serving(corpus_index, "--no-uploads") as url:
        page = browser.new_page(viewport={"width": 1300, "height": 1100})
        page.goto(url)
        _ask(page, "Who is Ardavan Hatami?", "Answer:")
        _screenshot(page, "chat-answer-with-citations.png", tmp_path)
        _ask(page, "Where is he based?", "searched for: Ardavan Hatami: Where is he based?")
        _screenshot(page, "chat-followup.png", tmp_path)
        log = page.locator("[role=log]").first.inner_text()
        assert "based in Germany" in log and "002_14c79f4b99af8c32.txt ¶7, line 7" in log
        # open a citation: the passage in its document, with the paragraphs around it
        opener = page.get_by_text("002_14c79f4b99af8c32.txt ¶7, line 7 — in context").last
        opener.click()
        page.wait_for_timeout(800)
        _screenshot(page, "chat-citation-in-context.png", tmp_path)
        log = page.locator("[role=log]").first.inner_text()
        assert "Khalili said" in log  # the paragraph before ¶7, shown only in the opened context
        _ask(page, "Who won the 2018 FIFA World Cup?", "do not contain the answer")
        _screenshot(page, "chat-not-in-documents.png", tmp_path)
        assert "weak match" in page.locator("[role=log]").first.inner_text()


@pytest.mark.slow
def test_example_questions_run_with_the_visitors_settings_in_a_real_browser(serving, corpus_index, browser, tmp_path):
    with serving(corpus_index, "--no-uploads") as url:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(url)
        example = page.get_by_role("button", name="Who is Ardavan Hatami?")
        example.wait_for(timeout=30_000)
        assert page.get_by_text("Passages per answer").count() == 1  # the slider, not an examples-table column
        _screenshot(page, "chat-start.png", tmp_path)
        slider = page.locator("#qa-k input[type=number]")
        slider.fill("2")
        slider.press("Enter")
        example.click()
        page.wait_for_selector("text=Answer:", timeout=60_000)
        page.wait_for_timeout(500)
        log = page.locator("[role=log]").first.inner_text()
        assert "Who is Ardavan Hatami?" in log and log.count("— in context") == 2


@pytest.mark.slow
def test_hostile_corpus_text_renders_inert_in_a_real_browser(serving, tmp_path, real_embedder, browser):
    corpus = tmp_path / "evil"
    corpus.mkdir()
    (corpus / "evil.md").write_text(HOSTILE)
    build_index(corpus, tmp_path / "idx", embedder=real_embedder)
    with serving(tmp_path / "idx", "--no-uploads") as url:
        page = browser.new_page()
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url)
        _ask(page, "hostile paragraph with script, image and link", "Evil Title")
        _screenshot(page, "chat-hostile-text.png", tmp_path)
        chat = page.locator("[role=log]").first
        html, text = chat.inner_html(), chat.inner_text()
        pwned = page.evaluate("window.__pwned")
    assert pwned is None
    assert not re.search(r"<(img|script|a|b)\b", html)
    for shown in ["<script>window.__pwned=1</script>", "![tracker](http://127.0.0.1:9/pixel.png)",
                  "[link](javascript:window.__pwned=3)", "**bold**", "$$x^2$$", "<b>bold tag</b>", "&amp; entity"]:
        assert shown in text
    assert not [u for u in requested if "127.0.0.1:9" in u or "example.com" in u]


@pytest.mark.slow
def test_upload_a_document_then_ask_about_it_in_a_real_browser(serving, tmp_path, real_embedder, browser):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text("Harbour notes\n\nThe harbour master keeps the tide tables in the blue office.\n")
    build_index(corpus, tmp_path / "idx", embedder=real_embedder)
    upload = tmp_path / "incoming" / "lighthouse.md"
    upload.parent.mkdir()
    upload.write_text(
        "# Lighthouse\n\nThe Skerry Point lighthouse keeper feeds the cat <script>window.__pwned=1</script> at six.\n"
    )
    with serving(tmp_path / "idx", "--corpus", str(corpus)) as url:
        page = browser.new_page(viewport={"width": 1300, "height": 1100})
        page.goto(url)
        page.locator("#qa-upload input[type=file]").set_input_files(str(upload))
        page.wait_for_selector("text=Added uploads/lighthouse.md", timeout=60_000)
        page.wait_for_selector("text=2 documents", timeout=120_000)  # the status line follows the new index
        _screenshot(page, "chat-upload.png", tmp_path)
        _ask(page, "When does the lighthouse keeper feed the cat?", "Answer:")
        _screenshot(page, "chat-answer-from-upload.png", tmp_path)
        log = page.locator("[role=log]").first.inner_text()
        assert "uploads/lighthouse.md" in log and "<script>window.__pwned=1</script>" in log
        assert page.evaluate("window.__pwned") is None
    assert (corpus / "uploads" / "lighthouse.md").is_file()


BEACON = "127.0.0.1:9"  # nothing listens there: a request to it is what a tracking pixel or a link would cause


@pytest.mark.slow
def test_hostile_titles_headings_and_file_names_render_as_text_in_a_real_browser(serving, tmp_path, real_embedder, browser):
    corpus = tmp_path / "docs ![s](beacon-status.png) **c**"  # a folder name cannot hold a URL's slashes
    corpus.mkdir()
    title = f"Report ![t](http://{BEACON}/title.png) [log in again](http://{BEACON}/login) **bold** <b>raw</b>"
    (corpus / "report.txt").write_text(f"{title}\n\nThe quarterly report says the lighthouse budget grew by nine percent.\n")
    (corpus / "guide.md").write_text(
        f'---\ntitle: "Guide ![fm](http://{BEACON}/fm.png) **fmbold**"\n---\n\n'
        f"## Lamps ![h](http://{BEACON}/heading.png) [click](http://{BEACON}/hlink) <i>it</i>\n\n"
        "The lamp of the harbour lighthouse uses a halogen bulb of 1000 watts.\n"
    )
    (corpus / "page.html").write_text(
        f"<html><head><title>Page <img src=http://{BEACON}/t.png></title></head><body>"
        f"<h1>Museum ![x](http://{BEACON}/h1.png) **b**</h1><p>The museum opens at nine in the morning on weekdays.</p></body></html>"
    )
    named = "**bold** ![f](beacon-name.png) [n](x) <img src=x onerror=window.__pwned=1>.txt"
    (corpus / named).write_text("Notes\n\nThe ferry timetable changes every spring on the first Monday.\n")
    build_index(corpus, tmp_path / "idx", embedder=real_embedder)
    upload = tmp_path / "in" / "![u](beacon-upload.png) **up**.txt"
    upload.parent.mkdir()
    upload.write_text("Upload\n\nThe upload says the bridge opens at noon.\n")
    with serving(tmp_path / "idx", "--corpus", str(corpus)) as url:
        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url)
        for question, expect in [("How much did the lighthouse budget grow?", "nine percent"),
                                 ("Which bulb does the harbour lamp use?", "halogen"),
                                 ("When does the museum open?", "opens at nine"),
                                 ("When does the ferry timetable change?", "first Monday")]:  # fmt: skip
            _ask(page, question, expect)
        for opener in page.get_by_text("— in context").all():  # open every citation's context
            opener.click()
        page.wait_for_timeout(800)
        page.locator("#qa-docs input").click()  # the documents dropdown, open
        page.wait_for_timeout(500)
        options = [t.replace("✓", "").strip() for t in page.get_by_role("option").all_inner_texts()]
        listed = page.get_by_role("listbox").inner_html()
        _screenshot(page, "chat-hostile-titles.png", tmp_path)
        page.keyboard.press("Escape")
        page.locator("#qa-upload input[type=file]").set_input_files(str(upload))
        page.wait_for_selector("text=indexing it in the background", timeout=60_000)
        chat = page.locator("[role=log]").first
        html, text = chat.inner_html(), chat.inner_text()
        status, note = page.locator("#qa-status").inner_text(), page.locator("#qa-upload-note").inner_text()
        pwned = page.evaluate("window.__pwned")
    assert pwned is None
    assert not re.search(r"<(img|a|b|i|u|em|script)\b", html)  # <strong> is qa's own highlight, nothing else
    # (a markdown heading's own markup is the document's: it is read as markdown, "Lamps h click it")
    for shown in [title, f"Guide ![fm](http://{BEACON}/fm.png) **fmbold** — guide.md › Lamps h click it",
                  f"Museum ![x](http://{BEACON}/h1.png) **b**", named]:  # fmt: skip
        assert text.count(shown) >= 2, shown  # in the reply's citation and in its "in context" title
    assert named in options and "<img" not in listed
    assert "(docs ![s](beacon-status.png) **c**)" in status
    [saved] = [f.name for f in (corpus / "uploads").iterdir()]  # the name gradio and qa made safe
    assert "beacon-upload.png" in saved and f"Added uploads/{saved}; indexing it in the background." in note
    assert not [u for u in requested if BEACON in u or "beacon" in u or u.endswith("/x")], requested


@pytest.mark.slow
@pytest.mark.skipif(not ocr.available(), reason="tesseract is not installed (make test installs it)")
def test_a_scanned_pdf_citation_opens_its_page_with_the_answer_boxed_in_a_real_browser(serving, tmp_path, real_embedder, browser):
    # a scanned PDF made here: known text set as a PDF, rasterised, saved again without its text layer
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "scan.pdf").write_bytes(scanned_pdf_bytes(SCANNED))
    (corpus / "notes.txt").write_text("Notes\n\nThe lighthouse keeper's log mentions a storm on the ninth.\n")
    build_index(corpus, tmp_path / "idx", embedder=real_embedder)
    with serving(tmp_path / "idx", "--no-uploads") as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1100})  # gradio caps images at 30vw tall
        page.goto(url)
        _ask(page, "How large was the surplus the treasurer reported?", "Answer:")
        assert "scan.pdf, page 2 ¶2 (OCR)" in page.locator("[role=log]").first.inner_text()
        page.get_by_text("scan.pdf, page 2 ¶2 (OCR) — in context").first.click()
        image = page.locator('img[src^="/api/page?"]').first
        image.wait_for(timeout=30_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=30_000)
        image.scroll_into_view_if_needed()
        _screenshot(page, "chat-page-view.png", tmp_path)
        shown = image.bounding_box()
        message = image.locator("xpath=ancestor::*[contains(@class, 'message')][1]")
        text = message.get_by_text("surplus of 412 pounds").first.bounding_box()
        box = message.bounding_box()
        # beside the passage's text: on the message's right half, level with the quote
        assert shown["width"] > 200 and shown["x"] > box["x"] + 0.4 * box["width"] and shown["y"] < text["y"] + text["height"]
        assert shown["y"] + shown["height"] <= box["y"] + box["height"] + 1  # whole, not cut off
        natural = image.evaluate("img => img.naturalWidth / img.naturalHeight")
        assert abs(shown["width"] / shown["height"] - natural) < 0.03 * natural  # in proportion, not squashed
        # the image the browser got: its red box lies over the printed line of the answering sentence
        fetched = page.evaluate(
            """async img => { const data = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
                              let s = ""; for (const b of data) s += String.fromCharCode(b); return btoa(s); }""",
            image.element_handle(),
        )
        x0, y0, x1, y1 = marked_box(base64.b64decode(fetched))
        printed = parse("report.pdf", pdf_bytes(SCANNED), "0" * 64)
        _, px0, py0, px1, py1, _, _ = next(b for b in printed.boxes if "412 pounds" in printed.text[b[5] : b[6]])
        assert x0 < px0 + 0.02 and y0 < py0 + 0.01 and x1 > px1 - 0.02 and y1 > py1 - 0.01, ((x0, y0, x1, y1), (px0, py0, px1, py1))
        assert y1 - y0 < 3 * (py1 - py0) + 0.03
