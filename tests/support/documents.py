"""Test documents of every format, generated here (no binary fixtures of unknown origin)."""

from __future__ import annotations

import io

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
