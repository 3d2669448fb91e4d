"""The one exception users see (a problem they can fix: no index, wrong folder, model mismatch), and the
checks of a question's arguments that raise ValueError for bad ones.

Every entry point (``qa.retrieve``, ``qa.ask``, the CLI, the API, the chat) goes through
:func:`check_args`, so a question has one length limit and one message for each way it can be wrong.
Messages never repeat the input: it may be megabytes long, or made to be shown back to someone.
"""

import re

__all__ = [
    "INVISIBLE",
    "VISIBLE",
    "MAX_HISTORY",
    "MAX_K",
    "MAX_QUESTION",
    "BlankQuestion",
    "QAError",
    "check_args",
    "check_history",
    "check_text",
    "check_visible",
]

MAX_QUESTION = 2000  # characters of a question (and of each earlier turn of a conversation)
MAX_K = 50  # passages per answer
MAX_HISTORY = 20  # earlier turns a follow-up may lean on

# A question must hold one character that shows, i.e. one outside this class: the controls, format
# characters (zero-width space and joiners, bidi marks, soft hyphen, BOM) and separators (Unicode
# categories Cc, Cf, Zs, Zl, Zp) of the Basic Multilingual Plane -- written out, so it reads the same in
# Python and in the API schema's JSON Schema pattern (tests/retrieval/test_pipeline.py checks it against unicodedata).
INVISIBLE = (
    r"\u0000-\u0020\u007f-\u00a0\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u1680\u180e"
    r"\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\ufeff\ufff9-\ufffb"
)
VISIBLE = re.compile(f"[^{INVISIBLE}]")


class QAError(Exception):
    """A user-facing error; its message is one line that says what to do."""


class BlankQuestion(ValueError):
    """The question shows nothing (the chat asks for one instead of reporting an error)."""


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
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"k must be an integer, got {type(k).__name__}")
    if not 0 < k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
    return question


def check_visible(question: str) -> str:
    """The question stripped; :class:`BlankQuestion` when it shows nothing (blank, or only invisible characters)."""
    if not VISIBLE.search(question):
        raise BlankQuestion("question must not be empty or blank")
    return question.strip()


def check_history(history: object) -> list[str]:
    """The conversation's earlier turns, checked like questions; at most :data:`MAX_HISTORY` of them."""
    if history is None:
        return []
    if isinstance(history, str) or not isinstance(history, list | tuple):
        raise ValueError(f"history must be a list of strings, got {type(history).__name__}")
    if len(history) > MAX_HISTORY:
        raise ValueError(f"history has {len(history)} turns, the limit is {MAX_HISTORY}")
    return [check_text(turn, "each turn of history") for turn in history]
