"""OCR (Tesseract, through pytesseract): a page image to positioned lines, for scanned PDF pages and
image files. Runs in the parse worker (:mod:`.isolate`), one page per call, so each page has the
worker's time and memory limits.

Tesseract was measured against RapidOCR (``bench/ocr.py``): more accurate (CER 0.3% against 23% on a
clean page at 300 dpi; RapidOCR's model drops the spaces between English words) and faster on two
cores once it runs one thread a page (OpenMP's threads fought over two cores: 8.6 s a page against 1.6 s).
"""

from __future__ import annotations

import os
import shutil

import numpy as np

from .document import Unreadable

__all__ = ["MIN_CONFIDENCE", "available", "despeckled", "image_page", "pdf_page", "recognise"]

MIN_CONFIDENCE = 10  # words Tesseract is less sure of than this (0-100) are noise (30 dropped real words too)
SPECKLED = 0.001  # a page with more than this share of lone pixels (salt and pepper) is despeckled first
_CONFIG = "--oem 1 --psm 3"  # the LSTM engine; automatic page segmentation (columns, blocks)
MISSING = "OCR needs Tesseract, which is not installed (Debian: apt install tesseract-ocr; 'make run' does it)"


def available() -> bool:
    """Whether Tesseract can be run."""
    return shutil.which(os.environ.get("QA_TESSERACT", "tesseract")) is not None


def recognise(image, language: str | None = None) -> list[list]:
    """The lines Tesseract reads in a PIL ``image``, in reading order, as ``[text, x0, y0, x1, y1,
    group]``: box in fractions of the image from its top left, ``group`` the block and paragraph
    Tesseract puts the line in."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = os.environ.get("QA_TESSERACT", "tesseract")
    # one thread: two OpenMP threads per page on two cores were 4.5x slower than one
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    timeout = max(float(os.environ.get("QA_PARSE_TIMEOUT", 60)) - 2, 1)  # ends before the worker is killed
    try:
        data = pytesseract.image_to_data(
            despeckled(image), lang=language or os.environ.get("QA_OCR_LANG", "eng"), config=_CONFIG,
            output_type=pytesseract.Output.DICT, timeout=timeout,
        )
    except pytesseract.TesseractNotFoundError:
        raise Unreadable(MISSING) from None
    except RuntimeError as e:  # pytesseract's timeout
        if "timeout" not in str(e).lower():
            raise
        raise Unreadable(f"OCR took longer than {timeout:g} s ($QA_PARSE_TIMEOUT)") from None
    except pytesseract.TesseractError as e:
        raise Unreadable(f"OCR failed ({' '.join(str(e.message).split())[:120]})") from None
    width, height = image.size
    lines: dict[tuple[int, int, int], list] = {}
    for i, word in enumerate(data["text"]):
        word = " ".join(str(word).split())
        if not word or float(data["conf"][i]) < MIN_CONFIDENCE:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        x0, y0 = data["left"][i], data["top"][i]
        x1, y1 = x0 + data["width"][i], y0 + data["height"][i]
        if key in lines:
            line = lines[key]
            line[0] += " " + word
            line[1:5] = [min(line[1], x0), min(line[2], y0), max(line[3], x1), max(line[4], y1)]
        else:
            lines[key] = [word, x0, y0, x1, y1]
    return [
        [text, round(x0 / width, 4), round(y0 / height, 4), round(x1 / width, 4), round(y1 / height, 4), block * 1000 + par]
        for (block, par, _), (text, x0, y0, x1, y1) in lines.items()
    ]


def despeckled(image):
    """``image`` (greyscale) through a 3x3 median filter when it is speckled: more than :data:`SPECKLED`
    of its pixels dark with no dark neighbour, or light with no light one. Measured (``bench/ocr.py``'s
    pages with 2% of pixels flipped): CER 23% → 1.2% at 150 dpi; a clean page is left alone, as the
    filter thins strokes (CER 0.16% → 1.07%)."""
    from PIL import ImageFilter

    dark = np.asarray(image.convert("L")) < 128
    padded = np.pad(dark, 1).astype(np.uint8)
    h, w = dark.shape
    around = sum(padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    lone = np.count_nonzero(dark & (around == 0)) + np.count_nonzero(~dark & (around == 8))
    return image.filter(ImageFilter.MedianFilter(3)) if lone > SPECKLED * dark.size else image


def pdf_page(data: bytes, number: int) -> list[list]:
    """Worker entry: OCR of page ``number`` of a PDF (rendered at :data:`.pdf.OCR_DPI`)."""
    from . import pdf

    return recognise(pdf.render(pdf.open_pdf(data), number))


def image_page(data: bytes, frame: int) -> list[list]:
    """Worker entry: OCR of frame ``frame`` (1-based) of an image file (a multi-page TIFF has several)."""
    from . import image

    return recognise(image.frame(data, frame))
