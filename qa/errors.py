"""The one exception users see: a problem they can fix (no index, wrong folder, model mismatch)."""

__all__ = ["QAError"]


class QAError(Exception):
    """A user-facing error; its message is one line that says what to do."""
