"""Counting a text's tokens, and a BERT tokenizer's word pieces remembered: splitting counts every
paragraph, and int8 encoding (:mod:`.int8`) takes a passage's token ids from the pieces splitting counted."""

from __future__ import annotations

import json
import re

__all__ = ["WordPieces", "counter"]


def counter(tokenizer):
    """``count(text)``: how many tokens ``tokenizer`` makes of ``text`` with no special tokens; a
    :class:`WordPieces` (which counts too) where the tokenizer allows."""
    from tokenizers import Tokenizer

    backend = tokenizer if isinstance(tokenizer, Tokenizer) else getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow (Python) tokenizer: as it is
        return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
    own = Tokenizer.from_str(backend.to_str())
    own.no_truncation()
    own.no_padding()
    if not _splits_at_whitespace(json.loads(backend.to_str())):
        return lambda text: len(own.encode(text, add_special_tokens=False).ids)
    return WordPieces(own)


class WordPieces:
    """A BERT tokenizer's tokens of a text, as the concatenation of its whitespace-separated pieces'
    (its normaliser works on characters, its pre-tokeniser splits at whitespace). Words repeat across a
    corpus: each piece is tokenized once, for counting (splitting passages) and for encoding them alike
    -- a third of a build's counting, and most of int8 encoding's Python time. Tested equal."""

    def __init__(self, own) -> None:
        self._own, self._known = own, {}
        probe = own.encode("a", add_special_tokens=False).ids
        marked = own.encode("a", add_special_tokens=True).ids
        at = next((i for i in range(len(marked)) if marked[i : i + len(probe)] == probe), None)
        # the markers around a text ([CLS] … [SEP]); None: some other layout, left to the tokenizer
        self.markers = None if at is None else (marked[:at], marked[at + len(probe) :])

    def __call__(self, text: str) -> int:
        known, total = self._known, 0
        for piece in _SPACES.split(text):
            ids = known.get(piece)
            total += len(ids if ids is not None else self._piece(piece))
        return total

    def ids(self, text: str, max_length: int) -> list[int]:
        """The token ids the tokenizer gives ``text`` with its markers, truncated on the right to
        ``max_length`` in all (what ``encode`` gives with truncation set so)."""
        first, last = self.markers
        room, out = max_length - len(first) - len(last), []
        known = self._known
        for piece in _SPACES.split(text):
            ids = known.get(piece)
            out += ids if ids is not None else self._piece(piece)
            if len(out) >= room:
                break
        return first + out[:room] + last

    def _piece(self, piece: str) -> list[int]:
        if len(self._known) >= _COUNTED:
            self._known.clear()
        ids = self._known[piece] = self._own.encode(piece, add_special_tokens=False).ids
        return ids


_SPACES = re.compile(r"[ \t\n\r]+")  # whitespace to every tokenizer (others, like U+00A0, left to it)
_COUNTED = 200_000  # pieces remembered at most


def _splits_at_whitespace(spec: dict) -> bool:
    """Whether a tokenizer (its ``tokenizer.json``) counts a text as the sum of its whitespace-separated pieces."""
    kinds = [(spec.get(part) or {}).get("type") for part in ("normalizer", "pre_tokenizer", "model")]
    return kinds[0] in ("BertNormalizer", None) and kinds[1:] == ["BertPreTokenizer", "WordPiece"]
