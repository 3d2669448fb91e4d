"""Scanned PDF pages and image files are read by OCR (the real Tesseract), page by page in the parse
worker, and every line keeps its box: the box OCR gives a line lies where the line was printed."""

from __future__ import annotations

import ctypes
import io

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from support.documents import page_images, pdf_bytes, scanned_pdf_bytes

from qa.indexing.split import split_document
from qa.readers import ocr, parse
from qa.readers.isolate import Isolated

pytestmark = pytest.mark.skipif(not ocr.available(), reason="tesseract is not installed (make test installs it)")

PAGES = [
    ["Annual Report of the Kettle Society",
     "The society met four times this year; attendance rose by a third thanks to the new venue."],
    ["Membership fees stay at twelve pounds. The treasurer reported a surplus of 412 pounds, which will pay "
     "for a new urn and the autumn outing."],
]  # fmt: skip


def _read(source: str, data: bytes, **kwargs):
    doc = parse(source, data, "0" * 64, **kwargs)
    assert not hasattr(doc, "reason"), doc
    return doc


def _box_of(doc, words: str) -> tuple:
    return next(b for b in doc.boxes if words in doc.text[b[5] : b[6]])


def test_a_scanned_pdf_is_read_by_ocr_with_its_pages_boxes_and_citation():
    told = []
    doc = _read("scan.pdf", scanned_pdf_bytes(PAGES), on_page=told.append)
    assert told == ["OCR: page 1/2 of scan.pdf", "OCR: page 2/2 of scan.pdf"]
    assert "surplus of 412 pounds" in doc.text and "new venue" in doc.text and doc.ocr_pages == (1, 2)
    assert doc.title == "Annual Report of the Kettle Society"
    surplus = next(p for p in split_document(doc) if "412 pounds" in p.text)
    assert surplus.page == 2 and surplus.ocr and surplus.locator() == "scan.pdf, page 2 ¶1 (OCR)"
    assert surplus.boxes and all(b[0] == 2 for b in surplus.boxes)
    # where OCR puts the line is where the text PDF it was printed from has it (page fractions)
    printed = _read("report.pdf", pdf_bytes(PAGES))
    assert not printed.ocr_pages and printed.boxes
    ocr_box, text_box = _box_of(doc, "twelve pounds"), _box_of(printed, "twelve pounds")
    assert ocr_box[0] == text_box[0] == 2
    assert all(abs(a - b) < 0.01 for a, b in zip(ocr_box[1:5], text_box[1:5])), (ocr_box, text_box)


def test_a_pdf_of_text_and_scanned_pages_reads_both_and_marks_only_the_scan():
    text_pdf, scan_pdf = pdfium.PdfDocument(pdf_bytes(PAGES[:1])), pdfium.PdfDocument(scanned_pdf_bytes(PAGES[1:]))
    text_pdf.import_pages(scan_pdf)
    out = io.BytesIO()
    text_pdf.save(out)
    doc = _read("mixed.pdf", out.getvalue())
    assert doc.ocr_pages == (2,) and "new venue" in doc.text and "412 pounds" in doc.text
    passages = split_document(doc)
    assert {p.page: p.ocr for p in passages} == {1: False, 2: True}


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_image_files_are_read_by_ocr(fmt, suffix):
    image = page_images(pdf_bytes(PAGES[1:]), dpi=200)[0]
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    doc = _read("photo" + suffix, out.getvalue())
    assert "surplus of 412 pounds" in doc.text and doc.ocr_pages == (1,)
    assert split_document(doc)[0].locator() == f"photo{suffix}, page 1 ¶1 (OCR)"


def test_a_multi_page_tiff_is_one_document_of_several_pages():
    images = page_images(pdf_bytes(PAGES), dpi=200)
    out = io.BytesIO()
    images[0].save(out, "TIFF", save_all=True, append_images=images[1:], compression="tiff_deflate")
    doc = _read("scan.tiff", out.getvalue())
    assert doc.ocr_pages == (1, 2) and {b.page for b in doc.blocks} == {1, 2}
    assert next(p for p in split_document(doc) if "412" in p.text).page == 2


def test_a_camera_photo_is_turned_upright_by_its_exif_orientation():
    image = page_images(pdf_bytes(PAGES[1:]), dpi=200)[0].rotate(90, expand=True)  # held sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    assert "surplus of 412 pounds" in _read("phone.jpg", out.getvalue()).text


def test_without_tesseract_scans_are_skipped_saying_how_to_install_it(monkeypatch):
    monkeypatch.setenv("QA_TESSERACT", "/nonexistent/tesseract")
    got = parse("scan.pdf", scanned_pdf_bytes(PAGES[:1]), "0" * 64)
    assert "Tesseract" in got.reason and "apt install tesseract-ocr" in got.reason
    mixed = pdfium.PdfDocument(pdf_bytes(PAGES[1:]))
    mixed.import_pages(pdfium.PdfDocument(scanned_pdf_bytes(PAGES[:1])))
    out = io.BytesIO()
    mixed.save(out)
    doc = _read("mixed.pdf", out.getvalue())  # its text page is still read; the scan is a warning
    assert "412 pounds" in doc.text and any("1 page not read" in w for w in doc.warnings)


def test_the_worker_is_sent_a_file_once_for_all_its_pages_and_again_after_a_restart():
    data = scanned_pdf_bytes(PAGES)
    with Isolated() as worker:
        assert worker.call("qa.readers.pdf", "survey", data)["scan"] == [1, 2]
        first = worker.call("qa.readers.ocr", "pdf_page", data, 1)  # the worker's copy
        worker._process.kill()  # a worker lost between pages (a timeout, a crash)
        worker._process.wait()
        with pytest.raises(Exception):
            worker.call("qa.readers.ocr", "pdf_page", data, 2)
        assert worker.call("qa.readers.ocr", "pdf_page", data, 1) == first  # a new worker is sent the file again
    assert any("Annual Report" in line[0] for line in first)



def test_a_page_whose_text_layer_is_garbage_is_read_by_ocr():
    # a scan with a text layer in a font without a usable character map: pdfium reads "ÿÿÿÿ ÿÿÿÿÿ"
    doc = pdfium.PdfDocument(scanned_pdf_bytes(PAGES[1:]))
    page = doc[0]  # one handle: the object belongs to the page it is inserted into
    junk = pdfium_c.FPDFPageObj_NewTextObj(doc.raw, b"Helvetica", ctypes.c_float(12))
    wide = ("\ue000\ue001\ue002\ue003 \ue004\ue005\ue006 " * 8 + "\x00").encode("utf-16-le")
    pdfium_c.FPDFText_SetText(junk, ctypes.cast(ctypes.c_char_p(wide), ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(junk, 1, 0, 0, 1, 50, 700)
    pdfium_c.FPDFPage_InsertObject(page.raw, junk)
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    out = io.BytesIO()
    doc.save(out)
    assert "ÿÿÿÿ" in pdfium.PdfDocument(out.getvalue())[0].get_textpage().get_text_range()  # the garbage is there
    got = _read("garbled.pdf", out.getvalue())
    assert got.ocr_pages == (1,) and "surplus of 412 pounds" in got.text and "ÿ" not in got.text


def test_a_sync_never_ocrs_an_unchanged_file_again(tmp_path, capfd):
    from support.fakes import FakeEmbedder

    from qa.build import build_index

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "scan.pdf").write_bytes(scanned_pdf_bytes(PAGES))
    build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder(), progress=True)
    assert "OCR: page 2/2 of scan.pdf" in capfd.readouterr().err
    (corpus / "notes.txt").write_text("Notes\n\nA new file beside the scan, about the keeper's log.\n")
    report = build_index(corpus, tmp_path / "idx", embedder=FakeEmbedder(), progress=True)
    assert "OCR:" not in capfd.readouterr().err and report.files == 2
    assert list(report.changes.added) == ["notes.txt"] and not report.changes.changed


def test_a_speckled_scan_is_despeckled_and_a_clean_one_left_alone():
    clean = page_images(pdf_bytes(PAGES[1:]), dpi=150)[0]
    speckled = page_images(pdf_bytes(PAGES[1:]), dpi=150, noise=0.02)[0]  # 2% of the pixels flipped
    assert ocr.despeckled(clean) is clean and ocr.despeckled(speckled) is not speckled
    out = io.BytesIO()
    speckled.save(out, "PNG")
    assert "surplus of 412 pounds" in _read("speckled.png", out.getvalue()).text
