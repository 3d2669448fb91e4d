"""Broken and hostile files: each is indexed, or skipped with its reason -- never a crash, hang or partial index."""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import time
import zipfile
import zlib

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from support.documents import docx_bytes, page_images, pdf_bytes, slow_pdf_bytes
from support.fakes import FakeEmbedder

from qa.build import build_index
from qa.indexing.folder import load_index
from qa.indexing.manifest import read_manifest
from qa.readers import ocr
from qa.retrieval.pipeline import Retriever

needs_ocr = pytest.mark.skipif(not ocr.available(), reason="tesseract is not installed (make test installs it)")
GOOD = "Good file\n\nThis perfectly ordinary paragraph mentions the lighthouse keeper by name.\n"


def _build(root, tmp_path, **kwargs):
    (root / "good.txt").write_text(GOOD)
    report = build_index(root, tmp_path / "idx", embedder=FakeEmbedder(), **kwargs)
    assert "good.txt" in read_manifest(tmp_path / "idx").files
    return report, {s.source: s.reason for s in report.skipped}


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "docs"
    path.mkdir()
    return path


def test_mixed_encodings_and_byte_order_marks_are_decoded(root, tmp_path):
    (root / "mixed.txt").write_bytes("Caf\u00e9 menu\n\n".encode() + "Cr\u00e8me br\u00fbl\u00e9e and tea, served all day.\n".encode("cp1252"))
    (root / "bom16.md").write_bytes("# Notes\n\nA UTF-16 file with its byte-order mark, about lighthouses.\n".encode("utf-16"))
    (root / "bom8.html").write_bytes(b"\xef\xbb\xbf<html><body><p>An HTML page that starts with a UTF-8 byte-order mark.</p></body></html>")
    report, skipped = _build(root, tmp_path)
    assert skipped == {} and report.files == 4
    texts = {p.source: p.text for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages}
    assert "served all day" in texts["mixed.txt"] and "byte-order mark" in texts["bom16.md"]
    assert not texts["bom8.html"].startswith("\ufeff")


@pytest.mark.parametrize("name", ["noise.txt", "noise.md", "noise.html", "noise.pdf", "noise.docx"])
def test_binary_content_with_a_text_extension_is_skipped(root, tmp_path, name):
    (root / name).write_bytes(bytes(range(256)) * 64)
    _, skipped = _build(root, tmp_path)
    assert list(skipped) == [name]


@pytest.mark.parametrize("name", ["empty.txt", "blank.md", "empty.html", "empty.pdf", "empty.docx"])
def test_empty_and_whitespace_only_files_are_skipped(root, tmp_path, name):
    (root / name).write_bytes(b"" if "empty" in name else b" \n\t\n  \n")
    _, skipped = _build(root, tmp_path)
    assert list(skipped) == [name]


def test_a_200_mb_single_line_file_is_skipped_by_the_size_cap(root, tmp_path):
    with open(root / "huge.txt", "wb") as f:
        chunk = b"word" * (1024 * 1024)
        for _ in range(50):
            f.write(chunk)  # 200 MiB, one line
    report, skipped = _build(root, tmp_path)
    assert "too large" in skipped["huge.txt"] and "QA_MAX_FILE_MB" in skipped["huge.txt"]
    # the cap is configurable
    (root / "small.txt").write_text("Small\n\n" + "A sentence of ordinary text. " * 100)
    _, skipped = _build(root, tmp_path, max_file_mb=0.001)
    assert "too large" in skipped["small.txt"]


def test_truncated_and_corrupt_pdf_and_docx_are_skipped(root, tmp_path):
    pdf = pdf_bytes([["A paragraph of a real PDF about the keeper's log book and its entries."]])
    docx = docx_bytes([("p", "A paragraph of a real DOCX about the keeper's log book and its entries.")])
    (root / "cut.pdf").write_bytes(pdf[: len(pdf) // 3])
    (root / "cut.docx").write_bytes(docx[: len(docx) // 2])
    (root / "fake.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF")
    (root / "whole.pdf").write_bytes(pdf)
    (root / "whole.docx").write_bytes(docx)
    report, skipped = _build(root, tmp_path)
    assert set(skipped) == {"cut.pdf", "cut.docx", "fake.pdf"}
    assert all(reason.startswith(("broken", "no text", "cannot parse")) for reason in skipped.values())
    assert report.formats == {"pdf": 1, "docx": 1, "txt": 1}


def test_a_docx_zip_bomb_is_refused_before_extracting(root, tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(300):  # 300 MB of zeros, a few hundred KB packed
                member.write(block)
    (root / "bomb.docx").write_bytes(out.getvalue())
    began = time.monotonic()
    _, skipped = _build(root, tmp_path)
    assert "zip bomb" in skipped["bomb.docx"] and time.monotonic() - began < 30


def test_deeply_nested_html_is_read_without_crashing(root, tmp_path):
    depth = 100_000
    html = "<html><body><p>Before the deep part, a paragraph about the keeper.</p>" + "<div>" * depth + "deep" + "</div>" * depth + "</body></html>"
    (root / "deep.html").write_text(html)
    report, skipped = _build(root, tmp_path)
    assert skipped == {} and "deep.html" in report.warnings
    texts = [p.text for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages if p.source == "deep.html"]
    assert any("Before the deep part" in t for t in texts)


def test_duplicate_documents_are_indexed_once_with_both_paths_known(root, tmp_path):
    text = "Keeper's log\n\nThe keeper logged a storm on the night of the ninth, with waves over the gallery.\n"
    (root / "a").mkdir()
    (root / "a" / "log.txt").write_text(text)
    (root / "copy-of-log.txt").write_text(text)
    report, _ = _build(root, tmp_path)
    assert report.duplicates == {"copy-of-log.txt": "a/log.txt"}
    index = load_index(tmp_path / "idx", embedder=FakeEmbedder())
    storm = [p for p in index.passages if "storm" in p.text]
    assert len(storm) == 1 and storm[0].source == "a/log.txt" and storm[0].copies == ("copy-of-log.txt",)
    assert "also copy-of-log.txt" in Retriever(index).retrieve("storm gallery waves", k=1)[0].citation()
    # the primary deleted: the copy takes over
    (root / "a" / "log.txt").unlink()
    build_index(root, tmp_path / "idx", embedder=FakeEmbedder())
    storm = [p for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages if "storm" in p.text]
    assert [(p.source, p.copies) for p in storm] == [("copy-of-log.txt", ())]


def test_a_file_changing_while_indexing_is_indexed_consistently_then_synced(root, tmp_path):
    path = root / "growing.txt"
    path.write_text("Growing log\n\nThe first entry of a log that is being written while it is indexed.\n")
    for n in range(30):  # enough work for the writer to overlap with reading
        (root / f"other{n}.txt").write_text(f"Other {n}\n\nAn unrelated paragraph number {n} about the harbour.\n")
    stop = threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            with open(path, "a") as f:
                f.write(f"\nEntry {n}: the keeper wrote another line about the weather at sea.\n")
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        report, skipped = _build(root, tmp_path)
    finally:
        stop.set()
        writer.join()
    if "growing.txt" in skipped:
        assert "changed while being read" in skipped["growing.txt"]
    else:  # what was indexed is one consistent version: its hash is recorded with its text
        passages = [p for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages if p.source == "growing.txt"]
        assert passages and all(p.text.startswith(("Growing", "The first", "Entry")) for p in passages)
    # once the file is still, the next run indexes exactly its final content
    build_index(root, tmp_path / "idx", embedder=FakeEmbedder())
    final = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_manifest(tmp_path / "idx").files["growing.txt"] == final
    last = path.read_text().rstrip().rsplit("\n", 1)[-1]
    assert any(last in p.text for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages)


def test_a_sync_parses_only_changed_files_and_keeps_extracted_text(root, tmp_path):
    (root / "a.html").write_text("<html><body><h1>Alpha</h1><p>The alpha page talks about the lighthouse lamp.</p></body></html>")
    (root / "b.html").write_text("<html><body><h1>Beta</h1><p>The beta page talks about the harbour wall.</p></body></html>")
    first, _ = _build(root, tmp_path)
    (root / "b.html").write_text("<html><body><h1>Beta</h1><p>The beta page now talks about the ferry.</p></body></html>")
    second = build_index(root, tmp_path / "idx", embedder=FakeEmbedder())
    assert second.changes.changed == {"b.html": 1} and second.embedded == 1
    index = load_index(tmp_path / "idx", embedder=FakeEmbedder())
    for p in index.passages:
        if p.source.endswith(".html"):
            assert index.text(p.source)[p.start : p.end] == p.text


def _png_promising(width: int, height: int) -> bytes:
    """A well-formed PNG header that promises ``width`` × ``height`` pixels, with a few bytes of data:
    a decompression bomb as it reaches a reader."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")


@needs_ocr
def test_image_bombs_noise_and_broken_images_are_skipped_with_their_reason(root, tmp_path):
    page = page_images(pdf_bytes([["The keeper logged a storm on the ninth, with waves over the gallery."]]), dpi=150)[0]
    png, jpg, tif = io.BytesIO(), io.BytesIO(), io.BytesIO()
    page.save(png, "PNG")
    page.save(jpg, "JPEG")
    page.save(tif, "TIFF", save_all=True, append_images=[page])
    (root / "bomb.png").write_bytes(_png_promising(100_000, 100_000))  # 10 billion pixels in 200 bytes
    (root / "wide.png").write_bytes(_png_promising(2**31 - 1, 1))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1500, 1100), dtype=np.uint8))
    noise.save(root / "noise.png")
    (root / "cut.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    (root / "cut.jpg").write_bytes(jpg.getvalue()[:300])
    (root / "cut.tif").write_bytes(tif.getvalue()[:2000])
    (root / "fake.webp").write_bytes(b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(200))
    (root / "whole.jpg").write_bytes(jpg.getvalue())
    began = time.monotonic()
    report, skipped = _build(root, tmp_path)
    assert time.monotonic() - began < 60
    assert set(skipped) == {"bomb.png", "wide.png", "noise.png", "cut.png", "cut.jpg", "cut.tif", "fake.webp"}, skipped
    assert "image too large" in skipped["bomb.png"] and "image too large" in skipped["wide.png"]
    assert skipped["noise.png"] == "no text found by OCR (1 page)"
    assert all("Traceback" not in reason and len(reason) < 300 for reason in skipped.values())
    assert report.formats == {"image": 1, "txt": 1}


@needs_ocr
def test_a_10000_page_pdf_is_bounded_work(root, tmp_path, monkeypatch):
    blank = pdfium.PdfDocument.new()
    for _ in range(10_000):
        blank.new_page(595, 842)
    out = io.BytesIO()
    blank.save(out)
    (root / "blank.pdf").write_bytes(out.getvalue())
    text = page_images(pdf_bytes([["The keeper logged a storm on the ninth, with waves over the gallery."]]), dpi=150)[0]
    pages = [text] + [Image.new("L", (20, 20), 255)] * 9_999  # a scan of 10,000 pages, one with text
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    (root / "scans.pdf").write_bytes(out.getvalue())
    monkeypatch.setenv("QA_OCR_MAX_PAGES", "3")
    began = time.monotonic()
    report, skipped = _build(root, tmp_path)
    assert time.monotonic() - began < 120
    assert skipped == {"blank.pdf": "no text in the PDF (blank pages)"}
    assert report.warnings["scans.pdf"] == ("9997 pages not read: more than 3 to OCR ($QA_OCR_MAX_PAGES)",)
    storm = [p for p in load_index(tmp_path / "idx", embedder=FakeEmbedder()).passages if p.source == "scans.pdf"]
    assert storm and "waves over the gallery" in storm[0].text and storm[0].ocr


@needs_ocr
def test_a_scan_whose_pages_are_slow_to_draw_stops_being_ocrd_after_three(root, tmp_path, monkeypatch):
    from qa.readers import paged

    (root / "slow.pdf").write_bytes(slow_pdf_bytes(200, fan=20))  # 200 pages, seconds each to draw, no text
    monkeypatch.setattr(paged, "PAGE_TIMEOUT", 0.5)
    began = time.monotonic()
    _, skipped = _build(root, tmp_path)
    assert time.monotonic() - began < 60
    assert "197 pages not read: OCR stopped, 3 pages in a row failed" in skipped["slow.pdf"], skipped
