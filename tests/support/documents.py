"""Test documents of every format, generated here (no binary fixtures of unknown origin)."""

from __future__ import annotations

import io
import zlib

import docx
from fpdf import FPDF
from PIL import Image


def pdf_bytes(pages: list[list[str]], title: str | None = None) -> bytes:
    """A PDF whose pages hold the given paragraphs (wrapped by fpdf2, a gap between paragraphs)."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=11)
    for paragraphs in pages:
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    return bytes(pdf.output())


def docx_bytes(items: list[tuple[str, str]], title: str | None = None) -> bytes:
    """A DOCX from (style, text) items: style "h0"-"h3" for headings, "list" for bullets, "p" for text."""
    document = docx.Document()
    if title:
        document.core_properties.title = title
    for style, text in items:
        if style.startswith("h"):
            document.add_heading(text, int(style[1:]))
        elif style == "list":
            document.add_paragraph(text, style="List Bullet")
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


KETTLE_HTML = """<!doctype html>
<html><head><title>Kettles &amp; Co</title><style>p { color: red }</style>
<script>document.title = "hacked"</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/shop">Shop our descaling kits today</a></nav>
<header><p>Sign up for our newsletter and never miss a kettle deal again!</p></header>
<main>
<h1>Descaling a kettle</h1>
<p>Limescale builds up in kettles in hard-water areas; descaling every month keeps the element efficient.</p>
<h2>With citric acid</h2>
<p>Citric acid is the fastest method: two tablespoons in a full kettle, boiled once, then rinsed twice.</p>
<ul><li>Wear gloves when handling the acid.</li><li>Never descale a hot kettle.</li></ul>
</main>
<footer>Copyright 2026 Kettles &amp; Co. All rights reserved.</footer>
</body></html>
"""

GUIDE_MD = """---
title: Lighthouse Keeper's Guide
---

# Guide

The lighthouse on Skerry Point was automated in 1987 and is visited twice a year.

## Lamps

### Replacing a bulb

Run these steps in order:

1. Switch the lamp off at the main breaker.
2. Wait ten minutes for the 1000-watt bulb to cool.
3. Fit the spare bulb from the brass cabinet.

```sh
lamp-test --full
lamp-log "bulb replaced"
```
"""


def scanned_pdf_bytes(pages: list[list[str]], dpi: int = 200, skew: float = 0.0, noise: float = 0.0) -> bytes:
    """A scan of :func:`pdf_bytes`' PDF: each page rasterised at ``dpi`` (turned ``skew`` degrees, with
    ``noise``: a share of pixels flipped), saved as an image-only PDF (no text layer)."""
    return images_pdf_bytes(page_images(pdf_bytes(pages), dpi, skew, noise), dpi)


def page_images(pdf: bytes, dpi: int = 200, skew: float = 0.0, noise: float = 0.0) -> list:
    """The pages of ``pdf`` as greyscale PIL images, as a scanner would give them."""
    import numpy as np
    import pypdfium2 as pdfium

    images = []
    rng = np.random.default_rng(0)
    for page in pdfium.PdfDocument(pdf):
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        if skew:
            image = image.rotate(skew, expand=False, fillcolor=255)
        if noise:
            pixels = np.array(image)
            flip = rng.random(pixels.shape) < noise
            pixels[flip] = 255 - pixels[flip]
            image = Image.fromarray(pixels)
        images.append(image)
    return images


def images_pdf_bytes(images: list, dpi: int = 200) -> bytes:
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()


def slow_pdf_bytes(pages: int = 1, fan: int = 20, text: str | None = None) -> bytes:
    """A small PDF whose every page is slow to draw: a form of 1,000 stroked segments drawn ``fan``
    times (seconds per page at 300 dpi). With ``text``, each page also has that text layer."""
    def stream(data: bytes, extra: bytes = b"") -> bytes:
        packed = zlib.compress(data, 9)
        return b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"

    leaf = b"".join(b"%d %d m %d %d l " % (i % 500, i * 7 % 700, i * 13 % 500, i * 3 % 700) for i in range(1000)) + b"S\n"
    shown = b"BT /T 14 Tf 72 720 Td (%s) Tj ET\n" % text.encode("latin-1") if text else b""
    kids = b" ".join(b"%d 0 R" % (6 + 2 * i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream(leaf, b" /Type /XObject /Subtype /Form /BBox [0 0 612 792]"),
        stream(b"q /L Do Q\n" * fan, b" /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /XObject << /L 4 0 R >> >>"),
    ]  # fmt: skip
    for i in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /T 3 0 R >> /XObject << /F 5 0 R >> >> >>" % (7 + 2 * i))  # fmt: skip
        objects.append(stream(b"q /F Do Q\n" + shown))
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
