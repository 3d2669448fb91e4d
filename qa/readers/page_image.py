"""A page of a PDF or image file as a PNG, with the boxes of the answer's lines drawn on it: what the page
view shows. Runs in the parse worker (:mod:`.isolate`): the file is untrusted, and pdfium and Pillow are
large C libraries. The answer is JSON, so the PNG comes back base64-encoded."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from .document import Unreadable

__all__ = ["MAX_SIDE", "render"]

MAX_SIDE = 1600  # pixels: the longest side of a page image
_FILL, _EDGE = (255, 214, 0, 70), (214, 40, 40, 255)


def render(data: bytes, fmt: str, page: int, boxes: list, max_side: int = MAX_SIDE) -> str:
    """Page ``page`` (1-based) of the file, at most ``max_side`` pixels on its longest side, with each
    ``[x0, y0, x1, y1]`` of ``boxes`` (page fractions) marked; a base64 PNG."""
    if not 100 <= max_side <= 4000:
        raise ValueError(f"max_side must be between 100 and 4000, got {max_side}")
    if fmt == "pdf":
        from .pdf import open_pdf

        doc = open_pdf(data)
        if not 1 <= page <= len(doc):
            raise Unreadable(f"no page {page}")
        width, height = doc[page - 1].get_size()
        scale = max_side / max(width, height, 1e-6)
        image = doc[page - 1].render(scale=scale).to_pil()
    elif fmt == "image":
        from .image import frame

        image = frame(data, page, max_side * max_side, mode="RGB")
    else:
        raise Unreadable(f"no page view for {fmt} files")
    image = image.convert("RGB")
    image.thumbnail((max_side, max_side))
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width, height = image.size
    pad = max(2, round(0.003 * max(width, height)))
    for x0, y0, x1, y1 in boxes:
        draw.rectangle(
            (x0 * width - pad, y0 * height - pad, x1 * width + pad, y1 * height + pad), fill=_FILL, outline=_EDGE,
            width=max(2, pad),
        )  # fmt: skip
    marked = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    out = io.BytesIO()
    marked.save(out, "PNG", compress_level=3)
    return base64.b64encode(out.getvalue()).decode("ascii")
