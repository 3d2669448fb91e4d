"""read: a corpus folder → documents. One module per format (text, markdown, html, pdf, docx); the
PDF, DOCX and HTML parsers run in a capped worker process (:mod:`.isolate`); :mod:`.corpus` lists the
files, reads each whole and dispatches it to its format."""

from . import corpus, document
from .corpus import FORMATS, format_of, list_files, max_file_bytes, parse, read_bytes, read_corpus, read_document  # noqa: F401 (re-exported)
from .document import Block, Document, Extracted, Skip, TextBuilder, Unreadable, is_extracted  # noqa: F401

__all__ = [*corpus.__all__, *document.__all__]
