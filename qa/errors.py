"""The one exception users see (a problem they can fix: no index, wrong folder, model mismatch), and the
check of a question's arguments that raises ValueError for bad ones."""

__all__ = ["QAError", "check_args"]


class QAError(Exception):
    """A user-facing error; its message is one line that says what to do."""


def check_args(question: object, k: object) -> str:
    """The stripped question; ValueError naming the bad value for a blank question or k <= 0."""
    if not isinstance(question, str):
        raise ValueError(f"question must be a string, got {type(question).__name__}")
    if not question.strip():
        raise ValueError(f"question must not be empty or blank, got {question!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return question.strip()
