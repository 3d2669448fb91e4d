"""The page view over a real server: ``GET /api/page`` returns a page of an indexed PDF or image with the
answer's lines boxed -- and nothing else: no other file, no page the index has not, no changed file."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from support.documents import pdf_bytes, scanned_pdf_bytes, slow_pdf_bytes

from qa.build import build_index
from qa.readers import ocr, parse
from qa.serve.pages import page_url

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ocr.available(), reason="tesseract is not installed (make test installs it)")]

PAGES = [
    ["Annual Report of the Kettle Society",
     "The society met four times this year; attendance rose by a third thanks to the new venue near the old mill."],
    ["Membership fees stay at twelve pounds a year for every member of the society.",
     "The treasurer reported a surplus of 412 pounds, which will pay for a new urn and the autumn outing.",
     "The secretary thanked the volunteers who ran the stall at the summer fair."],
]  # fmt: skip
QUESTION = "How large was the surplus the treasurer reported?"


def marked_box(png: bytes) -> tuple[float, float, float, float]:
    """Where the red edges drawn on a page image lie, in page fractions."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    ys, xs = np.nonzero(red)
    assert xs.size, "nothing is marked"
    h, w = red.shape
    return xs.min() / w, ys.min() / h, xs.max() / w, ys.max() / h


def printed_box(words: str) -> tuple:
    """The box of the printed line holding ``words``, from the text PDF the scan was made of."""
    doc = parse("report.pdf", pdf_bytes(PAGES), "0" * 64)
    return next(b for b in doc.boxes if words in doc.text[b[5] : b[6]])


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, real_embedder):
    root = tmp_path_factory.mktemp("scans")
    (root / "scan.pdf").write_bytes(scanned_pdf_bytes(PAGES))
    (root / "report.pdf").write_bytes(pdf_bytes([["A text PDF about the lighthouse keeper's log and the storm of the ninth."]]))
    (root / "notes.txt").write_text("Notes\n\nThe lighthouse keeper's log mentions a storm on the ninth.\n")
    (root / "slow.pdf").write_bytes(slow_pdf_bytes(1, fan=100, text="The zephyr ledger names Captain Orrin Vale as keeper."))
    index_dir = root.parent / (root.name + "-index")
    build_index(root, index_dir, embedder=real_embedder)
    return root, index_dir


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _ask(url: str, question: str) -> dict:
    body = json.dumps({"question": question, "k": 3}).encode()
    request = urllib.request.Request(url + "/api/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.load(r)


def test_the_page_of_a_hit_has_its_answer_boxed_where_it_was_printed(scanned, serving):
    root, index_dir = scanned
    with serving(index_dir, "--no-uploads") as url:
        top = _ask(url, QUESTION)["hits"][0]
        assert top["source"] == "scan.pdf" and top["ocr"] and top["citation"].endswith("page 2 ¶2 (OCR)")
        assert "412 pounds" in top["highlight"]["text"] and top["highlight"]["boxes"][0][0] == 2
        query = urllib.parse.urlencode({"source": "scan.pdf", "page": 2, "start": top["highlight"]["start"], "end": top["highlight"]["end"]})
        status, headers, png = _get(f"{url}/api/page?{query}")
        assert status == 200 and headers["content-type"] == "image/png" and headers["x-content-type-options"] == "nosniff"
        image = Image.open(io.BytesIO(png))
        assert max(image.size) <= 1600 and image.size[1] > image.size[0]  # a portrait page, capped
        x0, y0, x1, y1 = marked_box(png)
        _, px0, py0, px1, py1, _, _ = printed_box("412 pounds")
        assert x0 < px0 + 0.01 and y0 < py0 + 0.005 and x1 > px1 - 0.01 and y1 > py1 - 0.005  # it covers the line
        assert y1 - y0 < 3 * (py1 - py0) + 0.02  # ...and not the page


def test_only_pages_of_indexed_pdfs_and_images_are_served(scanned, serving):
    root, index_dir = scanned
    with serving(index_dir, "--no-uploads") as url:
        def status(**params) -> int:
            return _get(f"{url}/api/page?{urllib.parse.urlencode(params)}")[0]

        assert status(source="scan.pdf", page=1) == 200  # a page, nothing marked
        assert status(source="report.pdf", page=1, start=0, end=10) == 200  # text PDFs have pages too
        for bad in ("notes.txt", "../scan.pdf", "/etc/passwd", "scan.pdf/../../x.pdf", "missing.pdf", "SCAN.PDF", "scan.pdf\x00"):
            assert status(source=bad, page=1) == 404, bad
        assert status(source="scan.pdf", page=3) == 404 and status(source="report.pdf", page=2) == 404
        for params in ({"source": "scan.pdf", "page": 0}, {"source": "scan.pdf", "page": "x"}, {"source": "scan.pdf"},
                       {"source": "scan.pdf", "page": 1, "start": -1}, {"source": "x" * 5000, "page": 1},
                       {"source": "scan.pdf", "page": 10**12}):  # fmt: skip
            code, _, body = _get(f"{url}/api/page?{urllib.parse.urlencode(params)}")
            assert code == 422 and b"Traceback" not in body and b"xxxxxxxx" not in body, params
            assert json.loads(body)["detail"].split(":")[0] in ("page", "start", "source"), body  # names it
        # the file changed since it was indexed: its boxes would mark the wrong place
        original = (root / "report.pdf").read_bytes()
        (root / "report.pdf").write_bytes(pdf_bytes([["Another text entirely, set in the same place as before."]]))
        try:
            code, _, body = _get(f"{url}/api/page?source=report.pdf&page=1")
            assert code == 409 and b"changed since it was indexed" in body
        finally:
            (root / "report.pdf").write_bytes(original)
        assert status(source="report.pdf", page=1) == 200


def test_the_page_view_is_behind_the_login(scanned, serving):
    _, index_dir = scanned
    with serving(index_dir, "--no-uploads", env={"QA_AUTH": "ann:secret-words"}) as url:
        assert _get(f"{url}/api/page?source=scan.pdf&page=1")[0] == 401
        login = {"Authorization": "Basic " + base64.b64encode(b"ann:secret-words").decode()}
        assert _get(f"{url}/api/page?source=scan.pdf&page=1", login)[0] == 200


def test_page_url_names_the_highlights_page_and_offsets(scanned):
    from qa import load_index
    from qa.retrieval.pipeline import Retriever

    _, index_dir = scanned
    top = Retriever(load_index(index_dir)).ask(QUESTION, 3).hits[0]
    url = page_url(top)
    assert url == f"/api/page?source=scan.pdf&page=2&start={top.highlight.start}&end={top.highlight.end}"
    notes = next(h for h in Retriever(load_index(index_dir)).ask("lighthouse keeper storm", 3).hits if h.source == "notes.txt")
    assert page_url(notes) is None


def test_a_page_slow_to_draw_is_refused_once_and_then_at_once_while_the_server_answers(scanned, serving):
    _, index_dir = scanned
    with serving(index_dir, "--no-uploads", env={"QA_PAGE_TIMEOUT": "2"}) as url:
        with ThreadPoolExecutor(8) as pool:
            slow = [pool.submit(_get, f"{url}/api/page?source=slow.pdf&page=1&start={n}&end=40") for n in range(6)]
            began = time.monotonic()
            assert _get(f"{url}/api/health")[0] == 200 and time.monotonic() - began < 2  # not held up
            codes = sorted(f.result()[0] for f in slow)
        assert set(codes) <= {404, 503} and 404 in codes, codes  # drawn once, failed; others refused, or told to retry
        began = time.monotonic()
        code, _, body = _get(f"{url}/api/page?source=slow.pdf&page=1&start=0&end=40")
        assert code == 404 and b"cannot be shown" in body and time.monotonic() - began < 1  # remembered
        assert _get(f"{url}/api/page?source=scan.pdf&page=1")[0] == 200  # other pages still drawn


def test_other_sites_cannot_load_page_images(scanned, serving):
    _, index_dir = scanned
    with serving(index_dir, "--no-uploads") as url:
        code, headers, _ = _get(f"{url}/api/page?source=scan.pdf&page=1", {"Sec-Fetch-Site": "same-origin"})
        assert code == 200 and headers["cross-origin-resource-policy"] == "same-origin"
        assert _get(f"{url}/api/page?source=scan.pdf&page=1", {"Sec-Fetch-Site": "cross-site"})[0] == 403
