"""The one exception users see: a problem they can fix (no index, wrong folder, model mismatch), its
message one line that says what to do. What input qa takes, and the ValueError for input it does not, is
:mod:`qa.retrieval.request`."""

__all__ = ["QAError"]


class QAError(Exception):
    """A user-facing error; its message is one line that says what to do."""
