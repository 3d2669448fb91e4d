"""Plain text (.txt, and the text of .md and HTML files): bytes to text, in whatever encoding they are."""

from __future__ import annotations

import re

import charset_normalizer

from .document import Unreadable

__all__ = ["decode"]

# Control characters other than tab/newline/carriage return/form feed hardly occur in real text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_MAX_CONTROL_SHARE = 0.01


def decode(data: bytes) -> tuple[str, str]:
    """Bytes to ``(text, encoding)``; raises :class:`Unreadable` for empty or binary content."""
    if not data.strip():
        raise Unreadable("empty file")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        match = charset_normalizer.from_bytes(data).best()
        if match is None:
            raise Unreadable("not text (no character encoding fits; binary?)") from None
        text, encoding = str(match), match.encoding
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    # counted by the regex engine: a loop over every character in Python was most of reading a text file
    if "\x00" in text or len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise Unreadable("not text (binary content)")
    if not text.strip():
        raise Unreadable("empty file")
    return text, encoding
