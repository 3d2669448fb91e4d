"""Test documents of every format, generated here (no binary fixtures of unknown origin)."""

from __future__ import annotations

import io

import docx
from fpdf import FPDF


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
