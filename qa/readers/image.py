"""Image files (.png .jpg .jpeg .tif .tiff .webp; a multi-page TIFF is several pages): checked before they
are decoded, each page given to OCR (:mod:`.ocr`) and to the page view as a greyscale image.

Runs in the parse worker (:mod:`.isolate`). A file whose header promises more pixels than
:data:`MAX_IMAGE_PIXELS` is refused before decoding (a decompression bomb is a few KB that would decode
to gigabytes); a large page is scaled down to :data:`.pdf.MAX_PIXELS` for OCR.
"""

from __future__ import annotations

import io

from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin, WebPImagePlugin  # noqa: F401 (decoders)

from .document import Unreadable

__all__ = ["MAX_FRAMES", "MAX_IMAGE_PIXELS", "frame", "survey"]

MAX_IMAGE_PIXELS = 100_000_000  # an A3 page scanned at 600 dpi is 70 million
MAX_FRAMES = 10_000  # pages of a TIFF looked at
_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP")  # what the extensions promise; no other decoder is tried
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow's own bomb check, for any path that skips ours


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.UnidentifiedImageError:
        raise Unreadable("not a readable image (not a PNG, JPEG, TIFF or WebP file)") from None
    except Image.DecompressionBombError:
        raise Unreadable(f"image too large (more than {MAX_IMAGE_PIXELS:,} pixels: a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise Unreadable(f"not a readable image ({type(e).__name__}: {' '.join(str(e).split())[:100]})") from None
    _check(image)
    return image


def _check(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS or width <= 0 or height <= 0:
        raise Unreadable(f"image too large ({width:,}×{height:,} pixels; the limit is {MAX_IMAGE_PIXELS:,})")


def survey(data: bytes) -> dict:
    """``{"pages": n, "warnings": [...]}``: how many pages (frames) the image has, each checked for size."""
    image = _open(data)
    pages = 0
    for i in range(MAX_FRAMES):
        try:
            image.seek(i)
        except EOFError:
            break
        _check(image)
        pages += 1
    else:
        return {"pages": pages, "warnings": [f"only the first {MAX_FRAMES:,} pages are read"]}
    return {"pages": pages, "warnings": []}


def frame(data: bytes, number: int, max_pixels: int | None = None, mode: str = "L"):
    """Page ``number`` (1-based) as an image in ``mode`` (greyscale for OCR, "RGB" to be shown), upright
    (EXIF orientation applied), scaled down to at most ``max_pixels`` (:data:`.pdf.MAX_PIXELS` by default)."""
    from .pdf import MAX_PIXELS

    image = _open(data)
    try:
        image.seek(number - 1)
    except EOFError:
        raise Unreadable(f"no page {number} in the image") from None
    _check(image)
    orientation = image.getexif().get(0x0112, 1) if number == 1 else 1  # how a camera held the page
    limit = max_pixels or MAX_PIXELS
    width, height = image.size
    if width * height > limit:
        scale = (limit / (width * height)) ** 0.5
        image.draft(mode, (int(width * scale) + 1, int(height * scale) + 1))  # JPEG decodes at a lower size
        image = image.convert(mode)
        if image.width * image.height > limit:
            image = image.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.Resampling.BOX)
    else:
        image = image.convert(mode)
    turn = _TURNS.get(orientation)
    return image.transpose(turn) if turn is not None else image


_T = Image.Transpose
_TURNS = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE, 6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90}
