"""The input contract, defined once: what a question and its settings may be, with the limits, the
checks and the words that describe each field. :meth:`Request.checked` applies it where a question enters
qa (``qa.ask``, the CLI, the chat); the HTTP API's and MCP's schemas are built from :data:`FIELDS`
(:mod:`qa.serve.schema`), so every way in takes the same input and says the same thing about bad input.
Messages never repeat the input: it may be megabytes long, or made to be shown back to someone.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FIELDS", "INVISIBLE", "INVISIBLE_BEYOND", "SHOWS_NOTHING", "MAX_HISTORY", "MAX_K", "MAX_QUESTION", "MAX_SOURCE", "MAX_SOURCES", "MODES", "VISIBLE",
    "BlankQuestion", "Mode", "Request", "UnknownSources", "check_args", "check_history", "check_k", "check_turns", "check_sources", "check_text", "check_visible",
]  # fmt: skip

MAX_QUESTION = 2000  # characters of a question (and of each earlier turn of a conversation)
MAX_K = 50  # passages per answer
MAX_HISTORY = 20  # earlier turns a follow-up may lean on
MAX_SOURCES = 1000  # files a search may be restricted to
MAX_SOURCE = 256  # characters of one file path (with the other limits, the largest request fits qa.serve.guard's cap)

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")

# What each field is, for people: the API's and MCP's schemas carry these words.
FIELDS = {
    "question": "The question, in the user's words: at least one character that shows (not only spaces, controls or zero-width).",
    "k": "How many passages, best first.",
    "history": "The conversation's earlier user questions, oldest first: lets a follow-up like 'where is he based?' "
    "be understood. Omit for a self-standing question.",
    "sources": "Search only these files (their `source`, as the documents listing gives it).",
}

# A question must hold one character that shows, i.e. one outside this class: the controls, format
# characters (zero-width space and joiners, bidi marks, soft hyphen, BOM) and separators (Unicode
# categories Cc, Cf, Zs, Zl, Zp) of the Basic Multilingual Plane -- written out, so it reads the same in
# Python and in the API schema's JSON Schema pattern (tests/retrieval/test_pipeline.py checks it against unicodedata)
# -- and the BMP's characters drawn as nothing though of other categories (SHOWS_NOTHING).
SHOWS_NOTHING = (  # variation selectors, the grapheme joiner, Khmer inherent vowels, Hangul fillers, blank braille
    r"\u034f\u115f-\u1160\u17b4-\u17b5\u180b-\u180d\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
)
INVISIBLE = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u1680\u180e"
    r"\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\ufeff\ufff9-\ufffb" + SHOWS_NOTHING
)
VISIBLE = re.compile(f"[^{INVISIBLE}]")
# ... and beyond it (the schema's pattern cannot name these: JSON Schema's regexes see UTF-16 halves):
# the format characters of planes 1 and 14 (tags, Egyptian and musical format controls) and the
# variation selectors that only modify the character before them.
INVISIBLE_BEYOND = r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e01ef"
_SHOWS = re.compile(f"[^{INVISIBLE}{INVISIBLE_BEYOND}]")


class BlankQuestion(ValueError):
    """The question shows nothing (the chat asks for one instead of reporting an error)."""


class UnknownSources(ValueError):
    """``sources`` names files that are not in the index (the API answers 404: well-formed, not found)."""


@dataclass(frozen=True)
class Request:
    question: str  # stripped
    k: int = 5
    history: tuple[str, ...] = ()  # the conversation's earlier user turns, oldest first
    sources: tuple[str, ...] | None = None  # search only these files
    mode: Mode = "hybrid"

    @classmethod
    def checked(
        cls, question: object, k: object = 5, *, history: object = None, sources: object = None, mode: str = "hybrid",
    ) -> Request:  # fmt: skip
        """The request, or ValueError naming what is wrong (:func:`check_args`, :func:`check_history`,
        :func:`check_sources`)."""
        question = check_args(question, k)
        turns = check_history(history)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return cls(question, k, tuple(turns), check_sources(sources), mode)  # type: ignore[arg-type]


def check_text(text: object, what: str = "question") -> str:
    """``text`` if it is a string of at most :data:`MAX_QUESTION` characters that is valid Unicode
    (no lone surrogates, which cannot be encoded); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_QUESTION:
        raise ValueError(f"{what} is too long: {len(text):,} characters, the limit is {MAX_QUESTION:,}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None
    return text


def check_args(question: object, k: object) -> str:
    """The stripped question; ValueError naming what is wrong for a question that is not a string, too
    long, not valid Unicode or shows nothing (blank, or only invisible characters), or a k that is not an
    integer from 1 to :data:`MAX_K`."""
    question = check_visible(check_text(question))
    check_k(k)
    return question


def check_k(k: object) -> int:
    """``k`` when it is an integer from 1 to :data:`MAX_K` (5.0 is 5, as in JSON, so every way in takes
    it alike); ValueError otherwise."""
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be an integer, got {type(k).__name__}")
    if not 0 < k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k if abs(k) < 10**9 else 'a number far out of it'}")
    return k


def check_visible(question: str) -> str:
    """The question stripped; :class:`BlankQuestion` when it shows nothing (blank, or only invisible characters)."""
    if not _SHOWS.search(question):
        raise BlankQuestion("question must not be empty or blank")
    return question.strip()


def check_history(history: object) -> list[str]:
    """The conversation's earlier turns, checked like questions; at most :data:`MAX_HISTORY` of them."""
    if history is None:
        return []
    return [check_text(turn, "each turn of history") for turn in check_turns(history)]


def check_turns(history: object) -> list | tuple:
    """``history`` when it is a list of at most :data:`MAX_HISTORY` turns (the turns themselves unread)."""
    if isinstance(history, str) or not isinstance(history, list | tuple):
        raise ValueError(f"history must be a list of strings, got {type(history).__name__}")
    if len(history) > MAX_HISTORY:
        raise ValueError(f"history has {len(history)} turns, the limit is {MAX_HISTORY}")
    return history


def check_sources(sources: object) -> tuple[str, ...] | None:
    """The files to search (None: all): at most :data:`MAX_SOURCES` paths of at most :data:`MAX_SOURCE` characters."""
    if sources is None:
        return None
    if isinstance(sources, str) or not isinstance(sources, Collection):
        raise ValueError(f"sources must be a list of file paths, got {type(sources).__name__}")
    if len(sources) > MAX_SOURCES:
        raise ValueError(f"sources names {len(sources):,} files, the limit is {MAX_SOURCES:,}")
    for source in sources:
        if not isinstance(source, str):
            raise ValueError(f"each of sources must be a string, got {type(source).__name__}")
        if len(source) > MAX_SOURCE:
            raise ValueError(f"each of sources must be at most {MAX_SOURCE} characters, got {len(source):,}")
    return tuple(sources)
